/**
 * Converts a Qwen3 or Qwen3-MoE safetensors folder (config.json + model.safetensors, F32/BF16/F16)
 * into a GGUF v3 file that llama.cpp loads: `general.architecture = qwen3` or `qwen3moe`, its
 * hyper-parameters, a minimal byte-level vocabulary (`_bench_vocab.ts`) and the tensors under
 * llama.cpp's names, as F32 or BF16 (1-D norm gains and the MoE router always F32, as llama.cpp's
 * converter writes them). The bench uses it so cortex and llama.cpp run the same weights;
 * `llama-quantize` makes the quantized files from it. Qwen3 needs no reordering of q/k rows
 * (llama.cpp's converter permutes only `llama` models), so every tensor keeps its bytes: a
 * safetensors `[out, in]` shape is GGUF dims `[in, out]`, and a MoE layer's per-expert matrices
 * `mlp.experts.E.<proj>` are stacked in expert order into one `ffn_<proj>_exps` of dims
 * `[in, out, experts]`.
 * @module
 */

import { benchVocab } from "./_bench_vocab.ts";
import { readSafetensorsHeader, type SafetensorsEntry, streamEntry } from "./_hf_tensors.ts";
import {
  ggufArray,
  type GgufMetadataEntry,
  ggufScalar,
  type GgufTensorSource,
  GgufValueType,
  writeGguf,
} from "../sources/gguf/mod.ts";

/** Tensor types the converter writes. */
export type Qwen3GgufType = "f32" | "bf16";

