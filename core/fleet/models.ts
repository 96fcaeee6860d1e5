/**
 * The neuron's model lifecycle contract: `GET /models` (available and loaded models),
 * `POST /models/load`, `POST /models/unload` and `GET /models/{id}/capabilities`.
 *
 * @module
 */
import { z } from "zod";
import { _zod } from "../_zod.ts";
import type { Schema } from "../schema.ts";
import { type PrefixCacheStats, PrefixCacheStatsSchema } from "./health.ts";
import { type ModelLimit, ModelLimitSchema } from "../openai/model_list.ts";

/** Residency of a model on a neuron. */
export type NeuronModelStatus = "available" | "loading" | "loaded" | "unloading" | "failed";

/** Progress of a load in flight (download, then weights to devices). */
export interface LoadProgress {
  /** `downloading` files from a hub, or `loading` weights onto devices. */
  phase: "downloading" | "loading";
  /** Bytes done so far. */
  done_bytes: number;
  /** Bytes in total, or null when unknown. */
  total_bytes: number | null;
  /** Files done. */
  files_done: number;
  /** Files in total, or null when unknown. */
  files_total: number | null;
}

/** One entry of `GET /models`. */
export interface NeuronModelInfo {
  /** Model id (the literal id it was configured or loaded under). */
  id: string;
  /** Residency. */
  status: NeuronModelStatus;
  /** Where its weights come from: a local folder, or a hub id `[scheme:]org/name`. */
  source: string | null;
  /** Device indexes holding it (empty unless loaded/loading). */
  devices: number[];
  /** Device memory it occupies in MB, or null when not loaded. */
  memory_used_mb: number | null;
  /** Estimated memory to load it in MB, or null when unknown. */
  memory_required_mb: number | null;
  /** Modalities (`text`, `vision`). */
  capabilities: string[];
  /** Token limits once known (after load, or from its config). */
  limit?: ModelLimit | null;
  /** The tokenizer/template support tool calls. */
  tool_call: boolean;
  /** The model emits reasoning (thinking) text. */
  reasoning: boolean;
  /** Architecture from `config.json`, e.g. `Qwen3ForCausalLM`. */
  architecture: string | null;
  /**
   * The weights' type as held in memory: `F32`, `BF16`, the main type of a GGUF file
   * (`Q8_0`, `Q4_K`, …) or the type quantized to at load; null until known.
   */
  weight_type?: string | null;
  /** Bytes of weights the engine reserved, once loaded. */
  weight_bytes?: number | null;
  /** Load progress while `loading`. */
  progress?: LoadProgress | null;
  /** Why the last load failed, when `failed`. */
  error?: { code: string; message: string } | null;
  /** The prefix cache's figures, once loaded (as in `/health`). */
  prefix_cache?: PrefixCacheStats | null;
  /** Once loaded: the weights still served from the mapped file while the engine moves them into its
   * faster layouts in the background (0 when done), and the seconds from the load's start until it was. */
  repack?: WeightRepack | null;
}

/** The engine's background repack of a loaded model's weights (`NeuronModelInfo.repack`). */
export interface WeightRepack {
  /** Weight bytes still served from the mapped file; 0 once every faster copy serves. */
  pending_bytes: number;
  /** Seconds from the load's start until nothing was pending; null while something is. */
  ready_seconds: number | null;
  /** True when it stopped on an error (those weights keep serving from the file, correctly but slower). */
  failed: boolean;
}

/** `POST /models/load` body. */
export interface LoadModelRequest {
  /** A configured id, or a hub id `[scheme:]org/name`. */
  model_id: string;
  /** Device indexes to use; more than one means tensor parallel. Absent: the neuron picks. */
  devices?: number[];
  /** KV context per sequence in tokens. */
  context_length?: number;
  /** KV slots (concurrent sequences). */
  max_sequences?: number;
  /** Quantisation tag, when the engine supports it. */
  quant?: string;
}

/** `POST /models/load` 200 body. Loading an already-loaded model is a success. */
export interface LoadModelResult {
  /** Always `loaded`. */
  status: "loaded";
  /** The id loaded. */
  model_id: string;
  /** True when it was already resident (nothing was done). */
  already_loaded: boolean;
  /** Devices holding it. */
  devices: number[];
  /** Memory it occupies in MB. */
  memory_used_mb: number | null;
  /** Wall time of the load in ms (0 when already loaded). */
  load_ms: number;
}

