/**
 * The gateway's `cortex.toml` schema: listeners and API keys, eviction strategy, poller
 * timing, cold-load timeouts and the neurons of the fleet. Defaults live here.
 *
 * @module
 */
import { z } from "zod";
import type { Schema } from "../schema.ts";
import { _checkUnique, _httpUrl, _listenAddress, _logSection } from "./_common.ts";
import { _connectionsSchema } from "./_connections.ts";
import type { ConnectionsSection } from "./connections.ts";
import type { LogSection } from "./log_config.ts";

/** An API key clients present as `Authorization: Bearer` or `x-api-key`. */
export interface GatewayKey {
  /** Label used in logs and metrics (never the secret). */
  name: string;
  /** The secret. */
  key: string;
  /** Model ids or aliases this key may use; empty means all. */
  models: string[];
  /** May call the admin routes. */
  admin: boolean;
  /**
   * Loads that evict another model (swaps) this key's requests may cause per hour; absent or
   * null: no limit. Past it, a request that would swap is refused with 429 `swap_budget_exceeded`.
   */
  max_swaps_per_hour?: number | null;
}

/** `[gateway]`. */
export interface GatewaySection {
  /** API listener `host:port` (default `0.0.0.0:31313`). */
  listen: string;
  /** Prometheus listener `host:port` (default `0.0.0.0:31314`). */
  metrics_listen: string;
  /** Largest request body in MB (default 32; base64 images need room). */
  body_limit_mb: number;
  /** Upstream idle read timeout in seconds, reset by every chunk (default 300). */
  upstream_idle_timeout_s: number;
  /**
   * Longest wait for a neuron's response headers on a streamed call, in seconds (default 60).
   * The neuron sends them once the request holds a seat, before the prefill: the wait covers
   * its tokenization and its queue (`[admission] max_wait_s`, 30 s by default), not the prefill
   * or the generation.
   */
  upstream_header_timeout_s: number;
  /** Deadline of a whole non-streamed neuron call, headers and body, in seconds (default 600). */
  upstream_total_timeout_s: number;
  /**
   * Connections to one neuron at most (default 32): inference calls beyond it wait for one to
   * come free (within `upstream_header_timeout_s`); idle ones are kept for reuse.
   */
  upstream_max_connections: number;
  /** API keys; when empty, no key is needed. */
  keys: GatewayKey[];
}

/** `[eviction]`. */
export interface EvictionSection {
  /** `lru`: least recently used first; `priority`: residency classes, then LRU (default `lru`). */
  strategy: "lru" | "priority";
  /** After this many load/unload cycles on a node, ask it to release and reload residents; 0 disables. */
  defrag_after_cycles: number;
  /**
   * A model loaded less than this many seconds ago is not evicted to make room (default 60; 0:
   * no floor). The floor doubles while a node keeps swapping, up to 8×.
   */
  min_residency_s: number;
  /**
   * The longest a request waits for room (a residency floor to end, requests in flight on a
   * model that must go, loads under way) before it is refused with 503 and Retry-After, in
   * seconds (default 30). A floor that ends later than this is refused at once.
   */
  max_wait_s: number;
  /**
   * Seconds a model stays loaded after its last request when its profile sets no `ttl_s`
   * (0: unloaded as soon as it is idle; negative or null: never unloaded for idleness; default null).
   */
  ttl_s: number | null;
}

/** `[poller]`. */
export interface PollerSection {
  /** Seconds between polls of each neuron (default 10). */
  interval_s: number;
  /** Per-request timeout in seconds (default 5). */
  timeout_s: number;
  /** Consecutive failed polls before a node is unhealthy (default 2: a dead node is out of rotation within two poll intervals). */
  unhealthy_after: number;
}

/** `[cold_load]`: timeout = min(max_s, base_s + per_gb_s × model GB). */
export interface ColdLoadSection {
  /** Fixed part of the timeout in seconds (default 60). */
  base_s: number;
  /** Seconds added per GB of model memory (default 30). */
  per_gb_s: number;
  /** Ceiling in seconds (default 1800). */
  max_s: number;
}

