/**
 * Inspects a `.gguf` model before it goes to the engine: every shard's header is read (not
 * its data), the architecture is checked and mapped to the engine's name, the tensor types
 * are checked against those the engine computes with, and the memory a load needs is the
 * real quantized tensor bytes plus the KV cache the metadata implies.
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import { fleetError } from "@cortex/core/fleet";
import {
  ENGINE_TENSOR_TYPES,
  ggufError,
  type GgufHeader,
  metaNumber,
  metaString,
  readGgufHeader,
} from "./gguf/mod.ts";
import { ggufShards } from "./gguf_select.ts";
import type { ModelFolderInfo } from "./model_folder.ts";

/** `general.architecture` values the engine serves, and the Hugging Face class each stands for. */
export const GGUF_ARCHITECTURES: ReadonlyMap<string, string> = new Map([
  ["llama", "LlamaForCausalLM"],
  ["qwen3", "Qwen3ForCausalLM"],
  ["qwen3moe", "Qwen3MoeForCausalLM"],
]);

/** What {@linkcode inspectGgufModel} adds to a {@linkcode ModelFolderInfo}. */
export interface GgufModelInfo extends ModelFolderInfo {
  /** The first shard's header. */
  header: GgufHeader;
  /** `general.architecture`, e.g. `qwen3`. */
  ggufArchitecture: string;
  /** Bytes of weights per tensor type, e.g. `{ Q4_K: 1.2e6, Q6_K: 3e5, F32: 4096 }`. */
  bytesByType: Record<string, number>;
}

/**
 * Inspects the GGUF file at `path` (the first shard of a split file); throws a 422 naming
 * the problem: a bad header, a missing shard, an unknown architecture, an unsupported
 * tensor type.
 *
 * @example
 * ```ts ignore
 * const info = await inspectGgufModel("/models/Qwen3-0.6B-Q8_0.gguf");
 * info.architecture; // "Qwen3ForCausalLM"
 * info.weightBytes; // bytes of the quantized tensors
 * ```
 */
export async function inspectGgufModel(path: string): Promise<GgufModelInfo> {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : path.slice(0, slash) || "/";
  const name = path.slice(slash + 1);
  const header = await readGgufHeader(path);
  const shards = /-\d{5}-of-\d{5}\.gguf$/i.test(name) ? ggufShards(name, await _names(dir)) : [name];
  const headers = [header];
  for (const shard of shards.slice(1)) headers.push(await readGgufHeader(`${dir}/${shard}`));
  const arch = metaString(header, "general.architecture", path);
  if (arch === null) throw ggufError(path, "has no general.architecture");
  const architecture = GGUF_ARCHITECTURES.get(arch);
  if (architecture === undefined) {
    throw fleetError(
      "unsupported_architecture",
      `GGUF file ${path}: architecture '${arch}' is not supported (supported: ${
        [...GGUF_ARCHITECTURES.keys()].join(", ")
      })`,
    );
  }
  const bytesByType: Record<string, number> = {};
  let weightBytes = 0;
  for (const h of headers) {
    for (const t of h.tensors) {
      if (!ENGINE_TENSOR_TYPES.has(t.type)) {
        throw ggufError(
          path,
          `tensor '${t.name}' has type ${t.type}, which the engine does not compute with ` +
            `(supported: ${[...ENGINE_TENSOR_TYPES].join(", ")})`,
        );
      }
      bytesByType[t.type] = (bytesByType[t.type] ?? 0) + t.bytes;
      weightBytes += t.bytes;
    }
  }
  const num = (key: string): number | null => metaNumber(header, `${arch}.${key}`, path);
  const layers = num("block_count");
  const heads = num("attention.head_count");
  const embedding = num("embedding_length");
  if (layers === null || heads === null || embedding === null) {
    throw ggufError(
      path,
      `lacks ${arch}.block_count, ${arch}.attention.head_count or ${arch}.embedding_length`,
    );
  }
  const kvHeads = num("attention.head_count_kv") ?? heads;
  const keyLength = num("attention.key_length") ?? Math.floor(embedding / heads);
  const valueLength = num("attention.value_length") ?? keyLength;
  return {
    path,
    config: {},
    architecture,
    weightFiles: shards,
    weightBytes,
    maxPositionEmbeddings: num("context_length"),
    kvBytesPerToken: layers * kvHeads * (keyLength + valueLength) * 4,
    weightType: _weightType(bytesByType),
    header,
    ggufArchitecture: arch,
    bytesByType,
  };
}

/** The type holding most of the bytes among the quantized (or else all) types. */
function _weightType(bytesByType: Record<string, number>): string {
  const entries = Object.entries(bytesByType);
  const quantized = entries.filter(([type]) => !["F32", "F16", "BF16"].includes(type));
  const pool = quantized.length > 0 ? quantized : entries;
  return pool.reduce((best, e) => (e[1] > best[1] ? e : best), ["F32", -1])[0];
}

async function _names(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  } catch (error) {
    throw new CortexError(`cannot list ${dir}: ${(error as Error).message}`, {
      code: "bad_model_folder",
      status: 422,
    });
  }
  return names.sort();
}
