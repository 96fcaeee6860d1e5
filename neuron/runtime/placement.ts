/**
 * Where a model goes and what a failed load means: the memory a load needs (weights plus
 * the KV cache for its slots), the device picked for it, and engine load errors mapped to
 * the neuron's error codes — an over-budget load is a 507 with the numbers, not an OOM.
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import { fleetError } from "@cortex/core/fleet";
import { type DeviceInfo, PluginError } from "../devices/mod.ts";
import type { ModelFolderInfo } from "../sources/model_folder.ts";

const _MB = 2 ** 20;
const _DEFAULT_CONTEXT_CAP = 4096;

/** Memory a load needs, in bytes. */
export interface MemoryNeed {
  /** Weights (file sizes). */
  weights: number;
  /** KV cache for every slot (f32 upper bound). */
  kv: number;
  /** Both. */
  total: number;
}

/** The context per sequence when a load names none: the model's `max_position_embeddings`, at most 4096. */
export function defaultContextLength(maxPositionEmbeddings: number | null): number {
  return Math.min(maxPositionEmbeddings ?? _DEFAULT_CONTEXT_CAP, _DEFAULT_CONTEXT_CAP);
}

/** Estimates the memory a folder (or a config's sizes) needs with `maxSequences` slots of `contextLength` tokens. */
export function estimateNeed(
  folder: Pick<ModelFolderInfo, "weightBytes" | "kvBytesPerToken" | "stateBytesPerSequence">,
  contextLength: number,
  maxSequences: number,
): MemoryNeed {
  const kv = (folder.kvBytesPerToken * contextLength + (folder.stateBytesPerSequence ?? 0)) * maxSequences;
  return { weights: folder.weightBytes, kv, total: folder.weightBytes + kv };
}

/**
 * The devices for a load: the requested ones when given (each must exist among `devices`),
 * else the healthy device with the most free memory, preferring those where `needBytes` fits.
 */
export function pickDevices(
  devices: readonly DeviceInfo[],
  requested: readonly number[] | null | undefined,
  needBytes: number,
): number[] {
  if (requested && requested.length > 0) {
    requested.forEach((index, i) => {
      if (!devices.some((d) => d.index === index)) {
        const known = devices.map((d) => d.index).join(", ") || "none";
        throw new CortexError(`devices[${i}]: no usable device ${index} on this neuron (devices: ${known})`, {
          code: "invalid_request_body",
          status: 400,
          param: `devices[${i}]`,
        });
      }
    });
    return [...requested];
  }
  const usable = devices.filter((d) => !d.poisoned);
  if (usable.length === 0) throw fleetError("backend_unavailable", "this neuron has no usable device");
  const fitting = usable.filter((d) => d.memoryFreeBytes >= needBytes);
  const pool = fitting.length > 0 ? fitting : usable;
  return [pool.reduce((best, d) => (d.memoryFreeBytes > best.memoryFreeBytes ? d : best)).index];
}

/** Maps an engine load failure on `device` (described by `info`) to a neuron error. */
export function loadErrorToCortex(
  error: unknown,
  modelId: string,
  need: MemoryNeed,
  device: number,
  info: DeviceInfo | undefined,
): CortexError {
  if (!(error instanceof PluginError)) {
    return fleetError("model_load_failed", (error as Error).message ?? String(error));
  }
  switch (error.code) {
    case "out_of_memory": {
      const free = info ? Math.floor(info.memoryFreeBytes / _MB) : 0;
      return fleetError(
        "insufficient_memory",
        `model '${modelId}' does not fit in the memory of device ${device}: ${error.message}`,
        { extras: { required_mb: Math.ceil(need.total / _MB), available_mb: free, device } },
      );
    }
    case "bad_model":
    case "not_found":
      return fleetError("bad_model_folder", `model '${modelId}': ${error.message}`);
    case "unsupported_architecture":
      return fleetError("unsupported_architecture", `model '${modelId}': ${error.message}`);
    case "invalid_argument":
      return new CortexError(`model '${modelId}': ${error.message}`, {
        code: "invalid_request_body",
        status: 400,
      });
    case "device_poisoned":
      return fleetError("backend_unavailable", `device ${device} is faulty: ${error.message}`);
    default:
      return fleetError("model_load_failed", `model '${modelId}': ${error.message}`);
  }
}
