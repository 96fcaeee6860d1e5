/**
 * The engine benchmark's hybrid model (`--arch qwen3_next`): random bf16 weights with the shape of
 * Qwen3-Next-80B-A3B (hidden 2048; Gated DeltaNet layers of 16 key / 32 value heads of 128 and every
 * fourth layer gated attention of 16 / 2 heads of 256; 512 experts, top-10, expert width 512, plus a
 * shared expert of 512; vocab 151936, untied) but only `layers` layers, so it fits a workstation.
 * Also computes the bytes one decode token actually reads: the active experts only.
 * @module
 */

import { ggmlTensorBytes } from "../sources/gguf/mod.ts";
import { ensureCheckpoint, type TensorPlan } from "./bench_model.ts";

/** Qwen3-Next-80B-A3B's config.json fields, less the layer count. */
export const QWEN3_NEXT_80B_SHAPE = Object.freeze({
  hidden_size: 2048,
  intermediate_size: 5120,
  moe_intermediate_size: 512,
  shared_expert_intermediate_size: 512,
  num_experts: 512,
  num_experts_per_tok: 10,
  num_attention_heads: 16,
  num_key_value_heads: 2,
  head_dim: 256,
  linear_num_key_heads: 16,
  linear_num_value_heads: 32,
  linear_key_head_dim: 128,
  linear_value_head_dim: 128,
  linear_conv_kernel_dim: 4,
  full_attention_interval: 4,
  vocab_size: 151936,
});

const GENERATOR_VERSION = "next-1";

