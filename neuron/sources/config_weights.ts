/**
 * The weights a model's `config.json` implies, counted tensor by tensor the way the engine loads
 * them (`cuda_plugin/src/load.cpp` plan_tensors), so the memory a load needs is known before its
 * weight files are downloaded. Tensors carry the checkpoint's names and shapes (Qwen3.5's
 * `model.language_model.` prefix, Qwen3-Next's fused DeltaNet projections, q_proj holding the
 * output gate rows, experts one by one); vision towers and MTP heads are not counted.
 *
 * @module
 */
import { checkIsqQuant, isqWeightBytes } from "./isq_estimate.ts";
import { type ConfigShape, type ModelType, readConfigShape, textConfig } from "./config_shape.ts";

/** Where a parameter sits. */
export type WeightPart =
  | "embed"
  | "lm_head"
  | "final_norm"
  | "attention"
  | "linear_attention"
  | "mlp_dense"
  | "experts"
  | "router_and_shared"
  | "layer_norms";

/** Every {@linkcode WeightPart}, in the order a model is read. */
export const WEIGHT_PARTS: readonly WeightPart[] = [
  "embed",
  "lm_head",
  "final_norm",
  "attention",
  "linear_attention",
  "mlp_dense",
  "experts",
  "router_and_shared",
  "layer_norms",
];

/** One tensor the engine loads, as the checkpoint names and shapes it. */
export interface ConfigTensor {
  /** Checkpoint name, e.g. `model.layers.0.self_attn.q_proj.weight`. */
  name: string;
  /** Shape, outermost first. */
  shape: number[];
  /** Which part of the model it belongs to. */
  part: WeightPart;
}

/** The weights of a config. */
export interface ConfigWeights {
  /** The architecture counted. */
  modelType: ModelType;
  /** Every tensor the engine loads. */
  tensors: ConfigTensor[];
  /** Their element count. */
  params: number;
  /** The same, by part. */
  paramsByPart: Record<WeightPart, number>;
}

const _DTYPE_BYTES: Readonly<Record<string, number>> = {
  f32: 4,
  float32: 4,
  f16: 2,
  float16: 2,
  bf16: 2,
  bfloat16: 2,
};

/**
 * Counts the weights `config` (a parsed `config.json`) implies; throws a 422 naming the key for an
 * unsupported `model_type` or a missing shape key (see {@linkcode readConfigShape}).
 *
 * @example
 * ```ts
 * import { configWeights } from "./config_weights.ts";
 * const config = JSON.parse(Deno.readTextFileSync("neuron/testdata/configs/Llama-3.1-8B/config.json"));
 * configWeights(config).params; // 8030261248
 * ```
 */
export function configWeights(config: Record<string, unknown>): ConfigWeights {
  const shape = readConfigShape(config);
  const tensors = configTensors(shape);
  const paramsByPart = Object.fromEntries(WEIGHT_PARTS.map((p) => [p, 0])) as Record<WeightPart, number>;
  let params = 0;
  for (const t of tensors) {
    const elements = t.shape.reduce((a, b) => a * b, 1);
    paramsByPart[t.part] += elements;
    params += elements;
  }
  return { modelType: shape.modelType, tensors, params, paramsByPart };
}

/**
 * The bytes of `weights` stored as `storage`: a dtype (`bf16`, `f16`, `f32`, or their long names)
 * costs params × its size; an ISQ type (`q8_0`, `q4_k_m`, …) is sized by {@linkcode isqWeightBytes}.
 * Anything else is a 400 naming it.
 */
export function configWeightBytes(weights: ConfigWeights, storage: string): number {
  const size = _DTYPE_BYTES[storage.toLowerCase()];
  if (size !== undefined) return weights.params * size;
  const quant = checkIsqQuant(storage);
  return isqWeightBytes(weights.tensors.map((t) => ({ ...t, dtype: "BF16" })), quant);
}

/** The checkpoint dtype `config.json` declares (`torch_dtype` or `dtype`, root then text_config), or null. */
export function checkpointDtype(config: Record<string, unknown>): "f32" | "f16" | "bf16" | null {
  const text = textConfig(config);
  for (const value of [config.torch_dtype, config.dtype, text.torch_dtype, text.dtype]) {
    if (value === "float32") return "f32";
    if (value === "float16") return "f16";
    if (value === "bfloat16") return "bf16";
  }
  return null;
}

