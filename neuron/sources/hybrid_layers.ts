/**
 * The memory a Qwen3.5 / Qwen3-Next hybrid's sequences take beyond weights: only its full-attention
 * layers keep a KV cache; its Gated DeltaNet layers keep a fixed conv + recurrent state per sequence
 * (f32), whatever the context length. Other models: every layer has KV, no state.
 *
 * @module
 */

type TextConfig = Record<string, unknown>;

function _num(text: TextConfig, key: string, fallback: number): number {
  return typeof text[key] === "number" ? text[key] as number : fallback;
}

/**
 * Per layer: true for a Gated DeltaNet ("linear_attention") layer. From `layer_types`, else every
 * `full_attention_interval`-th layer (default 4) is full attention; empty for a non-hybrid config.
 *
 * @example
 * ```ts
 * import { linearLayers } from "./hybrid_layers.ts";
 * linearLayers({ num_hidden_layers: 4, linear_num_key_heads: 2 }); // [true, true, true, false]
 * ```
 */
export function linearLayers(text: TextConfig): boolean[] {
  const layers = _num(text, "num_hidden_layers", 0);
  const types = text.layer_types;
  if (Array.isArray(types)) return types.map((type) => type === "linear_attention");
  if (typeof text.linear_num_key_heads !== "number" && text.full_attention_interval === undefined) return [];
  const interval = _num(text, "full_attention_interval", 4);
  return Array.from({ length: layers }, (_, i) => (i + 1) % interval !== 0);
}

/** How many layers keep a KV cache (all of them for a non-hybrid config). */
export function attentionLayerCount(text: TextConfig): number {
  const linear = linearLayers(text);
  if (linear.length === 0) return _num(text, "num_hidden_layers", 0);
  return linear.filter((isLinear) => !isLinear).length;
}

/**
 * KV-cache bytes per token of one sequence: K and V of every layer that keeps a KV cache, in f32 as
 * the engine stores them. `head_dim` defaults to hidden_size / num_attention_heads.
 */
export function kvBytesPerToken(text: TextConfig): number {
  const heads = _num(text, "num_attention_heads", 1);
  const kvHeads = _num(text, "num_key_value_heads", heads);
  const headDim = _num(text, "head_dim", Math.floor(_num(text, "hidden_size", 0) / heads));
  return 2 * attentionLayerCount(text) * kvHeads * headDim * 4;
}

/** The DeltaNet conv + recurrent state bytes of one sequence (f32), 0 for a non-hybrid config. */
export function sequenceStateBytes(text: TextConfig): number {
  const linear = linearLayers(text).filter((isLinear) => isLinear).length;
  if (linear === 0) return 0;
  const keyHeads = _num(text, "linear_num_key_heads", 16);
  const valueHeads = _num(text, "linear_num_value_heads", 32);
  const keyDim = _num(text, "linear_key_head_dim", 128);
  const valueDim = _num(text, "linear_value_head_dim", 128);
  const kernel = _num(text, "linear_conv_kernel_dim", 4);
  const channels = 2 * keyHeads * keyDim + valueHeads * valueDim;
  // The live states and the slot's snapshot of them (prefix reuse), f32.
  return 2 * linear * (channels * (kernel - 1) + valueHeads * keyDim * valueDim) * 4;
}

const _UNSERVED_PREFIXES = ["model.visual.", "mtp."];
const _DTYPE_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  I32: 4,
  F16: 2,
  BF16: 2,
  I16: 2,
  F8_E4M3: 1,
  I8: 1,
  U8: 1,
};

/**
 * Whether the engine leaves a tensor in the file: a vision tower (`model.visual.*`, Qwen3.5's
 * conditional-generation layout serves its text model) or a multi-token-prediction head (`mtp.*`).
 */
export function isUnservedTensor(name: string): boolean {
  return _UNSERVED_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** The bytes of the tensors the engine does not load (see {@linkcode isUnservedTensor}). */
export function unservedTensorBytes(
  tensors: readonly { name: string; dtype: string; shape: number[] }[],
): number {
  let bytes = 0;
  for (const tensor of tensors) {
    if (!isUnservedTensor(tensor.name)) continue;
    bytes += tensor.shape.reduce((a, b) => a * b, 1) * (_DTYPE_BYTES[tensor.dtype] ?? 0);
  }
  return bytes;
}