function planNextTensors(layers: number): TensorPlan[] {
  const s = QWEN3_NEXT_80B_SHAPE;
  const d = s.hidden_size;
  const q = s.num_attention_heads * s.head_dim;
  const kv = s.num_key_value_heads * s.head_dim;
  const keyDim = s.linear_num_key_heads * s.linear_key_head_dim;
  const valueDim = s.linear_num_value_heads * s.linear_value_head_dim;
  const tensors: TensorPlan[] = [
    { name: "model.embed_tokens.weight", shape: [s.vocab_size, d], fill: "random" },
    { name: "lm_head.weight", shape: [s.vocab_size, d], fill: "random" },
    { name: "model.norm.weight", shape: [d], fill: "random" },
  ];
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}.`;
    // (1 + w) norms: small random w keeps the gains near 1.
    tensors.push(
      { name: `${p}input_layernorm.weight`, shape: [d], fill: "random" },
      { name: `${p}post_attention_layernorm.weight`, shape: [d], fill: "random" },
    );
    if ((l + 1) % s.full_attention_interval === 0) {
      tensors.push(
        { name: `${p}self_attn.q_proj.weight`, shape: [2 * q, d], fill: "random" },
        { name: `${p}self_attn.k_proj.weight`, shape: [kv, d], fill: "random" },
        { name: `${p}self_attn.v_proj.weight`, shape: [kv, d], fill: "random" },
        { name: `${p}self_attn.o_proj.weight`, shape: [d, q], fill: "random" },
        { name: `${p}self_attn.q_norm.weight`, shape: [s.head_dim], fill: "random" },
        { name: `${p}self_attn.k_norm.weight`, shape: [s.head_dim], fill: "random" },
      );
    } else {
      const a = `${p}linear_attn.`;
      tensors.push(
        { name: `${a}in_proj_qkvz.weight`, shape: [2 * keyDim + 2 * valueDim, d], fill: "random" },
        { name: `${a}in_proj_ba.weight`, shape: [2 * s.linear_num_value_heads, d], fill: "random" },
        {
          name: `${a}conv1d.weight`,
          shape: [2 * keyDim + valueDim, 1, s.linear_conv_kernel_dim],
          fill: "random",
        },
        { name: `${a}A_log`, shape: [s.linear_num_value_heads], fill: "random" },
        { name: `${a}dt_bias`, shape: [s.linear_num_value_heads], fill: "ones" },
        { name: `${a}norm.weight`, shape: [s.linear_value_head_dim], fill: "ones" },
        { name: `${a}out_proj.weight`, shape: [d, valueDim], fill: "random" },
      );
    }
    const m = `${p}mlp.`;
    tensors.push(
      { name: `${m}gate.weight`, shape: [s.num_experts, d], fill: "random" },
      {
        name: `${m}shared_expert.gate_proj.weight`,
        shape: [s.shared_expert_intermediate_size, d],
        fill: "random",
      },
      {
        name: `${m}shared_expert.up_proj.weight`,
        shape: [s.shared_expert_intermediate_size, d],
        fill: "random",
      },
      {
        name: `${m}shared_expert.down_proj.weight`,
        shape: [d, s.shared_expert_intermediate_size],
        fill: "random",
      },
      { name: `${m}shared_expert_gate.weight`, shape: [1, d], fill: "random" },
    );
    for (let e = 0; e < s.num_experts; e++) {
      const x = `${m}experts.${e}.`;
      tensors.push(
        { name: `${x}gate_proj.weight`, shape: [s.moe_intermediate_size, d], fill: "random" },
        { name: `${x}up_proj.weight`, shape: [s.moe_intermediate_size, d], fill: "random" },
        { name: `${x}down_proj.weight`, shape: [d, s.moe_intermediate_size], fill: "random" },
      );
    }
  }
  return tensors;
}

function nextConfigJson(layers: number): string {
  return JSON.stringify(
    {
      architectures: ["Qwen3NextForCausalLM"],
      model_type: "qwen3_next",
      ...QWEN3_NEXT_80B_SHAPE,
      num_hidden_layers: layers,
      decoder_sparse_step: 1,
      mlp_only_layers: [],
      norm_topk_prob: true,
      partial_rotary_factor: 0.25,
      max_position_embeddings: 262144,
      rms_norm_eps: 1e-6,
      rope_theta: 10000000,
      tie_word_embeddings: false,
      attention_bias: false,
      hidden_act: "silu",
      torch_dtype: "bfloat16",
      bos_token_id: 151643,
      eos_token_id: 151645,
      cortex_bench_generator: `${GENERATOR_VERSION}-${layers}`,
    },
    null,
    2,
  );
}

/** Writes the `layers`-layer hybrid checkpoint into `folder` unless it is there; returns whether it wrote. */
export function ensureNextBenchModel(
  folder: string,
  layers: number,
  log: (line: string) => void = () => {},
): Promise<boolean> {
  return ensureCheckpoint(
    folder,
    planNextTensors(layers),
    nextConfigJson(layers),
    `${GENERATOR_VERSION}-${layers}`,
    log,
  );
}

/**
 * Weight bytes one decode token reads from the hybrid bench model, given the engine's `weightBytes`
 * (every expert counted) and the embedding's dtype: everything but the embedding matrix (one row of it
 * is read) and the unchosen routed experts (k of E per layer; the shared expert is always read).
 * `quant` is the ISQ scheme applied to every expert matrix (none: bf16; q4_k_m is not modelled here).
 */
export function nextBytesPerToken(
  weightBytes: number,
  embeddingDtype: string,
  layers: number,
  quant?: string,
): number {
  const s = QWEN3_NEXT_80B_SHAPE;
  if (quant === "q4_k_m") throw new Error("--arch qwen3_next does not model q4_k_m's mixed expert types");
  const embeddingRow = ggmlTensorBytes(embeddingDtype.toUpperCase(), [s.hidden_size]);
  const type = quant === undefined ? "BF16" : quant.toUpperCase();
  const one = 2 * s.moe_intermediate_size * ggmlTensorBytes(type, [s.hidden_size]) +
    s.hidden_size * ggmlTensorBytes(type, [s.moe_intermediate_size]);
  const unread = layers * s.num_experts * one * (1 - s.num_experts_per_tok / s.num_experts);
  return weightBytes - s.vocab_size * embeddingRow + embeddingRow - unread;
}
