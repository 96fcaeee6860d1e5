/**
 * The gateway's admin API, shared by the gateway's routes and the CLI: `GET /admin/fleet`
 * (every node and the models it holds), `POST /admin/load`, `POST /admin/unload` and
 * `GET /admin/placement` (a dry run of where a model would go), plus the public
 * `GET /health` document. Answers tolerate fields added later (they are kept).
 *
 * @module
 */
import { z } from "zod";
import { _zod } from "../_zod.ts";
import type { Schema } from "../schema.ts";
import { type LoadProgress, LoadProgressSchema, type NeuronModelStatus } from "./models.ts";

/** Paths of the gateway's admin API. */
export const ADMIN_ROUTES = {
  fleet: "/admin/fleet",
  load: "/admin/load",
  unload: "/admin/unload",
  placement: "/admin/placement",
} as const;

/** How the gateway picks models to evict (`[gateway] eviction` in `cortex.toml`). */
export type AdminEvictionStrategy = "lru" | "priority";

/** One device of a node in `GET /admin/fleet`. */
export interface AdminDevice {
  /** Device index on its node. */
  index: number;
  /** Device name as discovered, or null before discovery. */
  name: string | null;
  /** Total memory in MB. */
  total_mb: number;
  /** Free memory in MB at the last poll. */
  free_mb: number;
}

/** One model on a node in `GET /admin/fleet`. */
export interface AdminFleetModel {
  /** Public model id (the catalogue's name for it). */
  id: string;
  /**
   * Residency on this node as the gateway's scheduler holds it (`loaded` for resident;
   * `draining` while an admin unload waits for its requests; `unloading` while the gateway
   * unloads it), else what the neuron reports.
   */
  status: NeuronModelStatus | "draining";
  /** Device indexes holding it. */
  devices: number[];
  /** Memory it occupies (or would need) in MB, or null when unknown. */
  memory_mb: number | null;
  /** Requests in flight on the neuron. */
  in_flight: number;
  /** Requests in flight through this gateway. */
  gateway_in_flight: number;
  /** Requests queued on the neuron. */
  queue_depth: number;
  /** Recent decode rate in tokens/s, or null when unknown. */
  decode_tok_s: number | null;
  /** Residency class (`residency_priority`). */
  class: number;
  /** Seconds since its last request through this gateway, or null when none. */
  last_used_s_ago: number | null;
  /** Seconds it stays loaded once idle (its keep-alive / `ttl_s`), or null: never unloaded for idleness. */
  keep_alive_s: number | null;
  /** Seconds since it was loaded, or null when unknown. */
  loaded_s_ago: number | null;
  /** Seconds it stays protected from eviction (its residency floor); 0 when none. */
  protected_s?: number;
  /** Load progress while `loading`, else null. */
  progress: LoadProgress | null;
  /** Why its last load failed, when `failed`, else null. */
  error: { code: string; message: string } | null;
}

/** One node in `GET /admin/fleet`. */
export interface AdminFleetNode {
  /** Node name (`[[neurons]] name`). */
  name: string;
  /** Neuron URL. */
  endpoint: string;
  /** Whether it receives traffic. */
  healthy: boolean;
  /** Whether it is being drained. */
  draining: boolean;
  /** Polls failed in a row. */
  consecutive_poll_failures: number;
  /** Milliseconds since the last successful poll, or null before the first. */
  last_poll_ms_ago: number | null;
  /** The last poll's error, or null. */
  last_error: string | null;
  /** Host name from discovery, or null before discovery. */
  hostname: string | null;
  /** `cpu`, `cuda`, `cpu,cuda`, or null before discovery. */
  backend: string | null;
  /** Neuron uptime in seconds, or null before the first poll. */
  uptime_s: number | null;
  /** Load/unload cycles since its last defragmentation. */
  cycles_since_defrag: number;
  /** The residency floor a model loaded here now would get, in seconds (`min_residency_s`, doubled by hysteresis). */
  residency_floor_s?: number;
  /** Devices with their memory. */
  devices: AdminDevice[];
  /** Models it reports. */
  models: AdminFleetModel[];
}

/** `GET /admin/fleet`: the fleet as the gateway sees it. */
export interface AdminFleet {
  /** Eviction strategy. */
  strategy: AdminEvictionStrategy;
  /** Seconds a model stays before it may be evicted. */
  min_residency_s: number;
  /** The longest a request waits for room, in seconds. */
  max_wait_s?: number;
  /** Models the gateway is cold-loading now. */
  loading: string[];
  /** Requests waiting in the gateway's queue for room now. */
  queued?: number;
  /** Nodes in config order. */
  nodes: AdminFleetNode[];
}

/** `POST /admin/load` and `POST /admin/unload` body. */
export interface AdminModelRequest {
  /** Model id or alias. */
  model: string;
  /** Only this node; absent or null: the gateway chooses (load) or every node holding it (unload). */
  node?: string | null;
}

