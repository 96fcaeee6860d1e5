/**
 * What a model path holds and how the engine should load it: a Hugging Face folder of
 * safetensors (quantized at load when `quant` is set), a `.gguf` file, or a folder holding
 * `.gguf` files and no safetensors (the one `quant` chooses).
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import { type GgufModelInfo, inspectGgufModel } from "./gguf_model.ts";
import { selectGgufFile } from "./gguf_select.ts";
import { checkIsqQuant } from "./isq_estimate.ts";
import { inspectModelFolder, type ModelFolderInfo } from "./model_folder.ts";

/** A model path resolved for loading. */
export interface ResolvedModel {
  /** The path to give the engine: the folder, or the `.gguf` file (first shard). */
  path: string;
  /** How the weights are stored. */
  format: "safetensors" | "gguf";
  /** The ISQ type to quantize safetensors to at load, or null (always null for GGUF). */
  isqQuant: string | null;
  /** Inspection results (architecture, weight bytes and type, KV bytes per token). */
  info: ModelFolderInfo;
  /** For GGUF, the parsed header and its extras; null otherwise. */
  gguf: GgufModelInfo | null;
}

function _bad(message: string): CortexError {
  return new CortexError(message, { code: "bad_model_folder", status: 422 });
}

/**
 * Resolves `path` with `quant` (null: none). A `.gguf` path must match `quant` when one is
 * given; a folder of `.gguf` files picks by it (see {@linkcode selectGgufFile}); a
 * safetensors folder takes it as the ISQ type.
 *
 * @example
 * ```ts ignore
 * const model = await resolveModel("/models/qwen3-gguf", "q8_0");
 * model.path; // "/models/qwen3-gguf/Qwen3-0.6B-Q8_0.gguf"
 * ```
 */
export async function resolveModel(path: string, quant: string | null): Promise<ResolvedModel> {
  quant = quant === "" ? null : quant;
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw _bad(`model path ${path} does not exist`);
    throw _bad(`model path ${path} cannot be read: ${(error as Error).message}`);
  }
  if (stat.isFile) {
    if (!path.toLowerCase().endsWith(".gguf")) {
      throw _bad(`model path ${path} is a file but not a .gguf; give a model folder or a .gguf file`);
    }
    const slash = path.lastIndexOf("/");
    selectGgufFile([path.slice(slash + 1)], quant, slash < 0 ? "." : path.slice(0, slash));
    return _gguf(await inspectGgufModel(path));
  }
  const names: string[] = [];
  for await (const entry of Deno.readDir(path)) names.push(entry.name);
  names.sort();
  const hasSafetensors = names.some((n) =>
    n.endsWith(".safetensors") || n === "model.safetensors.index.json"
  );
  if (!hasSafetensors && names.some((n) => n.toLowerCase().endsWith(".gguf"))) {
    return _gguf(await inspectGgufModel(`${path}/${selectGgufFile(names, quant, path)}`));
  }
  const isqQuant = quant === null ? null : checkIsqQuant(quant);
  const info = await inspectModelFolder(path, isqQuant);
  return { path, format: "safetensors", isqQuant, info, gguf: null };
}

function _gguf(gguf: GgufModelInfo): ResolvedModel {
  return { path: gguf.path, format: "gguf", isqQuant: null, info: gguf, gguf };
}
