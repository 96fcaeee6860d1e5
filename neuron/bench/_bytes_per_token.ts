/**
 * Weight bytes one decode token reads: every matrix and norm gain once, the lm_head included (for
 * tied embeddings that is the whole embedding matrix), plus the one embedding row the token looks
 * up. Decode's bandwidth bound is bandwidth ÷ this figure.
 * @module
 */

import type { GgufTensorInfo } from "./_gguf_reader.ts";

/**
 * Bytes per decode token of a GGUF file, exactly, from its tensor table: all tensors but
 * `token_embd.weight`, one `token_embd` row, and the whole `token_embd` once more when the file has
 * no `output.weight` (tied embeddings: the lm_head is the embedding matrix).
 */
export function ggufBytesPerToken(tensors: readonly GgufTensorInfo[]): number {
  const embedding = tensors.find((t) => t.name === "token_embd.weight");
  if (!embedding) throw new Error("the GGUF file has no token_embd.weight");
  const tied = !tensors.some((t) => t.name === "output.weight");
  const others = tensors.filter((t) => t !== embedding).reduce((sum, t) => sum + t.bytes, 0);
  const rows = embedding.dims.slice(1).reduce((a, b) => a * b, 1);
  return others + embedding.bytes / rows + (tied ? embedding.bytes : 0);
}

/**
 * Bytes per decode token of a tied-embedding model loaded from safetensors (the bench model, at
 * bf16 or quantized at load), from the engine's `weightBytes`, which counts the embedding matrix
 * once: that matrix is the lm_head, read whole, so the only bytes to add are the one embedding row,
 * taken at the model's mean bytes per parameter (under quantization its exact type is the loader's
 * choice; a row is ~2 KB of ~600 MB, so the approximation moves the figure by < 1e-5).
 */
export function tiedBytesPerToken(weightBytes: number, parameters: number, hiddenSize: number): number {
  return weightBytes + Math.round((hiddenSize * weightBytes) / parameters);
}