/** `POST /admin/load` 200 body. */
export interface AdminLoadResult {
  /** The model id (aliases resolved). */
  model: string;
  /** The node now holding it. */
  node: string;
  /** Nothing had to be done. */
  already_loaded: boolean;
  /** Time the neuron spent loading, in ms. */
  load_ms: number;
  /** Time the request waited, in ms. */
  waited_ms: number;
  /** Models evicted to make room. */
  evicted: string[];
}

/** `POST /admin/unload` 200 body. */
export interface AdminUnloadResult {
  /** The model id (aliases resolved). */
  model: string;
  /** Nodes it was unloaded from. */
  unloaded_from: string[];
}

/** A model a placement would evict. */
export interface AdminPlacementVictim {
  /** Public model id. */
  model: string;
  /** Memory it frees in MB. */
  memory_mb: number;
  /** Its residency class. */
  class: number;
  /** Whether it is younger than `min_residency_s`. */
  young: boolean;
  /** Why it was chosen: the eviction strategy. */
  reason: AdminEvictionStrategy;
}

/** One node's plan in `GET /admin/placement`: where on it the model fits, or why not. */
export type AdminPlacementNode =
  | {
    /** Node name. */
    node: string;
    /** Healthy and not draining. */
    healthy: boolean;
    /** The model fits (perhaps after evictions). */
    fits: true;
    /** Device indexes it would use. */
    devices: number[];
    /** Models it would evict. */
    evict: AdminPlacementVictim[];
  }
  | {
    /** Node name. */
    node: string;
    /** Healthy and not draining. */
    healthy: boolean;
    /** The model does not fit. */
    fits: false;
    /** It never will (too little memory in all), rather than not now. */
    permanent: boolean;
    /** Why, in words. */
    reason: string;
  };

/** What `GET /admin/placement` says about every request for the model. */
export interface AdminPlacementBase {
  /** The id asked for. */
  requested: string;
  /** The model id (aliases resolved). */
  model: string;
  /** Memory it needs in MB. */
  need_mb: number;
  /** Devices it needs at least. */
  min_devices: number;
  /** Its residency class. */
  class: number;
  /** Eviction strategy. */
  strategy: AdminEvictionStrategy;
  /** Nodes holding it loaded. */
  loaded_on: string[];
  /** Every node's plan. */
  nodes: AdminPlacementNode[];
}

/**
 * `GET /admin/placement?model=…`: where the model would go and what would be evicted, without
 * acting — `route` to a node holding it, `load` on a node (evicting `evict`), or `refuse`.
 */
export type AdminPlacement =
  & AdminPlacementBase
  & (
    | {
      /** Served by a node holding it. */
      action: "route";
      /** That node. */
      node: string;
      /** Always empty. */
      evict: AdminPlacementVictim[];
    }
    | {
      /** Cold-loaded. */
      action: "load";
      /** The node it would load on. */
      node: string;
      /** The devices it would use. */
      devices: number[];
      /** Models evicted first. */
      evict: AdminPlacementVictim[];
    }
    | {
      /** Refused. */
      action: "refuse";
      /** The refusal's error code. */
      code: string;
      /** Why, in words. */
      reason: string;
      /** Seconds after which it may succeed, or null when it will not without operator action. */
      retry_after_s?: number | null;
    }
  );

/** A node's problem in the public `GET /health` document. */
export interface GatewayHealthNode {
  /** Node name. */
  node: string;
  /** Whether it is draining (else it is unhealthy). */
  draining: boolean;
  /** The last poll's error, or null. */
  error: string | null;
}

/** A model that failed to load on a healthy node, in `GET /health`. */
export interface GatewayHealthUnservable {
  /** Node name. */
  node: string;
  /** Public model id. */
  model: string;
  /** The load failure's code, or null. */
  reason: string | null;
}

/** The public `GET /health` document of the gateway (always 200). */
export interface GatewayHealth {
  /** `ok` when every node answers, `impaired` when some node or load failed, `degraded` when none is healthy. */
  status: "ok" | "impaired" | "degraded";
  /** Healthy and total node counts. */
  nodes: { healthy: number; total: number };
  /** Nodes not taking traffic; absent when none. */
  unhealthy?: GatewayHealthNode[];
  /** Models failed on healthy nodes; absent when none. */
  unservable?: GatewayHealthUnservable[];
}

const _strategy = z.enum(["lru", "priority"]);

/** Schema of an {@linkcode AdminDevice}. */
export const AdminDeviceSchema: Schema<AdminDevice> = z.looseObject({
  index: z.number().int().min(0),
  name: z.string().nullable(),
  total_mb: z.number(),
  free_mb: z.number(),
});

