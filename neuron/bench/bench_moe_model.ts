/**
 * The engine benchmark's MoE model (`--arch qwen3_moe`): random bf16 weights with the shape of
 * Qwen3-30B-A3B (128 experts, top-8, hidden 2048, expert width 768, 32 heads / 4 KV heads of 128,
 * vocab 151936, untied lm_head, norm_topk_prob) but only `layers` layers, so it fits a workstation.
 * Also computes the bytes one decode token actually reads: the active experts only.
 * @module
 */

import { ggmlTensorBytes } from "../sources/gguf/mod.ts";
import { ensureCheckpoint, type TensorPlan } from "./bench_model.ts";

/** Qwen3-30B-A3B's config.json fields, less the layer count. */
export const QWEN3_30B_A3B_SHAPE = Object.freeze({
  hidden_size: 2048,
  intermediate_size: 6144,
  moe_intermediate_size: 768,
  num_experts: 128,
  num_experts_per_tok: 8,
  num_attention_heads: 32,
  num_key_value_heads: 4,
  head_dim: 128,
  vocab_size: 151936,
});

const GENERATOR_VERSION = "moe-1";

function planMoeTensors(layers: number): TensorPlan[] {
  const s = QWEN3_30B_A3B_SHAPE;
  const q = s.num_attention_heads * s.head_dim;
  const kv = s.num_key_value_heads * s.head_dim;
  const tensors: TensorPlan[] = [
    { name: "model.embed_tokens.weight", shape: [s.vocab_size, s.hidden_size], fill: "random" },
    { name: "lm_head.weight", shape: [s.vocab_size, s.hidden_size], fill: "random" },
    { name: "model.norm.weight", shape: [s.hidden_size], fill: "ones" },
  ];
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}.`;
    tensors.push(
      { name: `${p}input_layernorm.weight`, shape: [s.hidden_size], fill: "ones" },
      { name: `${p}post_attention_layernorm.weight`, shape: [s.hidden_size], fill: "ones" },
      { name: `${p}self_attn.q_proj.weight`, shape: [q, s.hidden_size], fill: "random" },
      { name: `${p}self_attn.k_proj.weight`, shape: [kv, s.hidden_size], fill: "random" },
      { name: `${p}self_attn.v_proj.weight`, shape: [kv, s.hidden_size], fill: "random" },
      { name: `${p}self_attn.o_proj.weight`, shape: [s.hidden_size, q], fill: "random" },
      { name: `${p}self_attn.q_norm.weight`, shape: [s.head_dim], fill: "ones" },
      { name: `${p}self_attn.k_norm.weight`, shape: [s.head_dim], fill: "ones" },
      { name: `${p}mlp.gate.weight`, shape: [s.num_experts, s.hidden_size], fill: "random" },
    );
    for (let e = 0; e < s.num_experts; e++) {
      const x = `${p}mlp.experts.${e}.`;
      tensors.push(
        { name: `${x}gate_proj.weight`, shape: [s.moe_intermediate_size, s.hidden_size], fill: "random" },
        { name: `${x}up_proj.weight`, shape: [s.moe_intermediate_size, s.hidden_size], fill: "random" },
        { name: `${x}down_proj.weight`, shape: [s.hidden_size, s.moe_intermediate_size], fill: "random" },
      );
    }
  }
  return tensors;
}

function moeConfigJson(layers: number): string {
  return JSON.stringify(
    {
      architectures: ["Qwen3MoeForCausalLM"],
      model_type: "qwen3_moe",
      ...QWEN3_30B_A3B_SHAPE,
      num_hidden_layers: layers,
      decoder_sparse_step: 1,
      mlp_only_layers: [],
      norm_topk_prob: true,
      max_position_embeddings: 40960,
      rms_norm_eps: 1e-6,
      rope_theta: 1000000,
      tie_word_embeddings: false,
      attention_bias: false,
      torch_dtype: "bfloat16",
      bos_token_id: 151643,
      eos_token_id: 151645,
      cortex_bench_generator: `${GENERATOR_VERSION}-${layers}`,
    },
    null,
    2,
  );
}

/** Writes the `layers`-layer MoE checkpoint into `folder` unless it is there; returns whether it wrote. */
export function ensureMoeBenchModel(
  folder: string,
  layers: number,
  log: (line: string) => void = () => {},
): Promise<boolean> {
  return ensureCheckpoint(
    folder,
    planMoeTensors(layers),
    moeConfigJson(layers),
    `${GENERATOR_VERSION}-${layers}`,
    log,
  );
}

/** llama.cpp's "use more bits" layers (isq.cpp): q4_k_m gives their ffn_down Q6_K. */
function useMoreBits(layer: number, layers: number): boolean {
  const eighth = Math.floor(layers / 8);
  return layer < eighth || layer >= Math.floor((7 * layers) / 8) || (layer - eighth) % 3 === 2;
}

/**
 * Weight bytes one decode token reads from the MoE bench model, given the engine's `weightBytes`
 * (every expert counted) and the embedding's dtype: everything but the embedding matrix (one row
 * of it is read) and the unchosen experts (k of E are read, per layer). `quant` is the ISQ scheme
 * the experts were quantized with (none: bf16); expert matrices are 2048 and 768 wide, so every
 * type's block fits and each expert matrix gets the scheme's type (q4_k_m: Q6_K ffn_down on
 * llama.cpp's "more bits" layers).
 */
export function moeBytesPerToken(
  weightBytes: number,
  embeddingDtype: string,
  layers: number,
  quant?: string,
): number {
  const s = QWEN3_30B_A3B_SHAPE;
  const embeddingRow = ggmlTensorBytes(embeddingDtype.toUpperCase(), [s.hidden_size]);
  const base = quant === undefined ? "BF16" : quant === "q4_k_m" ? "Q4_K" : quant.toUpperCase();
  let expertBytes = 0;
  for (let l = 0; l < layers; l++) {
    const down = quant === "q4_k_m" && useMoreBits(l, layers) ? "Q6_K" : base;
    const one = 2 * s.moe_intermediate_size * ggmlTensorBytes(base, [s.hidden_size]) +
      s.hidden_size * ggmlTensorBytes(down, [s.moe_intermediate_size]);
    expertBytes += s.num_experts * one;
  }
  const unread = expertBytes * (1 - s.num_experts_per_tok / s.num_experts);
  return weightBytes - s.vocab_size * embeddingRow + embeddingRow - unread;
}
