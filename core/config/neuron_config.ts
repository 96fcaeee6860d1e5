/**
 * The neuron's `neuron.toml` schema: listen address, bearer token, plugin path, devices
 * (CPU split and budget, CUDA selection), model sources (local Hugging Face folders, a
 * scanned models directory, hub ids), hub settings, default models and admission limits.
 *
 * @module
 */
import { z } from "zod";
import type { Schema } from "../schema.ts";
import { parseHubModelId } from "../fleet/model_id.ts";
import { _checkUnique, _httpUrl, _listenAddress, _logSection } from "./_common.ts";
import { _connectionsSchema } from "./_connections.ts";
import type { ConnectionsSection } from "./connections.ts";
import type { LogSection } from "./log_config.ts";

/** `[devices]`. */
export interface NeuronDevicesSection {
  /** Split the CPU into this many devices (default 1; 0 = no CPU device). */
  cpu_devices: number;
  /** Memory budget per CPU device in MB (null: physical RAM divided by `cpu_devices`). */
  cpu_memory_budget_mb: number | null;
  /** Worker threads per CPU device (null: cores divided by `cpu_devices`). */
  cpu_threads: number | null;
  /** CUDA devices to use: `"all"`, `"none"`, or a list of indexes (default `"all"`). */
  cuda: "all" | "none" | number[];
}

/** `[[models]]`: a model this neuron offers, from a local folder or a hub. */
export interface NeuronModelEntry {
  /** The id clients and the gateway use. */
  id: string;
  /**
   * A local Hugging Face folder (`config.json`, weights, tokenizer), a `.gguf` file (first
   * shard of a split file), or a folder of `.gguf` files; or null.
   */
  path: string | null;
  /** A hub id `[scheme:]org/name` to fetch into the cache, or null. */
  source: string | null;
  /** KV context per sequence in tokens (null: the model's, capped by the engine). */
  context_length: number | null;
  /** KV slots (null: engine default). */
  max_sequences: number | null;
  /** Device indexes to load on (null: the neuron picks). */
  devices: number[] | null;
  /**
   * Which `.gguf` of a folder or hub repository (`q6k` finds `…-Q6_K.gguf`), or the type to
   * quantize safetensors weights to at load (`q8_0`, `q4_0`, `q4_k`, `q5_k`, `q6_k`, `q4_k_m`);
   * a load request's `quant` wins. Null: the first `.gguf`, or the weights as stored.
   */
  quant: string | null;
}

/** `[hub]`: a Hugging Face-compatible registry. */
export interface NeuronHubSection {
  /** Base URL (default `https://huggingface.co`). */
  endpoint: string;
  /** Cache dir in hub layout; null: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`. */
  cache_dir: string | null;
  /** Env var holding the access token (default `HF_TOKEN`). */
  token_env: string;
  /** Never contact the hub; only cached snapshots load. */
  offline: boolean;
}

/** `[admission]`: per loaded model. */
export interface NeuronAdmissionSection {
  /** Requests decoding at once (batch slots; default 4). */
  max_in_flight: number;
  /** Requests waiting beyond those (default 16); more get 429 with `Retry-After`. */
  max_queue: number;
  /** Longest wait for a seat in seconds (default 30). */
  max_wait_s: number;
}

/** A model loaded at start, in the background after the listener is up. */
export interface NeuronDefaultModel {
  /** A `[[models]]` id, a folder name in `models_dir`, or a hub id. */
  model_id: string;
  /** Device indexes. */
  devices?: number[];
  /** KV context per sequence. */
  context_length?: number;
  /** KV slots. */
  max_sequences?: number;
  /** Which `.gguf` to load, or the ISQ type (as `[[models]] quant`). */
  quant?: string;
}

/** The whole `neuron.toml`. */
export interface NeuronConfig {
  /** `host:port` to listen on (default `0.0.0.0:13131`). */
  listen: string;
  /** Bearer token the gateway must send (null: none required). */
  token: string | null;
  /** Env var holding the bearer token instead of `token`. */
  token_env: string | null;
  /** Path of the native plugin (null: `cuda_plugin/build/libcortex_plugin.so`). */
  plugin: string | null;
  /** A folder whose sub-folders are Hugging Face model folders (id = folder name). */
  models_dir: string | null;
  /** Largest prompt accepted in tokens, on top of each model's context (null: per-model only). */
  max_prompt_tokens: number | null;
  /** Devices. */
  devices: NeuronDevicesSection;
  /** Configured models. */
  models: NeuronModelEntry[];
  /** Hub access. */
  hub: NeuronHubSection;
  /** Models loaded at start (strings are normalised to `{model_id}`). */
  default_models: NeuronDefaultModel[];
  /** Admission limits. */
  admission: NeuronAdmissionSection;
  /** The models' prefix caches. */
  prefix_cache: NeuronPrefixCacheSection;
  /** Client connection limits of the listener. */
  connections: ConnectionsSection;
  /** Seconds a failed load stays listed in `/models` (status `failed`, with its error) before it is dropped (default 60). */
  failed_load_ttl_s: number;
  /** Log format and level (request lines, loads). */
  log: LogSection;
}