/** Schema of an {@linkcode AdminFleetModel}. */
export const AdminFleetModelSchema: Schema<AdminFleetModel> = z.looseObject({
  id: z.string(),
  status: z.enum(["available", "loading", "loaded", "unloading", "failed", "draining"]),
  devices: z.array(z.number().int().min(0)),
  memory_mb: z.number().nullable(),
  in_flight: z.number().int().min(0),
  gateway_in_flight: z.number().int().min(0),
  queue_depth: z.number().int().min(0),
  decode_tok_s: z.number().nullable(),
  class: z.number(),
  last_used_s_ago: z.number().nullable(),
  keep_alive_s: z.number().nullable().default(null),
  loaded_s_ago: z.number().nullable(),
  protected_s: z.number().min(0).optional(),
  progress: _zod(LoadProgressSchema).nullable(),
  error: z.looseObject({ code: z.string(), message: z.string() }).nullable(),
});

/** Schema of an {@linkcode AdminFleetNode}. */
export const AdminFleetNodeSchema: Schema<AdminFleetNode> = z.looseObject({
  name: z.string(),
  endpoint: z.string(),
  healthy: z.boolean(),
  draining: z.boolean(),
  consecutive_poll_failures: z.number().int().min(0),
  last_poll_ms_ago: z.number().nullable(),
  last_error: z.string().nullable(),
  hostname: z.string().nullable(),
  backend: z.string().nullable(),
  uptime_s: z.number().nullable(),
  cycles_since_defrag: z.number().int().min(0),
  residency_floor_s: z.number().min(0).optional(),
  devices: z.array(_zod(AdminDeviceSchema)),
  models: z.array(_zod(AdminFleetModelSchema)),
});

/** Schema of `GET /admin/fleet`. */
export const AdminFleetSchema: Schema<AdminFleet> = z.looseObject({
  strategy: _strategy,
  min_residency_s: z.number().min(0),
  max_wait_s: z.number().min(0).optional(),
  loading: z.array(z.string()),
  queued: z.number().int().min(0).optional(),
  nodes: z.array(_zod(AdminFleetNodeSchema)),
});

/** Schema of the `POST /admin/load` and `/admin/unload` body. */
export const AdminModelRequestSchema: Schema<AdminModelRequest> = z.looseObject({
  model: z.string().min(1),
  node: z.string().min(1).nullish(),
});

/** Schema of the `POST /admin/load` answer. */
export const AdminLoadResultSchema: Schema<AdminLoadResult> = z.looseObject({
  model: z.string(),
  node: z.string(),
  already_loaded: z.boolean(),
  load_ms: z.number().min(0),
  waited_ms: z.number().min(0),
  evicted: z.array(z.string()),
});

/** Schema of the `POST /admin/unload` answer. */
export const AdminUnloadResultSchema: Schema<AdminUnloadResult> = z.looseObject({
  model: z.string(),
  unloaded_from: z.array(z.string()),
});

const _victim = z.looseObject({
  model: z.string(),
  memory_mb: z.number(),
  class: z.number(),
  young: z.boolean(),
  reason: _strategy,
});

const _placementNode = z.discriminatedUnion("fits", [
  z.looseObject({
    node: z.string(),
    healthy: z.boolean(),
    fits: z.literal(true),
    devices: z.array(z.number().int().min(0)),
    evict: z.array(_victim),
  }),
  z.looseObject({
    node: z.string(),
    healthy: z.boolean(),
    fits: z.literal(false),
    permanent: z.boolean(),
    reason: z.string(),
  }),
]);

const _placementBase = {
  requested: z.string(),
  model: z.string(),
  need_mb: z.number(),
  min_devices: z.number().int().min(0),
  class: z.number(),
  strategy: _strategy,
  loaded_on: z.array(z.string()),
  nodes: z.array(_placementNode),
};

/** Schema of `GET /admin/placement`. */
export const AdminPlacementSchema: Schema<AdminPlacement> = z.discriminatedUnion("action", [
  z.looseObject({ ..._placementBase, action: z.literal("route"), node: z.string(), evict: z.array(_victim) }),
  z.looseObject({
    ..._placementBase,
    action: z.literal("load"),
    node: z.string(),
    devices: z.array(z.number().int().min(0)),
    evict: z.array(_victim),
  }),
  z.looseObject({
    ..._placementBase,
    action: z.literal("refuse"),
    code: z.string(),
    reason: z.string(),
    retry_after_s: z.number().nullable().optional(),
  }),
]);

/** Schema of the gateway's `GET /health`. */
export const GatewayHealthSchema: Schema<GatewayHealth> = z.looseObject({
  status: z.enum(["ok", "impaired", "degraded"]),
  nodes: z.looseObject({ healthy: z.number().int().min(0), total: z.number().int().min(0) }),
  unhealthy: z.array(z.looseObject({ node: z.string(), draining: z.boolean(), error: z.string().nullable() }))
    .optional(),
  unservable: z.array(z.looseObject({ node: z.string(), model: z.string(), reason: z.string().nullable() }))
    .optional(),
});
