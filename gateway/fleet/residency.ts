/**
 * Residency: the one state the gateway keeps per (node, model) — `loading`, `resident`,
 * `draining` (routed around until its requests end, then unloaded) or `unloading` — with the
 * bookkeeping that goes with it (devices, memory, load time, residency floor, last use,
 * requests in flight through this gateway). The scheduler owns every record; the admin view,
 * metrics and `/v1/models` read them. {@linkcode reconcile} folds a neuron's report into a
 * record, as a pure function.
 *
 * @module
 */
import type { NeuronModelInfo } from "@cortex/core/fleet";

/** Where a model stands on a node. */
export type ResidencyState = "loading" | "resident" | "draining" | "unloading";

/** One model on one node, as the scheduler tracks it (read-only outside the scheduler). */
export interface Residency {
  /** Model id as the neuron knows it. */
  readonly model: string;
  /** Its state. */
  readonly state: ResidencyState;
  /** True while an action of this gateway (a load, a drain or an unload) drives the state. */
  readonly ours: boolean;
  /** Device indices it occupies (empty while unknown). */
  readonly devices: readonly number[];
  /** Memory it occupies, in MB, or null when unknown. */
  readonly memoryMb: number | null;
  /** When it finished loading (epoch ms), or null when unknown (found loaded at the first poll). */
  readonly loadedAtMs: number | null;
  /** Until when placement may not evict it (epoch ms; null: no floor). See `thrash.ts`. */
  readonly protectedUntilMs: number | null;
  /** When a request through this gateway last used it (epoch ms), or null. */
  readonly lastUsedMs: number | null;
  /**
   * When the gateway first saw it, or last saw requests on it from elsewhere (epoch ms): the start
   * of its idleness when the gateway saw neither its load nor a request of its own.
   */
  readonly seenAtMs: number;
  /** Requests in flight on it through this gateway now (the live count replica choice uses). */
  readonly leases: number;
  /**
   * Seconds the last request asked it to stay loaded once idle (`keep_alive`; `Infinity`: keep),
   * or null when none asked (the profile's `ttl_s` applies).
   */
  readonly keepAliveS: number | null;
}

/** A mutable record (the scheduler's own). */
export type MutableResidency = { -readonly [K in keyof Residency]: Residency[K] };

/** A fresh record. */
export function newResidency(
  model: string,
  state: ResidencyState,
  ours: boolean,
  nowMs: number,
): MutableResidency {
  return {
    model,
    state,
    ours,
    seenAtMs: nowMs,
    devices: [],
    memoryMb: null,
    loadedAtMs: null,
    protectedUntilMs: null,
    lastUsedMs: null,
    leases: 0,
    keepAliveS: null,
  };
}

/** What else {@linkcode reconcile} needs to know. */
export interface ReconcileContext {
  /** Poll time (epoch ms). */
  nowMs: number;
  /** The node's first successful poll: a model found loaded has an unknown age. */
  firstPoll: boolean;
  /** The residency floor a model found newly loaded gets, in ms. */
  floorMs: number;
}

/**
 * The record after a neuron reported `reported` (undefined: not listed) for it: a load or an
 * unload of this gateway's own is left to finish; otherwise the neuron's word is taken — loaded
 * becomes `resident`, loading `loading`, unloading `unloading`, anything else no record (null).
 * Requests in flight keep a record alive as `resident` only while the neuron still lists it loaded.
 */
export function reconcile(
  current: MutableResidency | undefined,
  reported: NeuronModelInfo | undefined,
  ctx: ReconcileContext,
): MutableResidency | null {
  if (current?.ours) {
    // Our own load or unload is under way; its answer settles the record. Sizes are news though.
    if (reported?.status === "loaded" && current.state !== "unloading") _sizes(current, reported);
    return current;
  }
  const status = reported?.status;
  if (status === "loaded") {
    const record = current ?? newResidency(reported!.id, "resident", false, ctx.nowMs);
    if (!current || current.state !== "resident") {
      record.loadedAtMs = ctx.firstPoll ? null : ctx.nowMs;
      record.protectedUntilMs = ctx.firstPoll ? null : ctx.nowMs + ctx.floorMs;
    }
    record.state = "resident";
    _sizes(record, reported!);
    return record;
  }
  if (status === "loading") {
    const record = current ?? newResidency(reported!.id, "loading", false, ctx.nowMs);
    record.state = "loading";
    return record;
  }
  if (status === "unloading") {
    const record = current ?? newResidency(reported!.id, "unloading", false, ctx.nowMs);
    record.state = "unloading";
    return record;
  }
  return null;
}

function _sizes(record: MutableResidency, reported: NeuronModelInfo): void {
  if (reported.devices.length > 0) record.devices = [...reported.devices];
  record.memoryMb = reported.memory_used_mb ?? reported.memory_required_mb ?? record.memoryMb;
}
