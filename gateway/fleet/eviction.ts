/**
 * Victim selection on one node: which devices a model would use there and which resident
 * models must go first to make room — by `lru` or `priority`, never a model with requests in
 * flight, never more than needed, and never a model still inside its residency floor
 * (`min_residency_s`, stretched by hysteresis: see `thrash.ts`); when only such models stand in
 * the way, the answer says when waiting will do. Pure functions over {@linkcode NodeView} snapshots.
 *
 * @module
 */
import type { EvictionPolicy, ModelRequirement, NodeView, ResidentModel } from "./types.ts";

/** A resident chosen for eviction. */
export interface Victim {
  /** Model id. */
  id: string;
  /** Memory it frees, in MB. */
  memoryMb: number;
  /** Devices it frees memory on. */
  devices: number[];
  /** Its residency class. */
  priority: number;
  /** Inside its residency floor (never true for a plan's victims; kept for the placement view). */
  young: boolean;
  /** The strategy that chose it. */
  reason: "lru" | "priority";
}

/** Where a model would go on one node, and what would have to leave. */
export interface NodeFit {
  /** It fits (possibly after evictions). */
  ok: true;
  /** Node name. */
  node: string;
  /** Devices it would be loaded on. */
  devices: number[];
  /** Models to unload first, in order; empty when it fits in free memory. */
  victims: Victim[];
  /** Free memory on the chosen devices after the evictions, before the load, in MB. */
  freeAfterMb: number;
}

/** Why a model cannot go on one node. */
export interface NodeMisfit {
  /** It does not fit. */
  ok: false;
  /** Node name. */
  node: string;
  /** True when no amount of waiting or evicting helps (too few or too small devices, pinning). */
  permanent: boolean;
  /** True when waiting helps (blocked by requests in flight, loads under way or residency floors). */
  transient: boolean;
  /**
   * When the residency floors of the models in the way have run out far enough for it to fit
   * (epoch ms), or null when floors are not what blocks it (or waiting for them does not help).
   */
  retryAtMs: number | null;
  /** Waiting helps at a moment nobody knows: requests in flight, loads under way, devices not yet known. */
  blockedByWork: boolean;
  /** Why, in words naming the numbers and the blocking models. */
  reason: string;
}

/** The outcome of {@linkcode fitOnNode}. */
export type NodePlan = NodeFit | NodeMisfit;

/** Memory the model needs on each device it spans, in MB. */
export function perDeviceNeedMb(req: ModelRequirement): number {
  return Math.ceil(req.memoryMb / Math.max(1, req.minDevices));
}

/** Words for the model's need: `24000 MB on one device` or `12000 MB on each of 2 devices`. */
export function describeNeed(req: ModelRequirement): string {
  const per = perDeviceNeedMb(req);
  return req.minDevices <= 1 ? `${per} MB on one device` : `${per} MB on each of ${req.minDevices} devices`;
}

/**
 * Picks `count` devices among `eligible` with at least `needMb` free, best fit first (the
 * fullest device that still fits), so that large holes stay free for large models.
 * Returns null when fewer than `count` fit.
 */
export function pickDevices(
  free: ReadonlyMap<number, number>,
  eligible: readonly number[],
  needMb: number,
  count: number,
): number[] | null {
  const fitting = eligible.filter((index) => (free.get(index) ?? 0) >= needMb);
  if (fitting.length < count) return null;
  fitting.sort((a, b) => (free.get(a) ?? 0) - (free.get(b) ?? 0) || a - b);
  return fitting.slice(0, count).sort((a, b) => a - b);
}

/**
 * The moment a resident's residency floor ends (epoch ms): its `protectedUntilMs` when the
 * scheduler set one, else its load time plus `min_residency_s`; null when its age is unknown.
 */
export function protectedUntilMs(m: ResidentModel, policy: EvictionPolicy): number | null {
  if (m.protectedUntilMs !== undefined) return m.protectedUntilMs;
  return m.loadedAtMs === null ? null : m.loadedAtMs + policy.minResidencySeconds * 1000;
}

