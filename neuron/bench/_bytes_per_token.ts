/**
 * Weight bytes one decode token reads: every matrix and norm gain once, the lm_head included (for
 * tied embeddings that is the whole embedding matrix), plus the one embedding row the token looks
 * up. Decode's bandwidth bound is bandwidth ÷ this figure.
 * @module
 */

import { ggmlTensorBytes, type GgufTensorInfo } from "../sources/gguf/mod.ts";

/**
 * Bytes per decode token of a GGUF file, exactly, from its tensor table: all tensors but
 * `token_embd.weight`, one `token_embd` row, and the whole `token_embd` once more when the file has
 * no `output.weight` (tied embeddings: the lm_head is the embedding matrix). With `experts` (a MoE
 * file's `expert_used_count` of `expert_count`), the expert stacks `*_exps.weight` count only the
 * used experts' share: a token reads k of them.
 */
export function ggufBytesPerToken(
  tensors: readonly GgufTensorInfo[],
  experts?: { used: number; count: number },
): number {
  const embedding = tensors.find((t) => t.name === "token_embd.weight");
  if (!embedding) throw new Error("the GGUF file has no token_embd.weight");
  const tied = !tensors.some((t) => t.name === "output.weight");
  const share = (t: GgufTensorInfo): number =>
    experts && t.name.endsWith("_exps.weight") ? t.bytes * experts.used / experts.count : t.bytes;
  const others = tensors.filter((t) => t !== embedding).reduce((sum, t) => sum + share(t), 0);
  const rows = embedding.dims.slice(1).reduce((a, b) => a * b, 1);
  return others + embedding.bytes / rows + (tied ? embedding.bytes : 0);
}

/**
 * Bytes per decode token of a tied-embedding model loaded from safetensors (the bench model, at
 * bf16 or quantized at load), from the engine's `weightBytes`, which counts the embedding matrix
 * once: that matrix is the lm_head, read whole, so the only bytes to add are the one embedding row
 * the token looks up, `hiddenSize` values of `embeddingDtype` (ModelInfo.dtype: "bf16", "q8_0", "q6_k", …).
 */
export function tiedBytesPerToken(weightBytes: number, embeddingDtype: string, hiddenSize: number): number {
  return weightBytes + ggmlTensorBytes(embeddingDtype.toUpperCase(), [hiddenSize]);
}
