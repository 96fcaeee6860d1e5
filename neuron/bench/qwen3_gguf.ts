/**
 * Converts a Qwen3 safetensors folder (config.json + model.safetensors, F32/BF16/F16) into a GGUF v3
 * file that llama.cpp loads: `general.architecture = qwen3`, the `qwen3.*` hyper-parameters, a
 * minimal byte-level vocabulary (`_bench_vocab.ts`) and the tensors under llama.cpp's names, as F32
 * or BF16 (1-D norm gains always F32, as llama.cpp's converter writes them). The bench uses it so
 * cortex and llama.cpp run the same weights; `llama-quantize` makes the quantized files from it.
 * Qwen3 needs no reordering of q/k rows (llama.cpp's converter permutes only `llama` models), so
 * every tensor keeps its bytes: a safetensors `[out, in]` shape is GGUF dims `[in, out]`.
 * @module
 */

import { benchVocab } from "./_bench_vocab.ts";
import type { GgufValue } from "./_gguf_format.ts";
import { type GgufTensorSource, writeGguf } from "./_gguf_writer.ts";

/** Tensor types the converter writes. */
export type Qwen3GgufType = "f32" | "bf16";

/** What `writeQwen3Gguf` wrote. */
export interface Qwen3GgufResult {
  path: string;
  bytes: number;
  tensors: number;
  type: Qwen3GgufType;
}

interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

const LAYER_NAMES: Record<string, string> = {
  "input_layernorm.weight": "attn_norm.weight",
  "post_attention_layernorm.weight": "ffn_norm.weight",
  "self_attn.q_proj.weight": "attn_q.weight",
  "self_attn.k_proj.weight": "attn_k.weight",
  "self_attn.v_proj.weight": "attn_v.weight",
  "self_attn.o_proj.weight": "attn_output.weight",
  "self_attn.q_norm.weight": "attn_q_norm.weight",
  "self_attn.k_norm.weight": "attn_k_norm.weight",
  "mlp.gate_proj.weight": "ffn_gate.weight",
  "mlp.up_proj.weight": "ffn_up.weight",
  "mlp.down_proj.weight": "ffn_down.weight",
};

/** llama.cpp's name for an HF Qwen3 tensor; throws naming a tensor it does not know. */
export function ggufTensorName(hfName: string): string {
  if (hfName === "model.embed_tokens.weight") return "token_embd.weight";
  if (hfName === "model.norm.weight") return "output_norm.weight";
  if (hfName === "lm_head.weight") return "output.weight";
  const match = hfName.match(/^model\.layers\.(\d+)\.(.+)$/);
  const suffix = match ? LAYER_NAMES[match[2]] : undefined;
  if (!match || !suffix) throw new Error(`tensor ${hfName} has no qwen3 GGUF name`);
  return `blk.${match[1]}.${suffix}`;
}

async function readSafetensorsHeader(
  path: string,
): Promise<{ entries: Map<string, SafetensorsEntry>; data: number }> {
  const file = await Deno.open(path, { read: true });
  try {
    const prefix = new Uint8Array(8);
    if ((await file.read(prefix)) !== 8) throw new Error(`${path}: truncated safetensors header`);
    const length = Number(new DataView(prefix.buffer).getBigUint64(0, true));
    const json = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const read = await file.read(json.subarray(filled));
      if (read === null) throw new Error(`${path}: truncated safetensors header`);
      filled += read;
    }
    const header = JSON.parse(new TextDecoder().decode(json)) as Record<string, unknown>;
    const entries = new Map<string, SafetensorsEntry>();
    for (const [name, value] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      const v = value as { dtype: string; shape: number[]; data_offsets: [number, number] };
      entries.set(name, { dtype: v.dtype, shape: v.shape, begin: v.data_offsets[0], end: v.data_offsets[1] });
    }
    return { entries, data: 8 + length };
  } finally {
    file.close();
  }
}