/** `POST /models/unload` body. */
export interface UnloadModelRequest {
  /** Model id. */
  model_id: string;
  /**
   * With in-flight requests: false (default) refuses with 409 `model_busy`; true waits
   * for them to finish (new requests are refused meanwhile) up to `timeout_ms`.
   */
  wait?: boolean;
  /** Longest wait in ms when `wait` is true. */
  timeout_ms?: number;
}

/** `POST /models/unload` 200 body. */
export interface UnloadModelResult {
  /** Always `unloaded`. */
  status: "unloaded";
  /** The id unloaded. */
  model_id: string;
  /** Memory released in MB. */
  memory_freed_mb: number | null;
}

/** `GET /models/{id}/capabilities` 200 body. */
export interface ModelCapabilities {
  /** Modalities. */
  capabilities: string[];
}

/** Schema of load progress. */
export const LoadProgressSchema: Schema<LoadProgress> = z.looseObject({
  phase: z.enum(["downloading", "loading"]),
  done_bytes: z.number().min(0),
  total_bytes: z.number().min(0).nullable(),
  files_done: z.number().int().min(0),
  files_total: z.number().int().min(0).nullable(),
});

/** Schema of the engine's background repack of a loaded model's weights. */
export const WeightRepackSchema: Schema<WeightRepack> = z.looseObject({
  pending_bytes: z.number().min(0),
  ready_seconds: z.number().min(0).nullable(),
  failed: z.boolean(),
});

/** Schema of a `GET /models` entry. */
export const NeuronModelInfoSchema: Schema<NeuronModelInfo> = z.looseObject({
  id: z.string(),
  status: z.enum(["available", "loading", "loaded", "unloading", "failed"]),
  source: z.string().nullable().default(null),
  devices: z.array(z.number().int().min(0)).default([]),
  memory_used_mb: z.number().min(0).nullable().default(null),
  memory_required_mb: z.number().min(0).nullable().default(null),
  capabilities: z.array(z.string()).default([]),
  limit: _zod(ModelLimitSchema).nullish(),
  tool_call: z.boolean().default(false),
  reasoning: z.boolean().default(false),
  architecture: z.string().nullable().default(null),
  weight_type: z.string().nullish(),
  weight_bytes: z.number().min(0).nullish(),
  progress: _zod(LoadProgressSchema).nullish(),
  error: z.looseObject({ code: z.string(), message: z.string() }).nullish(),
  prefix_cache: _zod(PrefixCacheStatsSchema).nullish(),
  repack: _zod(WeightRepackSchema).nullish(),
});

/** Schema of `GET /models` (a bare JSON array). */
export const NeuronModelListSchema: Schema<NeuronModelInfo[]> = z.array(_zod(NeuronModelInfoSchema));

/** Schema of a load request. */
export const LoadModelRequestSchema: Schema<LoadModelRequest> = z.looseObject({
  model_id: z.string().min(1),
  devices: z.array(z.number().int().min(0)).min(1).optional(),
  context_length: z.number().int().min(1).optional(),
  max_sequences: z.number().int().min(1).optional(),
  quant: z.string().optional(),
});

/** Schema of a load result. */
export const LoadModelResultSchema: Schema<LoadModelResult> = z.looseObject({
  status: z.literal("loaded"),
  model_id: z.string(),
  already_loaded: z.boolean().default(false),
  devices: z.array(z.number().int().min(0)).default([]),
  memory_used_mb: z.number().nullable().default(null),
  load_ms: z.number().min(0).default(0),
});

/** Schema of an unload request. */
export const UnloadModelRequestSchema: Schema<UnloadModelRequest> = z.looseObject({
  model_id: z.string().min(1),
  wait: z.boolean().optional(),
  timeout_ms: z.number().int().min(0).optional(),
});

/** Schema of an unload result. */
export const UnloadModelResultSchema: Schema<UnloadModelResult> = z.looseObject({
  status: z.literal("unloaded"),
  model_id: z.string(),
  memory_freed_mb: z.number().nullable().default(null),
});

/** Schema of a capabilities answer. */
export const ModelCapabilitiesSchema: Schema<ModelCapabilities> = z.looseObject({
  capabilities: z.array(z.string()),
});