/** `[[neurons]]`: one node of the fleet. */
export interface NeuronEntry {
  /** Node name (labels, `pinned_on`). */
  name: string;
  /** Base URL, e.g. `http://10.0.0.5:13131`. */
  endpoint: string;
  /** Bearer token the neuron requires, if any. */
  token: string | null;
  /** Env var holding that token instead of `token` (the gateway may read only this name). */
  token_env: string | null;
}

/** The whole `cortex.toml`. */
export interface CortexConfig {
  /** Path of the model catalogue (default `models.toml`, relative to `cortex.toml`). */
  models_config: string;
  /** Listeners and keys. */
  gateway: GatewaySection;
  /** Eviction policy. */
  eviction: EvictionSection;
  /** Poller timing. */
  poller: PollerSection;
  /** Cold-load timeouts. */
  cold_load: ColdLoadSection;
  /** The fleet, polled in this order. */
  neurons: NeuronEntry[];
  /** Client connection limits of the API listener. */
  connections: ConnectionsSection;
  /** Log format and level (request lines, node health changes). */
  log: LogSection;
}

const _gateway = z.strictObject({
  listen: _listenAddress.default("0.0.0.0:31313"),
  metrics_listen: _listenAddress.default("0.0.0.0:31314"),
  body_limit_mb: z.number().min(1).default(32),
  upstream_idle_timeout_s: z.number().min(1).default(300),
  upstream_header_timeout_s: z.number().gt(0).default(60),
  upstream_total_timeout_s: z.number().gt(0).default(600),
  upstream_max_connections: z.number().int().min(1).default(32),
  keys: z.array(z.strictObject({
    name: z.string().min(1),
    key: z.string().min(8),
    models: z.array(z.string()).default([]),
    admin: z.boolean().default(false),
    max_swaps_per_hour: z.number().int().min(0).nullish().transform((n) => n ?? null),
  })).default([]),
});

/** Schema of `cortex.toml` with its defaults. */
export const CortexConfigSchema: Schema<CortexConfig> = z.strictObject({
  models_config: z.string().min(1).default("models.toml"),
  gateway: _gateway.prefault({}),
  eviction: z.strictObject({
    strategy: z.enum(["lru", "priority"]).default("lru"),
    defrag_after_cycles: z.number().int().min(0).default(0),
    min_residency_s: z.number().min(0).default(60),
    max_wait_s: z.number().min(0).default(30),
    ttl_s: z.number().nullish().transform((v) => v ?? null),
  }).prefault({}),
  poller: z.strictObject({
    interval_s: z.number().gt(0).default(10),
    timeout_s: z.number().gt(0).default(5),
    unhealthy_after: z.number().int().min(1).default(2),
  }).prefault({}),
  cold_load: z.strictObject({
    base_s: z.number().min(0).default(60),
    per_gb_s: z.number().min(0).default(30),
    max_s: z.number().gt(0).default(1800),
  }).prefault({}),
  neurons: z.array(z.strictObject({
    name: z.string().min(1),
    endpoint: _httpUrl,
    token: z.string().nullish().transform((t) => t ?? null),
    token_env: z.string().min(1).nullish().transform((t) => t ?? null),
  })).default([]),
  connections: _connectionsSchema(256),
  log: _logSection,
}).superRefine((config, ctx) => {
  config.neurons.forEach((neuron, i) => {
    if (neuron.token !== null && neuron.token_env !== null) {
      ctx.addIssue({
        code: "custom",
        path: ["neurons", i, "token_env"],
        message: "expected `token` or `token_env`, got both",
      });
    }
  });
  _checkUnique(config.neurons.map((n) => n.name), ["neurons"], "name", ctx);
  _checkUnique(config.gateway.keys.map((k) => k.name), ["gateway", "keys"], "name", ctx);
  _checkUnique(config.gateway.keys.map((k) => k.key), ["gateway", "keys"], "key", ctx, true);
});

/** Cold-load timeout in ms for a model needing `memoryMb`, per `[cold_load]`. */
export function coldLoadTimeoutMs(section: ColdLoadSection, memoryMb: number | null): number {
  const gb = Math.max(0, memoryMb ?? 0) / 1024;
  return Math.round(Math.min(section.max_s, section.base_s + section.per_gb_s * gb) * 1000);
}