function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** f32 bits → bf16 bits, rounding to nearest even and keeping NaNs NaN (as llama.cpp's converter does). */
function f32BitsToBf16(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 64) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Converts one chunk of `source`-typed values to `target` ("F32" | "BF16") bytes. */
function convert(chunk: Uint8Array, source: string, target: "F32" | "BF16"): Uint8Array {
  if (source === target) return chunk;
  const count = chunk.length / (source === "F32" ? 4 : 2);
  const input = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const bits = new Uint32Array(count);
  const scratch = new Float32Array(1);
  const scratchBits = new Uint32Array(scratch.buffer);
  for (let i = 0; i < count; i++) {
    if (source === "F32") bits[i] = input.getUint32(i * 4, true);
    else if (source === "BF16") bits[i] = input.getUint16(i * 2, true) << 16 >>> 0;
    else {
      scratch[0] = f16ToF32(input.getUint16(i * 2, true));
      bits[i] = scratchBits[0];
    }
  }
  if (target === "F32") return new Uint8Array(bits.buffer);
  const out = new Uint16Array(count);
  for (let i = 0; i < count; i++) out[i] = f32BitsToBf16(bits[i]);
  return new Uint8Array(out.buffer);
}

function configNumber(config: Record<string, unknown>, key: string, fallback?: number): number {
  const value = config[key] ?? fallback;
  if (typeof value !== "number") {
    throw new Error(`config.json: ${key} must be a number, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The GGUF metadata of a Qwen3 config (hyper-parameters, vocabulary, file type). */
export function qwen3Metadata(
  config: Record<string, unknown>,
  type: Qwen3GgufType,
): Record<string, GgufValue> {
  const architectures = config.architectures as string[] | undefined;
  if (config.model_type !== "qwen3" && !architectures?.includes("Qwen3ForCausalLM")) {
    throw new Error(
      `config.json: architecture ${JSON.stringify(architectures ?? config.model_type)} is not Qwen3`,
    );
  }
  if (config.attention_bias === true) {
    throw new Error("config.json: attention_bias true is not the qwen3 GGUF layout");
  }
  if (config.rope_scaling) {
    throw new Error(`config.json: rope_scaling ${JSON.stringify(config.rope_scaling)} is not written`);
  }
  const u32 = (key: string, fallback?: number): GgufValue => ({
    type: "u32",
    value: configNumber(config, key, fallback),
  });
  const heads = configNumber(config, "num_attention_heads");
  const headDim = configNumber(config, "head_dim", configNumber(config, "hidden_size") / heads);
  const vocabSize = configNumber(config, "vocab_size");
  const bos = typeof config.bos_token_id === "number" ? config.bos_token_id : null;
  const eosList = [config.eos_token_id].flat().filter((id): id is number => typeof id === "number");
  const specials = new Map<number, string>();
  if (bos !== null) specials.set(bos, "<|endoftext|>");
  if (eosList[0] !== undefined && !specials.has(eosList[0])) specials.set(eosList[0], "<|im_end|>");
  const vocab = benchVocab(vocabSize, specials);
  const metadata: Record<string, GgufValue> = {
    "general.architecture": { type: "string", value: "qwen3" },
    "general.type": { type: "string", value: "model" },
    "general.name": { type: "string", value: "cortex bench qwen3" },
    "qwen3.block_count": u32("num_hidden_layers"),
    "qwen3.context_length": u32("max_position_embeddings"),
    "qwen3.embedding_length": u32("hidden_size"),
    "qwen3.feed_forward_length": u32("intermediate_size"),
    "qwen3.attention.head_count": u32("num_attention_heads"),
    "qwen3.attention.head_count_kv": u32("num_key_value_heads", heads),
    "qwen3.rope.freq_base": { type: "f32", value: configNumber(config, "rope_theta", 10000) },
    "qwen3.attention.layer_norm_rms_epsilon": { type: "f32", value: configNumber(config, "rms_norm_eps") },
    "qwen3.attention.key_length": { type: "u32", value: headDim },
    "qwen3.attention.value_length": { type: "u32", value: headDim },
    // llama_ftype: 0 = ALL_F32, 32 = MOSTLY_BF16.
    "general.file_type": { type: "u32", value: type === "f32" ? 0 : 32 },
    "general.quantization_version": { type: "u32", value: 2 },
    "tokenizer.ggml.model": { type: "string", value: "gpt2" },
    "tokenizer.ggml.pre": { type: "string", value: "qwen2" },
    "tokenizer.ggml.tokens": { type: "array", itemType: "string", values: vocab.tokens },
    "tokenizer.ggml.token_type": { type: "array", itemType: "i32", values: vocab.tokenTypes },
    "tokenizer.ggml.merges": { type: "array", itemType: "string", values: vocab.merges },
  };
  if (bos !== null) metadata["tokenizer.ggml.bos_token_id"] = { type: "u32", value: bos };
  if (eosList[0] !== undefined) metadata["tokenizer.ggml.eos_token_id"] = { type: "u32", value: eosList[0] };
  metadata["tokenizer.ggml.add_bos_token"] = { type: "bool", value: false };
  return metadata;
}

/**
 * Writes the Qwen3 model in `folder` (config.json + a single model.safetensors) to `path` as a GGUF
 * of `type` tensors. Tied embeddings (`tie_word_embeddings`) write no `output.weight`, as llama.cpp
 * expects; an `lm_head.weight` beside tied embeddings is refused rather than dropped.
 *
 * @example
 * ```ts
 * await writeQwen3Gguf(".cache/bench-model", ".cache/bench-model.bf16.gguf", "bf16");
 * ```
 */
export async function writeQwen3Gguf(
  folder: string,
  path: string,
  type: Qwen3GgufType,
): Promise<Qwen3GgufResult> {
  const config = JSON.parse(await Deno.readTextFile(`${folder}/config.json`)) as Record<string, unknown>;
  const metadata = qwen3Metadata(config, type);
  const weightsPath = `${folder}/model.safetensors`;
  const sharded = await Deno.stat(`${folder}/model.safetensors.index.json`).then(() => true, () => false);
  if (sharded) {
    throw new Error(`${folder} holds a sharded checkpoint; the converter reads one model.safetensors`);
  }
  const { entries, data } = await readSafetensorsHeader(weightsPath);
  if (config.tie_word_embeddings === true && entries.has("lm_head.weight")) {
    throw new Error(
      "lm_head.weight is present but tie_word_embeddings is true: which one the model means is unclear",
    );
  }
  const order = [...entries.keys()].sort((a, b) =>
    rank(a) - rank(b) || a.localeCompare(b, "en", { numeric: true })
  );
  const source = await Deno.open(weightsPath, { read: true });
  try {
    const tensors: GgufTensorSource[] = order.map((name) => {
      const entry = entries.get(name)!;
      if (!["F32", "BF16", "F16"].includes(entry.dtype)) {
        throw new Error(`tensor ${name}: dtype ${entry.dtype} is not F32, BF16 or F16`);
      }
      const target = type === "f32" || entry.shape.length === 1 ? "F32" : "BF16";
      return {
        name: ggufTensorName(name),
        type: target,
        dims: [...entry.shape].reverse(),
        data: async (write) => {
          const elementBytes = entry.dtype === "F32" ? 4 : 2;
          const chunkBytes = elementBytes * 2 ** 21;
          await source.seek(data + entry.begin, Deno.SeekMode.Start);
          for (let at = entry.begin; at < entry.end; at += chunkBytes) {
            const chunk = new Uint8Array(Math.min(chunkBytes, entry.end - at));
            let filled = 0;
            while (filled < chunk.length) {
              const read = await source.read(chunk.subarray(filled));
              if (read === null) {
                throw new Error(`${weightsPath}: tensor ${name} ends past the end of the file`);
              }
              filled += read;
            }
            await write(convert(chunk, entry.dtype, target));
          }
        },
      };
    });
    const bytes = await writeGguf(path, metadata, tensors);
    return { path, bytes, tensors: tensors.length, type };
  } finally {
    source.close();
  }
}

/** Embedding, final norm and lm_head first, then the layers in order (as llama.cpp's converter does). */
function rank(name: string): number {
  if (name === "model.embed_tokens.weight") return 0;
  if (name === "model.norm.weight" || name === "lm_head.weight") return 1;
  return 2;
}
