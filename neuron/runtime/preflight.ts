/**
 * Refuses a hub load before its weights download when `config.json` alone shows the model cannot fit:
 * its weights (counted from the config, see `sources/config_weights.ts`) plus its KV cache exceed the
 * free memory of every usable device. A user learns in a second, not after tens of GB, that the model
 * needs a bigger device, a `quant` or a shorter context.
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import { fleetError } from "@cortex/core/fleet";
import type { DeviceInfo } from "../devices/mod.ts";
import { textConfig } from "../sources/config_shape.ts";
import { checkpointDtype, configWeightBytes, configWeights } from "../sources/config_weights.ts";
import { checkIsqQuant } from "../sources/isq_estimate.ts";
import { kvBytesPerToken, sequenceStateBytes } from "../sources/hybrid_layers.ts";
import { defaultContextLength, estimateNeed, type MemoryNeed } from "./placement.ts";

const _MB = 2 ** 20;

/** What the load asks for. */
export interface PreflightLoad {
  /** The model id, for the message. */
  modelId: string;
  /** ISQ type to quantize to at load, or null. */
  quant: string | null;
  /** Context per sequence asked for; null: the default for the model's `max_position_embeddings`. */
  contextLength: number | null;
  /** KV slots. */
  maxSequences: number;
  /** The neuron's devices. */
  devices: readonly DeviceInfo[];
  /** Devices asked for (their memory together holds the model), or null: any one device. */
  requested: readonly number[] | null | undefined;
}

/**
 * The memory a load of `config` needs, or null when the config cannot say: an architecture the
 * estimate does not know, or a pre-quantized checkpoint (`quantization_config`). Weights are counted
 * at the checkpoint dtype (bf16 when undeclared) or at `quant` (q4_k_m as plain Q4_K). The engine holds
 * norms and routers in f32 and mixes in Q6_K, so this is at most what it reserves, for matrices whose
 * rows split into whole blocks (isq_estimate counts any other as f32, where the engine keeps Q8_0 or
 * the file's type; the four published configs under testdata/configs have none).
 */
export function configNeed(
  config: Record<string, unknown>,
  quant: string | null,
  contextLength: number,
  maxSequences: number,
): MemoryNeed | null {
  if (config.quantization_config != null || textConfig(config).quantization_config != null) return null;
  let weights: number;
  try {
    const isq = quant === null ? null : checkIsqQuant(quant);
    const storage = isq === null ? checkpointDtype(config) ?? "bf16" : isq === "q4_k_m" ? "q4_k" : isq;
    weights = configWeightBytes(configWeights(config), storage);
  } catch (error) {
    if (error instanceof CortexError && error.status < 500) return null; // the engine will judge it
    throw error;
  }
  const text = textConfig(config);
  const sizes = {
    weightBytes: weights,
    kvBytesPerToken: kvBytesPerToken(text),
    stateBytesPerSequence: sequenceStateBytes(text),
  };
  return estimateNeed(sizes, contextLength, maxSequences);
}

/**
 * Throws a 507 `insufficient_memory` naming the estimate and the free memory when a load of `config`
 * fits on no usable device (or, with `requested`, not in those devices' memory together); returns
 * quietly when it may fit or the config cannot say.
 *
 * @example
 * ```ts ignore
 * await downloadSnapshot({ ...options, onConfig: (config) => refuseUnfittingConfig(config, load) });
 * ```
 */
export function refuseUnfittingConfig(config: Record<string, unknown>, load: PreflightLoad): void {
  const maxPositions = textConfig(config).max_position_embeddings;
  const context = load.contextLength ??
    defaultContextLength(typeof maxPositions === "number" ? maxPositions : null);
  const need = configNeed(config, load.quant, context, load.maxSequences);
  if (need === null) return;
  const wanted = load.requested && load.requested.length > 0 ? load.requested : null;
  const pool = wanted
    ? load.devices.filter((d) => wanted.includes(d.index))
    : load.devices.filter((d) => !d.poisoned);
  if (pool.length === 0) return; // placement names the missing device
  const best = pool.reduce((a, d) => (d.memoryFreeBytes > a.memoryFreeBytes ? d : a));
  const available = wanted ? pool.reduce((sum, d) => sum + d.memoryFreeBytes, 0) : best.memoryFreeBytes;
  if (need.total <= available) return;
  const mb = (bytes: number): number => Math.ceil(bytes / _MB);
  const where = wanted
    ? `devices ${pool.map((d) => d.index).join(", ")} have ${Math.floor(available / _MB)} MB free together`
    : `the most free on one device is ${Math.floor(available / _MB)} MB (device ${best.index})`;
  const weightsAs = load.quant === null ? "" : ` quantized to ${load.quant}`;
  throw fleetError(
    "insufficient_memory",
    `model '${load.modelId}' needs at least ${mb(need.total)} MB (weights${weightsAs} ${
      mb(need.weights)
    } MB ` +
      `from its config.json, KV cache ${mb(need.kv)} MB for ${load.maxSequences} sequences × ${context} ` +
      `tokens); ${where}; refused before downloading its weights`,
    {
      extras: { required_mb: mb(need.total), available_mb: Math.floor(available / _MB), device: best.index },
    },
  );
}
