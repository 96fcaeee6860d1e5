/**
 * The idle-unload policy, as plain data in and out: how long a model may stay loaded after
 * its last request (the request's `keep_alive`, else its profile's `ttl_s`, else `[eviction]
 * ttl_s`; pinned models never expire), and which residents are past that now. The scheduler
 * feeds it the fleet after every event and carries out what it says (`_scheduler_idle.ts`).
 *
 * @module
 */

/** What decides a model's time to live. */
export interface TtlSources {
  /** The last request's `keep_alive` in seconds (`Infinity`: keep), or null when it gave none. */
  keepAliveS: number | null;
  /** The profile's `ttl_s`, or null when it has none (or no profile). */
  profileTtlS: number | null;
  /** `[eviction] ttl_s`, or null. */
  defaultTtlS: number | null;
  /** The profile is pinned (`pinned_on`): never unloaded for idleness. */
  pinned: boolean;
}

/**
 * Seconds a model stays loaded once idle: `Infinity` when pinned or when nothing sets a time,
 * else the first of the request's keep-alive, the profile's and the default (negative: `Infinity`).
 *
 * @example
 * ```ts
 * import { effectiveTtlS } from "./idle.ts";
 * effectiveTtlS({ keepAliveS: null, profileTtlS: 5, defaultTtlS: 300, pinned: false }); // 5
 * effectiveTtlS({ keepAliveS: 0, profileTtlS: 5, defaultTtlS: null, pinned: true }); // Infinity
 * ```
 */
export function effectiveTtlS(sources: TtlSources): number {
  if (sources.pinned) return Infinity;
  const ttl = sources.keepAliveS ?? sources.profileTtlS ?? sources.defaultTtlS;
  return ttl === null || ttl < 0 ? Infinity : ttl;
}

/** One loaded model as the idle policy sees it. */
export interface IdleResident {
  /** Node name. */
  node: string;
  /** Model id as the neuron knows it. */
  modelId: string;
  /** Requests running or queued on it now. */
  inFlight: number;
  /** Since when it has been idle (epoch ms): its last request's end, its load, or when it was first seen idle. */
  idleSinceMs: number;
  /** Its time to live once idle, in seconds ({@linkcode effectiveTtlS}). */
  ttlS: number;
}

/** What the policy decided. */
export interface IdleDecision {
  /** Residents past their time to live: unload them. */
  due: IdleResident[];
  /** The earliest future moment another resident expires (epoch ms), or `Infinity`. */
  nextDeadlineMs: number;
}

/** Splits residents into those due for an idle unload now and the next deadline of the rest. */
export function idleDecision(residents: readonly IdleResident[], nowMs: number): IdleDecision {
  const due: IdleResident[] = [];
  let nextDeadlineMs = Infinity;
  for (const resident of residents) {
    if (resident.inFlight > 0 || resident.ttlS === Infinity) continue;
    const deadline = resident.idleSinceMs + resident.ttlS * 1000;
    if (deadline <= nowMs) due.push(resident);
    else nextDeadlineMs = Math.min(nextDeadlineMs, deadline);
  }
  return { due, nextDeadlineMs };
}