/** Every tensor of `shape`, in checkpoint order: embeddings, layers, final norm, lm_head. */
export function configTensors(shape: ConfigShape): ConfigTensor[] {
  const s = shape;
  const dim = s.hiddenSize;
  const out: ConfigTensor[] = [];
  const add = (name: string, dims: number[], part: WeightPart): void => {
    out.push({ name, shape: dims, part });
  };
  add(`${s.prefix}embed_tokens.weight`, [s.vocabSize, dim], "embed");
  for (let l = 0; l < s.layers; l++) {
    const p = `${s.prefix}layers.${l}.`;
    if (s.linear[l]) _linearAttention(s, p, add);
    else _attention(s, p, add);
    if (s.sparse[l]) _experts(s, p, add);
    else {
      add(`${p}mlp.gate_proj.weight`, [s.intermediateSize, dim], "mlp_dense");
      add(`${p}mlp.up_proj.weight`, [s.intermediateSize, dim], "mlp_dense");
      add(`${p}mlp.down_proj.weight`, [dim, s.intermediateSize], "mlp_dense");
    }
    add(`${p}input_layernorm.weight`, [dim], "layer_norms");
    add(`${p}post_attention_layernorm.weight`, [dim], "layer_norms");
  }
  add(`${s.prefix}norm.weight`, [dim], "final_norm");
  if (!s.tieWordEmbeddings) add("lm_head.weight", [s.vocabSize, dim], "lm_head");
  return out;
}

type _Add = (name: string, dims: number[], part: WeightPart) => void;

function _attention(s: ConfigShape, p: string, add: _Add): void {
  const dim = s.hiddenSize, qDim = s.heads * s.headDim, kvDim = s.kvHeads * s.headDim;
  // With an output gate, q_proj holds per head head_dim query rows then head_dim gate rows.
  add(`${p}self_attn.q_proj.weight`, [s.attnOutputGate ? 2 * qDim : qDim, dim], "attention");
  add(`${p}self_attn.k_proj.weight`, [kvDim, dim], "attention");
  add(`${p}self_attn.v_proj.weight`, [kvDim, dim], "attention");
  add(`${p}self_attn.o_proj.weight`, [dim, qDim], "attention");
  if (s.attentionBias) {
    add(`${p}self_attn.q_proj.bias`, [qDim], "attention");
    add(`${p}self_attn.k_proj.bias`, [kvDim], "attention");
    add(`${p}self_attn.v_proj.bias`, [kvDim], "attention");
    add(`${p}self_attn.o_proj.bias`, [dim], "attention");
  }
  if (s.qkNorm) {
    add(`${p}self_attn.q_norm.weight`, [s.headDim], "attention");
    add(`${p}self_attn.k_norm.weight`, [s.headDim], "attention");
  }
}

function _linearAttention(s: ConfigShape, p: string, add: _Add): void {
  const dim = s.hiddenSize, vHeads = s.linearValueHeads;
  const keyDim = s.linearKeyHeads * s.linearKeyHeadDim, valueDim = vHeads * s.linearValueHeadDim;
  const channels = 2 * keyDim + valueDim; // q, k, v: what the causal conv runs over
  const a = `${p}linear_attn.`;
  if (s.fusedLinearProjections) {
    add(`${a}in_proj_qkvz.weight`, [channels + valueDim, dim], "linear_attention");
    add(`${a}in_proj_ba.weight`, [2 * vHeads, dim], "linear_attention");
  } else {
    add(`${a}in_proj_qkv.weight`, [channels, dim], "linear_attention");
    add(`${a}in_proj_z.weight`, [valueDim, dim], "linear_attention");
    add(`${a}in_proj_b.weight`, [vHeads, dim], "linear_attention");
    add(`${a}in_proj_a.weight`, [vHeads, dim], "linear_attention");
  }
  add(`${a}conv1d.weight`, [channels, 1, s.linearConvKernel], "linear_attention");
  add(`${a}A_log`, [vHeads], "linear_attention");
  add(`${a}dt_bias`, [vHeads], "linear_attention");
  add(`${a}norm.weight`, [s.linearValueHeadDim], "linear_attention");
  add(`${a}out_proj.weight`, [dim, valueDim], "linear_attention");
}

/** A sparse layer: the router, each expert, and the hybrids' σ-gated shared expert. */
function _experts(s: ConfigShape, p: string, add: _Add): void {
  const dim = s.hiddenSize, hidden = s.moeIntermediateSize;
  add(`${p}mlp.gate.weight`, [s.numExperts, dim], "router_and_shared");
  for (let e = 0; e < s.numExperts; e++) {
    add(`${p}mlp.experts.${e}.gate_proj.weight`, [hidden, dim], "experts");
    add(`${p}mlp.experts.${e}.up_proj.weight`, [hidden, dim], "experts");
    add(`${p}mlp.experts.${e}.down_proj.weight`, [dim, hidden], "experts");
  }
  const shared = s.sharedExpertIntermediateSize;
  if (shared === 0) return;
  add(`${p}mlp.shared_expert.gate_proj.weight`, [shared, dim], "router_and_shared");
  add(`${p}mlp.shared_expert.up_proj.weight`, [shared, dim], "router_and_shared");
  add(`${p}mlp.shared_expert.down_proj.weight`, [dim, shared], "router_and_shared");
  add(`${p}mlp.shared_expert_gate.weight`, [1, dim], "router_and_shared");
}