/** What `writeQwen3Gguf` wrote. */
export interface Qwen3GgufResult {
  path: string;
  bytes: number;
  tensors: number;
  type: Qwen3GgufType;
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

/** Where an HF tensor goes in the GGUF: its tensor and, for a stacked expert matrix, its expert. */
export interface GgufTarget {
  name: string;
  expert?: number;
}

const EXPERT_STACKS: Record<string, string> = {
  gate_proj: "ffn_gate_exps.weight",
  up_proj: "ffn_up_exps.weight",
  down_proj: "ffn_down_exps.weight",
};

/**
 * llama.cpp's name for an HF Qwen3 tensor (with `moe`, a Qwen3-MoE one: the router `mlp.gate` and
 * the experts' stacks); throws naming a tensor it does not know.
 */
export function ggufTarget(hfName: string, moe = false): GgufTarget {
  if (hfName === "model.embed_tokens.weight") return { name: "token_embd.weight" };
  if (hfName === "model.norm.weight") return { name: "output_norm.weight" };
  if (hfName === "lm_head.weight") return { name: "output.weight" };
  const match = hfName.match(/^model\.layers\.(\d+)\.(.+)$/);
  const arch = moe ? "qwen3moe" : "qwen3";
  if (!match) throw new Error(`tensor ${hfName} has no ${arch} GGUF name`);
  const suffix = LAYER_NAMES[match[2]];
  if (suffix) return { name: `blk.${match[1]}.${suffix}` };
  if (moe && match[2] === "mlp.gate.weight") return { name: `blk.${match[1]}.ffn_gate_inp.weight` };
  const expert = moe ? match[2].match(/^mlp\.experts\.(\d+)\.(gate_proj|up_proj|down_proj)\.weight$/) : null;
  if (expert) return { name: `blk.${match[1]}.${EXPERT_STACKS[expert[2]]}`, expert: Number(expert[1]) };
  throw new Error(`tensor ${hfName} has no ${arch} GGUF name`);
}

/** llama.cpp's name for an HF Qwen3 tensor; throws naming a tensor it does not know. */
export function ggufTensorName(hfName: string): string {
  return ggufTarget(hfName).name;
}

export function configNumber(config: Record<string, unknown>, key: string, fallback?: number): number {
  const value = config[key] ?? fallback;
  if (typeof value !== "number") {
    throw new Error(`config.json: ${key} must be a number, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Whether a config is Qwen3-MoE (else it must be dense Qwen3). */
function isMoe(config: Record<string, unknown>): boolean {
  const architectures = config.architectures as string[] | undefined;
  return config.model_type === "qwen3_moe" || architectures?.includes("Qwen3MoeForCausalLM") === true;
}

/**
 * The GGUF keys every Qwen-family `arch` shares: general, block / context / embedding / FFN
 * sizes, attention heads and head dims, rope base, RMS epsilon, file type and the bench vocabulary.
 */
export function transformerMetadata(
  config: Record<string, unknown>,
  arch: string,
  type: Qwen3GgufType,
  ropeTheta: number,
): Record<string, GgufMetadataEntry> {
  const u32 = (key: string, fallback?: number): GgufMetadataEntry =>
    ggufScalar(GgufValueType.UINT32, configNumber(config, key, fallback));
  const heads = configNumber(config, "num_attention_heads");
  const headDim = configNumber(config, "head_dim", configNumber(config, "hidden_size") / heads);
  const vocabSize = configNumber(config, "vocab_size");
  const bos = typeof config.bos_token_id === "number" ? config.bos_token_id : null;
  const eosList = [config.eos_token_id].flat().filter((id): id is number => typeof id === "number");
  const specials = new Map<number, string>();
  if (bos !== null) specials.set(bos, "<|endoftext|>");
  if (eosList[0] !== undefined && !specials.has(eosList[0])) specials.set(eosList[0], "<|im_end|>");
  const vocab = benchVocab(vocabSize, specials);
  const metadata: Record<string, GgufMetadataEntry> = {
    "general.architecture": ggufScalar(GgufValueType.STRING, arch),
    "general.type": ggufScalar(GgufValueType.STRING, "model"),
    "general.name": ggufScalar(GgufValueType.STRING, `cortex bench ${arch}`),
    [`${arch}.block_count`]: u32("num_hidden_layers"),
    [`${arch}.context_length`]: u32("max_position_embeddings"),
    [`${arch}.embedding_length`]: u32("hidden_size"),
    [`${arch}.feed_forward_length`]: u32("intermediate_size"),
    [`${arch}.attention.head_count`]: u32("num_attention_heads"),
    [`${arch}.attention.head_count_kv`]: u32("num_key_value_heads", heads),
    [`${arch}.rope.freq_base`]: ggufScalar(GgufValueType.FLOAT32, ropeTheta),
    [`${arch}.attention.layer_norm_rms_epsilon`]: ggufScalar(
      GgufValueType.FLOAT32,
      configNumber(config, "rms_norm_eps"),
    ),
    [`${arch}.attention.key_length`]: ggufScalar(GgufValueType.UINT32, headDim),
    [`${arch}.attention.value_length`]: ggufScalar(GgufValueType.UINT32, headDim),
    // llama_ftype: 0 = ALL_F32, 32 = MOSTLY_BF16.
    "general.file_type": ggufScalar(GgufValueType.UINT32, type === "f32" ? 0 : 32),
    "general.quantization_version": ggufScalar(GgufValueType.UINT32, 2),
    "tokenizer.ggml.model": ggufScalar(GgufValueType.STRING, "gpt2"),
    "tokenizer.ggml.pre": ggufScalar(GgufValueType.STRING, "qwen2"),
    "tokenizer.ggml.tokens": ggufArray(GgufValueType.STRING, vocab.tokens),
    "tokenizer.ggml.token_type": ggufArray(GgufValueType.INT32, vocab.tokenTypes),
    "tokenizer.ggml.merges": ggufArray(GgufValueType.STRING, vocab.merges),
  };
  if (bos !== null) metadata["tokenizer.ggml.bos_token_id"] = ggufScalar(GgufValueType.UINT32, bos);
  if (eosList[0] !== undefined) {
    metadata["tokenizer.ggml.eos_token_id"] = ggufScalar(GgufValueType.UINT32, eosList[0]);
  }
  metadata["tokenizer.ggml.add_bos_token"] = ggufScalar(GgufValueType.BOOL, false);
  return metadata;
}

/** The GGUF metadata of a Qwen3 or Qwen3-MoE config (hyper-parameters, vocabulary, file type). */
export function qwen3Metadata(
  config: Record<string, unknown>,
  type: Qwen3GgufType,
): Record<string, GgufMetadataEntry> {
  const architectures = config.architectures as string[] | undefined;
  const moe = isMoe(config);
  if (!moe && config.model_type !== "qwen3" && !architectures?.includes("Qwen3ForCausalLM")) {
    throw new Error(
      `config.json: architecture ${
        JSON.stringify(architectures ?? config.model_type)
      } is not Qwen3 or Qwen3-MoE`,
    );
  }
  if (config.attention_bias === true) {
    throw new Error("config.json: attention_bias true is not the qwen3 GGUF layout");
  }
  if (config.rope_scaling) {
    throw new Error(`config.json: rope_scaling ${JSON.stringify(config.rope_scaling)} is not written`);
  }
  // transformers 5.x writes rope_parameters {rope_theta, rope_type}; only the default rope is written.
  const rope = (config.rope_parameters ?? {}) as Record<string, unknown>;
  if (
    (rope.rope_type ?? "default") !== "default" ||
    Object.keys(rope).some((k) => !["rope_theta", "rope_type"].includes(k))
  ) {
    throw new Error(
      `config.json: rope_parameters ${JSON.stringify(rope)} is not written (default rope only)`,
    );
  }
  const ropeTheta = configNumber(
    config,
    "rope_theta",
    typeof rope.rope_theta === "number" ? rope.rope_theta : 10000,
  );
  // llama.cpp's qwen3moe makes every layer sparse and always renormalises the top-k weights.
  if (moe && config.norm_topk_prob !== true) {
    throw new Error(
      `config.json: norm_topk_prob ${JSON.stringify(config.norm_topk_prob)} (qwen3moe GGUF renormalises)`,
    );
  }
  if (
    moe &&
    ((config.decoder_sparse_step ?? 1) !== 1 || ((config.mlp_only_layers ?? []) as unknown[]).length > 0)
  ) {
    throw new Error(
      "config.json: decoder_sparse_step / mlp_only_layers make dense layers, which qwen3moe GGUF lacks",
    );
  }
  const arch = moe ? "qwen3moe" : "qwen3";
  const u32 = (key: string, fallback?: number): GgufMetadataEntry =>
    ggufScalar(GgufValueType.UINT32, configNumber(config, key, fallback));
  const metadata = transformerMetadata(config, arch, type, ropeTheta);
  if (moe) {
    metadata[`${arch}.expert_count`] = u32(
      config.num_experts !== undefined ? "num_experts" : "num_local_experts",
    );
    metadata[`${arch}.expert_used_count`] = u32("num_experts_per_tok");
    metadata[`${arch}.expert_feed_forward_length`] = u32("moe_intermediate_size");
  }
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
  const moe = isMoe(config);
  const groups = groupTensors(entries, moe);
  const source = await Deno.open(weightsPath, { read: true });
  try {
    const tensors: GgufTensorSource[] = groups.map((group) => {
      const first = group.parts[0];
      for (const part of group.parts) {
        if (!["F32", "BF16", "F16"].includes(part.entry.dtype)) {
          throw new Error(`tensor ${part.hfName}: dtype ${part.entry.dtype} is not F32, BF16 or F16`);
        }
        if (part.entry.shape.join(",") !== first.entry.shape.join(",")) {
          throw new Error(
            `tensor ${part.hfName}: shape [${part.entry.shape}] differs from ${first.hfName}'s`,
          );
        }
      }
      const router = group.name.endsWith(".ffn_gate_inp.weight");
      const target = type === "f32" || first.entry.shape.length === 1 || router ? "F32" : "BF16";
      const dims = [...first.entry.shape].reverse();
      if (group.stacked) dims.push(group.parts.length);
      return {
        name: group.name,
        type: target,
        dims,
        data: async (write) => {
          for (const { hfName, entry } of group.parts) {
            await streamEntry(source, data, entry, target, write, `${weightsPath}: ${hfName}`);
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

interface TensorGroup {
  name: string;
  stacked: boolean;
  parts: { hfName: string; entry: SafetensorsEntry }[];
}

/**
 * The GGUF tensors of a checkpoint in llama.cpp's converter order (see `rank`), each with the HF
 * tensors it is made of: one, or a layer's experts in expert order, every expert 0..E-1 present.
 */
function groupTensors(entries: Map<string, SafetensorsEntry>, moe: boolean): TensorGroup[] {
  const groups = new Map<string, TensorGroup & { experts: Map<number, string> }>();
  const order = [...entries.keys()].sort((a, b) =>
    rank(a) - rank(b) || a.localeCompare(b, "en", { numeric: true })
  );
  for (const hfName of order) {
    const target = ggufTarget(hfName, moe);
    let group = groups.get(target.name);
    if (!group) {
      group = { name: target.name, stacked: target.expert !== undefined, parts: [], experts: new Map() };
      groups.set(target.name, group);
    }
    if (target.expert === undefined) group.parts.push({ hfName, entry: entries.get(hfName)! });
    else group.experts.set(target.expert, hfName);
  }
  return [...groups.values()].map(({ experts, ...group }) => {
    for (let e = 0; e < experts.size; e++) {
      const hfName = experts.get(e);
      if (hfName === undefined) {
        throw new Error(`${group.name}: expert ${e} is missing (${experts.size} found)`);
      }
      group.parts.push({ hfName, entry: entries.get(hfName)! });
    }
    return group;
  });
}

/** Embedding, final norm and lm_head first, then the layers in order (as llama.cpp's converter does). */
function rank(name: string): number {
  if (name === "model.embed_tokens.weight") return 0;
  if (name === "model.norm.weight" || name === "lm_head.weight") return 1;
  return 2;
}
