/**
 * Swap-thrash protection as plain policy: how long a model the scheduler loads is kept from
 * eviction (its residency floor: `min_residency_s`, doubled for each swap that follows the
 * node's previous one closely — hysteresis — up to {@linkcode MAX_FLOOR_DOUBLINGS} times), and
 * per-key swap budgets (`[[gateway.keys]] max_swaps_per_hour`) over a sliding hour. Nothing
 * here reads a clock: every answer takes `nowMs`.
 *
 * @module
 */

/** How many times a node's residency floor may double while it keeps swapping (8 × `min_residency_s`). */
export const MAX_FLOOR_DOUBLINGS = 3;

/** The window of a swap budget, in ms. */
export const SWAP_BUDGET_WINDOW_MS = 3_600_000;

/** A node's recent swaps, as the hysteresis needs them. */
export interface SwapStreak {
  /** Doublings in force (0 … {@linkcode MAX_FLOOR_DOUBLINGS}). */
  doublings: number;
  /** When the node last swapped (epoch ms), or null. */
  lastSwapMs: number | null;
}

/** A node that has not swapped yet. */
export const NO_STREAK: SwapStreak = { doublings: 0, lastSwapMs: null };

/** The residency floor in ms for a node's streak: `min_residency_s` × 2^doublings. */
export function residencyFloorMs(minResidencyMs: number, streak: SwapStreak): number {
  return minResidencyMs * 2 ** streak.doublings;
}

/**
 * The node's streak after a swap at `nowMs`: one more doubling when it comes within twice the
 * floor in force of the node's previous swap (the models were wanted alternately), else back to
 * none.
 *
 * @example
 * ```ts
 * import { afterSwap, NO_STREAK, residencyFloorMs } from "./thrash.ts";
 * const first = afterSwap(NO_STREAK, 60_000, 0); // { doublings: 0, lastSwapMs: 0 }
 * const second = afterSwap(first, 60_000, 61_000); // within 120 s: { doublings: 1, … }
 * residencyFloorMs(60_000, second); // 120000
 * ```
 */
export function afterSwap(streak: SwapStreak, minResidencyMs: number, nowMs: number): SwapStreak {
  const close = streak.lastSwapMs !== null &&
    nowMs - streak.lastSwapMs < 2 * residencyFloorMs(minResidencyMs, streak);
  return {
    doublings: close ? Math.min(MAX_FLOOR_DOUBLINGS, streak.doublings + 1) : 0,
    lastSwapMs: nowMs,
  };
}

/** A budget's answer: go ahead, or not before `retryAtMs`. */
export type BudgetAnswer = { ok: true } | { ok: false; retryAtMs: number; limit: number };

/** Swaps per API key over the last hour, against each key's `max_swaps_per_hour`. */
export class SwapBudgets {
  readonly #limits: ReadonlyMap<string, number>;
  readonly #swaps = new Map<string, number[]>();

  /** `limits`: key name → swaps allowed per hour (keys not named: unlimited). */
  constructor(limits: ReadonlyMap<string, number>) {
    this.#limits = limits;
  }

  /** Whether a request with `key` (null: no key) may cause a swap now. */
  check(key: string | null, nowMs: number): BudgetAnswer {
    const limit = key === null ? undefined : this.#limits.get(key);
    if (limit === undefined || key === null) return { ok: true };
    const recent = this.#recent(key, nowMs);
    if (recent.length < limit) return { ok: true };
    // The oldest swap that keeps the count at the limit leaves the window first.
    const leaving = recent[recent.length - limit] ?? nowMs;
    return { ok: false, retryAtMs: leaving + SWAP_BUDGET_WINDOW_MS, limit };
  }

  /** Counts a swap against `key` (null: nothing to count). */
  record(key: string | null, nowMs: number): void {
    if (key === null || !this.#limits.has(key)) return;
    this.#recent(key, nowMs).push(nowMs);
  }

  /** Swaps counted against `key` in the hour before `nowMs`. */
  used(key: string, nowMs: number): number {
    return this.#recent(key, nowMs).length;
  }

  #recent(key: string, nowMs: number): number[] {
    const list = this.#swaps.get(key) ?? [];
    const kept = list.filter((t) => nowMs - t < SWAP_BUDGET_WINDOW_MS);
    this.#swaps.set(key, kept);
    return kept;
  }
}
