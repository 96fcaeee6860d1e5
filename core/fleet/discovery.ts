/**
 * `GET /discovery`: what a neuron host is (name, OS, backend) and which devices it
 * offers with their memory; cached by the gateway for placement decisions.
 *
 * @module
 */
import { z } from "zod";
import { _zod } from "../_zod.ts";
import type { Schema } from "../schema.ts";

/** Compute backend of a device. */
export type DeviceBackend = "cpu" | "cuda";

/** One device a neuron can place models on. */
export interface NeuronDevice {
  /** Device index used in load requests. */
  index: number;
  /** Human-readable name (GPU model, or `cpu0`). */
  name: string;
  /** Backend. */
  backend: DeviceBackend;
  /** Total memory (CPU devices: their configured budget), in MB. */
  memory_total_mb: number;
  /** CUDA compute capability such as `"8.9"`; null on CPU. */
  compute_capability: string | null;
  /** Worker threads (CPU devices), or null. */
  threads: number | null;
}

/** `GET /discovery` body. */
export interface NeuronDiscovery {
  /** Host name. */
  hostname: string;
  /** Operating system, e.g. `linux`. */
  os: string;
  /** Kernel release or `"unknown"`. */
  kernel: string;
  /** Devices on offer. */
  devices: NeuronDevice[];
  /** Why CUDA is unavailable when the plugin lacks it or the driver is missing; absent when fine. */
  cuda_unavailable_reason?: string | null;
  /** Largest prompt the neuron accepts by default, in tokens (0 = per-model limit only). */
  max_prompt_tokens: number;
}

/** Schema of a device entry. */
export const NeuronDeviceSchema: Schema<NeuronDevice> = z.looseObject({
  index: z.number().int().min(0),
  name: z.string(),
  backend: z.enum(["cpu", "cuda"]),
  memory_total_mb: z.number().min(0),
  compute_capability: z.string().nullable().default(null),
  threads: z.number().int().nullable().default(null),
});

/** Schema of `GET /discovery`. */
export const NeuronDiscoverySchema: Schema<NeuronDiscovery> = z.looseObject({
  hostname: z.string(),
  os: z.string().default("unknown"),
  kernel: z.string().default("unknown"),
  devices: z.array(_zod(NeuronDeviceSchema)),
  cuda_unavailable_reason: z.string().nullish(),
  max_prompt_tokens: z.number().int().min(0).default(0),
});
