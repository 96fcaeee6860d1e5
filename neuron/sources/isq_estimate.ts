/**
 * The weight bytes of a safetensors model quantized at load (ISQ): each matrix whose rows
 * split into whole blocks of the target type costs rows × row bytes of that type; every
 * other tensor is held in f32. `q4_k_m` is counted as Q4_K with the output, V and down
 * projections in Q6_K, an upper bound of llama.cpp's mix.
 *
 * @module
 */
import { fleetError } from "@cortex/core/fleet";
import { ISQ_QUANTS } from "./gguf_select.ts";
import type { SafetensorsTensor } from "./safetensors_header.ts";

const _BLOCKS: Readonly<Record<string, { elements: number; bytes: number }>> = {
  Q8_0: { elements: 32, bytes: 34 },
  Q4_0: { elements: 32, bytes: 18 },
  Q4_K: { elements: 256, bytes: 144 },
  Q5_K: { elements: 256, bytes: 176 },
  Q6_K: { elements: 256, bytes: 210 },
};

/**
 * The canonical ISQ type of a `quant` value (case and `_`/`-` ignored: `Q6K` → `q6_k`); anything
 * else is a 400 naming it and the supported ones.
 */
export function checkIsqQuant(quant: string): string {
  const wanted = quant.toLowerCase().replace(/[_-]/g, "");
  const found = ISQ_QUANTS.find((q) => q.replace(/_/g, "") === wanted);
  if (found === undefined) {
    throw fleetError(
      "invalid_request_body",
      `quant '${quant}' cannot be applied to safetensors weights (supported: ${ISQ_QUANTS.join(", ")})`,
      { param: "quant" },
    );
  }
  return found;
}

/** The ggml type a tensor gets under `quant`. */
function _targetType(name: string, quant: string): string {
  if (quant !== "q4_k_m") return quant.toUpperCase();
  return /lm_head|v_proj|down_proj/.test(name) ? "Q6_K" : "Q4_K";
}

/**
 * Estimated resident weight bytes of `tensors` quantized to `quant`.
 *
 * @example
 * ```ts
 * import { isqWeightBytes } from "./isq_estimate.ts";
 * isqWeightBytes([{ name: "w", dtype: "F32", shape: [64, 256] }], "q8_0"); // 64 × 8 × 34
 * ```
 */
export function isqWeightBytes(tensors: readonly SafetensorsTensor[], quant: string): number {
  const type = checkIsqQuant(quant);
  let bytes = 0;
  for (const t of tensors) {
    const elements = t.shape.reduce((a, b) => a * b, 1);
    const block = _BLOCKS[_targetType(t.name, type)];
    // A MoE router (`mlp.gate.weight`, Qwen3-MoE) stays in f32: the engine never quantizes it.
    const router = /\.mlp\.gate\.weight$/.test(t.name);
    if (t.shape.length === 2 && t.shape[1] % block.elements === 0 && !router) {
      bytes += t.shape[0] * (t.shape[1] / block.elements) * block.bytes;
    } else {
      bytes += elements * 4;
    }
  }
  return bytes;
}