/** Orders eviction candidates by the strategy: lower classes first (`priority`), then least recently used. */
export function victimOrder(
  policy: EvictionPolicy,
  _nowMs: number,
): (a: ResidentModel, b: ResidentModel) => number {
  const lastUse = (m: ResidentModel): number => m.lastUsedMs ?? m.loadedAtMs ?? 0;
  return (a, b) =>
    (policy.strategy === "priority" ? a.priority - b.priority : 0) ||
    lastUse(a) - lastUse(b) ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * Plans a model onto one node: the devices it would use and the minimal ordered set of
 * residents to unload first, or why it cannot go there.
 *
 * @example
 * ```ts
 * import { fitOnNode } from "./eviction.ts";
 * const plan = fitOnNode(
 *   { name: "a", healthy: true, discovered: true, devices: [{ index: 0, totalMb: 100, freeMb: 10 }],
 *     residents: [{ id: "old", status: "loaded", devices: [0], memoryMb: 90, inFlight: 0,
 *       lastUsedMs: 1, loadedAtMs: 1, priority: 100 }] },
 *   { id: "new", memoryMb: 50, minDevices: 1, minDeviceMemoryMb: null, pinnedOn: [], priority: 100 },
 *   { strategy: "lru", minResidencySeconds: 0 },
 *   Date.now(),
 * );
 * plan.ok && plan.victims.map((v) => v.id); // ["old"]
 * ```
 */
export function fitOnNode(
  node: NodeView,
  req: ModelRequirement,
  policy: EvictionPolicy,
  nowMs: number,
): NodePlan {
  const misfit = (
    reason: string,
    permanent: boolean,
    transient = false,
    retryAtMs: number | null = null,
    blockedByWork = transient && retryAtMs === null,
  ): NodeMisfit => ({ ok: false, node: node.name, permanent, transient, retryAtMs, blockedByWork, reason });
  if (req.pinnedOn.length > 0 && !req.pinnedOn.includes(node.name)) {
    return misfit(`'${req.id}' is pinned on ${req.pinnedOn.map((n) => `'${n}'`).join(", ")}`, true);
  }
  if (req.excludedNodes?.includes(node.name)) {
    return misfit(`it does not offer '${req.id}'`, true);
  }
  if (!node.discovered) return misfit("its devices are not known yet", false, true);
  const need = perDeviceNeedMb(req);
  const minTotal = Math.max(need, req.minDeviceMemoryMb ?? 0);
  const eligible = node.devices.filter((d) => d.totalMb >= minTotal).map((d) => d.index);
  if (eligible.length < Math.max(1, req.minDevices)) {
    const largest = Math.max(0, ...node.devices.map((d) => d.totalMb));
    return misfit(
      req.minDevices <= 1
        ? `its largest device has ${largest} MB in all`
        : `it has ${eligible.length} device${eligible.length === 1 ? "" : "s"} of at least ${minTotal} MB`,
      true,
    );
  }
  const count = Math.max(1, req.minDevices);
  const free = new Map(node.devices.map((d) => [d.index, d.freeMb]));
  const direct = pickDevices(free, eligible, need, count);
  if (direct) {
    return { ok: true, node: node.name, devices: direct, victims: [], freeAfterMb: _sum(free, direct) };
  }

  const { candidates, busy, outranked, loading, young } = _classify(node, req, policy, eligible, nowMs);
  candidates.sort(victimOrder(policy, nowMs));
  const chosen: ResidentModel[] = [];
  let devices: number[] | null = null;
  for (const candidate of candidates) {
    chosen.push(candidate);
    devices = pickDevices(_freeAfter(free, chosen), eligible, need, count);
    if (devices) break;
  }
  if (!devices) {
    const largestFree = Math.max(0, ...eligible.map((i) => _freeAfter(free, candidates).get(i) ?? 0));
    const retryAtMs = _floorsEnd(free, eligible, need, count, candidates, young, policy);
    const blockers = [
      ...busy.map((m) => `'${m.id}' has ${m.inFlight} request${m.inFlight === 1 ? "" : "s"} in flight`),
      ...outranked.map((m) => `'${m.id}' (class ${m.priority}) outranks class ${req.priority}`),
      ...loading.map((m) => `'${m.id}' is ${m.status}`),
      ...young.map((m) =>
        `'${m.id}' stays resident for ${
          Math.ceil(((protectedUntilMs(m, policy) ?? nowMs) - nowMs) / 1000)
        } s more (min_residency_s)`
      ),
    ];
    const evictable = candidates.length > 0 ? " after evicting every eligible model" : "";
    return misfit(
      `the largest free is ${largestFree} MB${evictable}` +
        (blockers.length > 0 ? ` (${blockers.join("; ")})` : ""),
      false,
      busy.length > 0 || loading.length > 0 || retryAtMs !== null,
      retryAtMs,
      busy.length > 0 || loading.length > 0,
    );
  }
  // Never more than needed: drop any chosen victim whose eviction turns out unnecessary,
  // trying the least preferred victims first.
  for (let i = chosen.length - 1; i >= 0; i--) {
    const without = chosen.filter((_, j) => j !== i);
    const fit = pickDevices(_freeAfter(free, without), eligible, need, count);
    if (fit) {
      chosen.splice(i, 1);
      devices = fit;
    }
  }
  const after = _freeAfter(free, chosen);
  return {
    ok: true,
    node: node.name,
    devices,
    freeAfterMb: _sum(after, devices),
    victims: chosen.map((m) => ({
      id: m.id,
      memoryMb: m.memoryMb,
      devices: [...m.devices],
      priority: m.priority,
      young: false,
      reason: policy.strategy,
    })),
  };
}

function _classify(
  node: NodeView,
  req: ModelRequirement,
  policy: EvictionPolicy,
  eligible: number[],
  nowMs: number,
): {
  candidates: ResidentModel[];
  busy: ResidentModel[];
  outranked: ResidentModel[];
  loading: ResidentModel[];
  young: ResidentModel[];
} {
  const candidates: ResidentModel[] = [];
  const busy: ResidentModel[] = [];
  const outranked: ResidentModel[] = [];
  const loading: ResidentModel[] = [];
  const young: ResidentModel[] = [];
  for (const m of node.residents) {
    if (m.id === req.id || !m.devices.some((d) => eligible.includes(d))) continue;
    if (m.status === "loading" || m.status === "unloading") loading.push(m);
    else if (m.status !== "loaded") continue;
    else if (m.inFlight > 0) busy.push(m);
    else if (policy.strategy === "priority" && m.priority > req.priority) outranked.push(m);
    else if ((protectedUntilMs(m, policy) ?? -Infinity) > nowMs) young.push(m);
    else candidates.push(m);
  }
  return { candidates, busy, outranked, loading, young };
}

// The first moment at which evicting the candidates plus the residents whose floors have run
// out by then makes room, or null when even all of them would not.
function _floorsEnd(
  free: ReadonlyMap<number, number>,
  eligible: readonly number[],
  need: number,
  count: number,
  candidates: readonly ResidentModel[],
  young: readonly ResidentModel[],
  policy: EvictionPolicy,
): number | null {
  const byEnd = [...young].sort((a, b) =>
    (protectedUntilMs(a, policy) ?? 0) - (protectedUntilMs(b, policy) ?? 0)
  );
  const gone = [...candidates];
  for (const m of byEnd) {
    gone.push(m);
    if (pickDevices(_freeAfter(free, gone), eligible, need, count)) return protectedUntilMs(m, policy);
  }
  return null;
}

function _freeAfter(
  free: ReadonlyMap<number, number>,
  evicted: readonly ResidentModel[],
): Map<number, number> {
  const out = new Map(free);
  for (const m of evicted) {
    const share = m.devices.length > 0 ? m.memoryMb / m.devices.length : 0;
    for (const d of m.devices) out.set(d, (out.get(d) ?? 0) + share);
  }
  return out;
}

function _sum(free: ReadonlyMap<number, number>, devices: readonly number[]): number {
  return devices.reduce((acc, d) => acc + (free.get(d) ?? 0), 0);
}
