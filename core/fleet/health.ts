/**
 * `GET /health`: a neuron's liveness and load right now — device memory, default-model
 * activation progress, and per loaded model its queue, rejections and throughput. It is
 * answered from cached values and never waits behind inference.
 *
 * @module
 */
import { z } from "zod";
import { _zod } from "../_zod.ts";
import type { Schema } from "../schema.ts";

/** Memory and activity of one device now. */
export interface DeviceHealth {
  /** Device index. */
  index: number;
  /** Total memory in MB. */
  memory_total_mb: number;
  /** Used memory in MB. */
  memory_used_mb: number;
  /** Free memory in MB, counting the prefix-cache blocks held there (dropped before a load is refused). */
  memory_free_mb: number;
  /** Of `memory_free_mb`, the prefix-cache blocks the device holds now (absent from older neurons). */
  prefix_cache_mb?: number;
  /** Utilisation in percent, or null when unknown. */
  utilization_pct: number | null;
  /** Temperature in °C, or null when unknown. */
  temp_c: number | null;
  /** Set when the device hit an unrecoverable fault. */
  poisoned: boolean;
}

/** Progress of loading `default_models` after start. */
export interface ActivationState {
  /** `pre_warming` while default models load, then `ready`. */
  state: "pre_warming" | "ready";
  /** Ids waiting. */
  pending: string[];
  /** Id loading now. */
  in_progress: string | null;
  /** Ids loaded. */
  completed: string[];
  /** Ids that failed, with why. */
  failed: { model_id: string; error: string }[];
}

/** Load figures for one loaded model. Counters are cumulative since its load. */
export interface ModelLoadStats {
  /** Model id. */
  id: string;
  /** Requests running now. */
  in_flight: number;
  /** Requests waiting for a seat. */
  queue_depth: number;
  /** Seat limit. */
  max_in_flight: number;
  /** Queue limit. */
  max_queue: number;
  /** Requests rejected because the queue was full. */
  rejected_queue_full: number;
  /** Requests rejected because they waited too long. */
  rejected_timeout: number;
  /** Requests completed. */
  completed: number;
  /** Requests whose client went away mid-generation (their KV slot was freed at once). */
  cancelled?: number;
  /** Parsed tool calls that named a tool the request did not offer (never sent under that name). */
  tool_calls_unoffered?: number;
  /** Of those, the calls renamed to the one offered tool their argument keys fit. */
  tool_calls_repaired?: number;
  /** Moving average prefill speed in tokens/s (0 before the first sample). */
  tok_s_prefill: number;
  /** Moving average decode speed in tokens/s (0 before the first sample). */
  tok_s_decode: number;
  /** The model's prefix cache (absent from neurons that predate it). */
  prefix_cache?: PrefixCacheStats;
}

/** A loaded model's prefix cache: prompt prefixes its KV slots still hold, reused by later requests. */
export interface PrefixCacheStats {
  /** False for models that cannot reuse a prefix (hybrids) or when configured off. */
  enabled: boolean;
  /** Requests looked up. */
  lookups: number;
  /** Requests that reused at least one token. */
  hits: number;
  /** Prompt tokens looked up, cumulative. */
  prompt_tokens: number;
  /** Prompt tokens reused instead of prefilled, cumulative. */
  cached_tokens: number;
  /** cached_tokens ÷ prompt_tokens (0 before any request). */
  hit_rate: number;
  /** Tokens the slots hold now. */
  held_tokens: number;
  /** KV-cache bytes those tokens occupy (inside the model's KV reservation). */
  held_bytes: number;
  /** Free slots holding tokens that an unrelated request overwrote. */
  evictions: number;
  /** Requests whose prefix came from the block pool (prefixes kept after their slot was overwritten). */
  pool_hits?: number;
  /** Blocks the pool holds now. */
  pool_blocks?: number;
  /** Device bytes the pool holds now (counted as free device memory: dropped before a load is refused). */
  pool_bytes?: number;
  /** The most bytes the pool held since load; never above `pool_budget_bytes`. */
  pool_peak_bytes?: number;
  /** The pool's budget (`[prefix_cache] budget_mb`; 0: no pool). */
  pool_budget_bytes?: number;
  /** Blocks dropped to stay within the budget. */
  pool_evictions?: number;
  /** Blocks dropped to make room for a model load. */
  pool_reclaimed?: number;
}

/** `GET /health` body. */
export interface NeuronHealth {
  /** `ok`, or `draining` after SIGTERM. */
  status: "ok" | "draining";
  /** Seconds since start. */
  uptime_secs: number;
  /** Devices now. */
  devices: DeviceHealth[];
  /** Default-model activation. */
  activation: ActivationState;
  /** Per loaded model. */
  models: ModelLoadStats[];
}

const _count = z.number().int().min(0).default(0);

/** Schema of a device health entry. */
export const DeviceHealthSchema: Schema<DeviceHealth> = z.looseObject({
  index: z.number().int().min(0),
  memory_total_mb: z.number().min(0).default(0),
  memory_used_mb: z.number().min(0).default(0),
  memory_free_mb: z.number().min(0).default(0),
  prefix_cache_mb: z.number().min(0).optional(),
  utilization_pct: z.number().nullable().default(null),
  temp_c: z.number().nullable().default(null),
  poisoned: z.boolean().default(false),
});

/** Schema of the activation state. */
export const ActivationStateSchema: Schema<ActivationState> = z.looseObject({
  state: z.enum(["pre_warming", "ready"]).default("ready"),
  pending: z.array(z.string()).default([]),
  in_progress: z.string().nullable().default(null),
  completed: z.array(z.string()).default([]),
  failed: z.array(z.looseObject({ model_id: z.string(), error: z.string() })).default([]),
});

/** Schema of a model's prefix-cache figures. */
export const PrefixCacheStatsSchema: Schema<PrefixCacheStats> = z.looseObject({
  enabled: z.boolean(),
  lookups: _count,
  hits: _count,
  prompt_tokens: _count,
  cached_tokens: _count,
  hit_rate: z.number().min(0).max(1).default(0),
  held_tokens: _count,
  held_bytes: _count,
  evictions: _count,
  pool_hits: _count,
  pool_blocks: _count,
  pool_bytes: _count,
  pool_peak_bytes: _count,
  pool_budget_bytes: _count,
  pool_evictions: _count,
  pool_reclaimed: _count,
});

/** Schema of per-model load figures; everything but `id` defaults to 0 so older neurons parse. */
export const ModelLoadStatsSchema: Schema<ModelLoadStats> = z.looseObject({
  id: z.string(),
  in_flight: _count,
  queue_depth: _count,
  max_in_flight: _count,
  max_queue: _count,
  rejected_queue_full: _count,
  rejected_timeout: _count,
  completed: _count,
  cancelled: _count,
  tool_calls_unoffered: _count,
  tool_calls_repaired: _count,
  tok_s_prefill: z.number().min(0).default(0),
  tok_s_decode: z.number().min(0).default(0),
  prefix_cache: _zod(PrefixCacheStatsSchema).optional(),
});

/** Schema of `GET /health`. */
export const NeuronHealthSchema: Schema<NeuronHealth> = z.looseObject({
  status: z.enum(["ok", "draining"]).default("ok"),
  uptime_secs: z.number().min(0).default(0),
  devices: z.array(_zod(DeviceHealthSchema)).default([]),
  activation: _zod(ActivationStateSchema).default({
    state: "ready",
    pending: [],
    in_progress: null,
    completed: [],
    failed: [],
  }),
  models: z.array(_zod(ModelLoadStatsSchema)).default([]),
});