/** `[prefix_cache]`: reuse of prompt prefixes the KV slots still hold, and of those kept in a block pool
 * after their slot was taken. */
export interface NeuronPrefixCacheSection {
  /** Start requests from the longest prompt prefix a KV slot or the pool holds (default true). */
  enabled: boolean;
  /** Device memory each loaded model's block pool may hold, in MB (default 1024; 0: no pool, slots only).
   * Reserved like model memory; blocks are dropped, least recently used first, before a load is refused
   * for memory or a model is evicted. Hybrid models keep no pool. */
  budget_mb: number;
}

const _hubId = z.string().refine((s) => parseHubModelId(s) !== null, {
  message: 'expected a hub id "[scheme:]org/name"',
});
const _deviceList = z.array(z.number().int().min(0)).min(1);

/** Schema of `neuron.toml` with its defaults. */
export const NeuronConfigSchema: Schema<NeuronConfig> = z.strictObject({
  listen: _listenAddress.default("0.0.0.0:13131"),
  token: z.string().min(1).nullish().transform((v) => v ?? null),
  token_env: z.string().min(1).nullish().transform((v) => v ?? null),
  plugin: z.string().min(1).nullish().transform((v) => v ?? null),
  models_dir: z.string().min(1).nullish().transform((v) => v ?? null),
  max_prompt_tokens: z.number().int().min(1).nullish().transform((v) => v ?? null),
  devices: z.strictObject({
    cpu_devices: z.number().int().min(0).max(256).default(1),
    cpu_memory_budget_mb: z.number().int().min(1).nullish().transform((v) => v ?? null),
    cpu_threads: z.number().int().min(1).nullish().transform((v) => v ?? null),
    cuda: z.union([z.enum(["all", "none"]), z.array(z.number().int().min(0))]).default("all"),
  }).prefault({}),
  models: z.array(z.strictObject({
    id: z.string().min(1),
    path: z.string().min(1).nullish().transform((v) => v ?? null),
    source: _hubId.nullish().transform((v) => v ?? null),
    context_length: z.number().int().min(1).nullish().transform((v) => v ?? null),
    max_sequences: z.number().int().min(1).nullish().transform((v) => v ?? null),
    devices: _deviceList.nullish().transform((v) => v ?? null),
    quant: z.string().min(1).nullish().transform((v) => v ?? null),
  })).default([]),
  hub: z.strictObject({
    endpoint: _httpUrl.default("https://huggingface.co"),
    cache_dir: z.string().min(1).nullish().transform((v) => v ?? null),
    token_env: z.string().min(1).default("HF_TOKEN"),
    offline: z.boolean().default(false),
  }).prefault({}),
  default_models: z.array(z.union([
    z.string().min(1).transform((model_id) => ({ model_id })),
    z.strictObject({
      model_id: z.string().min(1),
      devices: _deviceList.optional(),
      context_length: z.number().int().min(1).optional(),
      max_sequences: z.number().int().min(1).optional(),
      quant: z.string().min(1).optional(),
    }),
  ])).default([]),
  admission: z.strictObject({
    max_in_flight: z.number().int().min(1).default(4),
    max_queue: z.number().int().min(0).default(16),
    max_wait_s: z.number().gt(0).default(30),
  }).prefault({}),
  prefix_cache: z.strictObject({
    enabled: z.boolean().default(true),
    budget_mb: z.number().min(0).default(1024),
  }).prefault({}),
  connections: _connectionsSchema(4096),
  failed_load_ttl_s: z.number().min(0).default(60),
  log: _logSection,
}).superRefine((config, ctx) => {
  _checkUnique(config.models.map((m) => m.id), ["models"], "id", ctx);
  config.models.forEach((model, i) => {
    if ((model.path === null) === (model.source === null)) {
      ctx.addIssue({
        code: "custom",
        path: ["models", i],
        message: model.path === null
          ? "expected one of `path` (a local folder) or `source` (a hub id), got neither"
          : "expected one of `path` or `source`, got both",
      });
    }
  });
  if (config.token !== null && config.token_env !== null) {
    ctx.addIssue({
      code: "custom",
      path: ["token_env"],
      message: "expected `token` or `token_env`, got both",
    });
  }
  if (config.devices.cpu_devices === 0 && config.devices.cuda === "none") {
    ctx.addIssue({
      code: "custom",
      path: ["devices"],
      message: 'expected at least one device, got cpu_devices = 0 and cuda = "none"',
    });
  }
});
