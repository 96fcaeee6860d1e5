/**
 * The prefix cache of one loaded model: which tokens' keys and values each KV slot holds, so a new
 * request starts from the longest prefix of its prompt already computed instead of prefilling it
 * again. The cache lives in the slots themselves — a finished sequence's slot keeps its keys and
 * values until another sequence takes it — so it costs no memory beyond the model's KV cache: its
 * capacity is the model's `maxSequences` conversations, and it is dropped with the model (unload,
 * poisoning, reload). A free slot whose prefix matches is taken as it is when the request keeps
 * at least half of what it holds (a conversation's next turn); a shorter shared prefix, or one held
 * by a busy slot (concurrent sessions sharing a system prompt), is copied into another free slot
 * on the device. Free slots are reused empty first, then least recently used.
 *
 * The engine takes the plan through `Model.newSequence({ slot, sourceSlot, prefix })`; the
 * scheduler tells the cache what each step wrote (`append`) and when a sequence ends (`release`).
 *
 * @module
 */
import type { PrefixCacheStats } from "@cortex/core/fleet";
import type { PrefixBlockFigures, PrefixBlockPool } from "./prefix_blocks.ts";

/** Where a new request starts. */
export interface PrefixPlan {
  /** The free slot it takes. */
  slot: number;
  /** The slot holding the reused prefix (`slot` itself when it stays in place). */
  sourceSlot: number;
  /** Prompt tokens reused (0: none; at most prompt length − 1, so one token is always fed). */
  reuse: number;
  /** Pool blocks the reused prefix comes from instead of `sourceSlot` (empty: none); pinned until
   * {@linkcode PrefixCache.started}. */
  blocks: number[];
  /** Pool blocks to drop on the device first (the budget's evictions). */
  drop: number[];
  /** The taken slot's tokens to keep in the pool before it is overwritten: store slot positions
   * from `firstPosition` on into blocks `ids` (then drop, the sequence start). */
  spill: { slot: number; firstPosition: number; ids: number[] } | null;
}

/** Cumulative figures of a {@linkcode PrefixCache}. */
export interface PrefixCacheFigures {
  /** Requests planned. */
  lookups: number;
  /** Requests that reused at least one token. */
  hits: number;
  /** Prompt tokens looked up and reused, over all requests. */
  promptTokens: number;
  cachedTokens: number;
  /** Tokens whose keys and values the slots hold now (busy and free). */
  heldTokens: number;
  /** Times a free slot holding tokens was overwritten by an unrelated request. */
  evictions: number;
  /** Requests whose prefix came from the block pool. */
  poolHits: number;
  /** The block pool (null: none — configured off, or a hybrid model). */
  pool: PrefixBlockFigures | null;
}

interface _Slot {
  tokens: number[];
  busy: boolean;
  lastUsed: number;
  /** Snapshot mode: the position of the slot's state snapshot (-1: none). */
  snapshotAt: number;
}

/** Length of the common prefix of `a` and `b`. */
function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/**
 * Slot-resident prefix cache (see the module doc). With `enabled` false (a neuron configured
 * without it) plans never reuse tokens but still pick the least recently used free slot. With
 * `snapshots` (hybrid models, whose DeltaNet states are not kept per position) a slot's prefix is
 * reusable only up to where a snapshot of its states was taken (`snapshotted`), whole.
 *
 * @example
 * ```ts
 * import { PrefixCache } from "./prefix_cache.ts";
 * const cache = new PrefixCache(2);
 * const a = cache.plan([1, 2, 3, 4])!; // { slot: 0, sourceSlot: 0, reuse: 0 }
 * cache.append(a.slot, [1, 2, 3, 4]);
 * cache.release(a.slot);
 * cache.plan([1, 2, 3, 9])!.reuse; // 3
 * ```
 */
export class PrefixCache {
  readonly enabled: boolean;
  readonly snapshots: boolean;
  readonly #slots: _Slot[];
  readonly #pool: PrefixBlockPool | null;
  #clock = 0;
  #stats = { lookups: 0, hits: 0, promptTokens: 0, cachedTokens: 0, evictions: 0, poolHits: 0 };

  /** A cache over `slots` KV slots, all free and empty, with an optional block pool (not in snapshot mode). */
  constructor(slots: number, enabled = true, snapshots = false, pool: PrefixBlockPool | null = null) {
    this.enabled = enabled;
    this.snapshots = snapshots;
    this.#pool = enabled && !snapshots ? pool : null;
    this.#slots = Array.from(
      { length: slots },
      () => ({ tokens: [], busy: false, lastUsed: 0, snapshotAt: -1 }),
    );
  }

  /** The prefix of `prompt` slot `slot` can give: its common prefix, or in snapshot mode all of its
   * snapshot's tokens or nothing; never the whole prompt. */
  #reusable(slot: _Slot, prompt: readonly number[]): number {
    const common = Math.min(commonPrefix(slot.tokens, prompt), prompt.length - 1);
    if (!this.snapshots) return common;
    return slot.snapshotAt > 0 && common >= slot.snapshotAt ? slot.snapshotAt : 0;
  }

  /**
   * Plans a request for `prompt` and marks its slot busy; null when every slot is busy. The longest
   * reusable prefix wins; among equals a free slot (no copy), then the most recently used.
   */
  plan(prompt: readonly number[]): PrefixPlan | null {
    const free = this.#slots.map((_, i) => i).filter((i) => !this.#slots[i].busy);
    if (free.length === 0) return null;
    let source = -1;
    let reuse = 0;
    if (this.enabled) {
      this.#slots.forEach((slot, i) => {
        const length = this.#reusable(slot, prompt);
        const better = length > reuse ||
          (length === reuse && length > 0 &&
            (this.#slots[source].busy && !slot.busy ||
              this.#slots[source].busy === slot.busy && slot.lastUsed > this.#slots[source].lastUsed));
        if (better) [source, reuse] = [i, length];
      });
    }
    // The pool wins when it holds a longer prefix than any slot.
    let blocks: number[] = [];
    if (this.#pool) {
      const ids = this.#pool.match(prompt);
      if (ids.length * this.#pool.blockTokens > reuse) {
        [blocks, source, reuse] = [ids, -1, ids.length * this.#pool.blockTokens];
      } else this.#pool.unpin(ids);
    }
    // A free source is taken in place when the request keeps most of what it holds (a conversation's
    // next turn); a short shared prefix (a common system prompt, a chat opener) is copied instead, so
    // the longer conversation cached there survives.
    const others = free.filter((i) => i !== source);
    const inPlace = reuse > 0 && source >= 0 && !this.#slots[source].busy &&
      (2 * reuse >= this.#slots[source].tokens.length || others.length === 0);
    let slot: number;
    if (inPlace) slot = source;
    else {
      // The least recently used free slot; an empty one before any that holds tokens.
      slot = others.reduce((best, i) => {
        const [a, b] = [this.#slots[i], this.#slots[best]];
        const emptier = (a.tokens.length === 0) !== (b.tokens.length === 0);
        return (emptier ? a.tokens.length === 0 : a.lastUsed < b.lastUsed) ? i : best;
      });
    }
    const taken = this.#slots[slot];
    let spill: PrefixPlan["spill"] = null;
    let drop: number[] = [];
    // A slot overwritten by another conversation (or, when it is the only free one, kept in place for
    // less than half of what it holds) loses its contents: they go to the pool first (the blocks it lacks).
    if (taken.tokens.length > 0 && (slot !== source || 2 * reuse < taken.tokens.length)) {
      if (slot !== source) this.#stats.evictions++;
      if (this.#pool) {
        const kept = this.#pool.plan(taken.tokens);
        drop = kept.drop;
        if (kept.store) {
          spill = { slot, firstPosition: kept.store.first * this.#pool.blockTokens, ids: kept.store.ids };
        }
      }
    }
    taken.tokens = reuse > 0 ? prompt.slice(0, reuse) : [];
    // The engine gives the new slot the source's snapshot along with the prefix.
    taken.snapshotAt = this.snapshots && reuse > 0 ? reuse : -1;
    taken.busy = true;
    taken.lastUsed = ++this.#clock;
    this.#stats.lookups++;
    this.#stats.promptTokens += prompt.length;
    this.#stats.cachedTokens += reuse;
    if (reuse > 0) this.#stats.hits++;
    if (blocks.length > 0) this.#stats.poolHits++;
    return { slot, sourceSlot: reuse > 0 && source >= 0 ? source : slot, reuse, blocks, drop, spill };
  }

  /** The plan's sequence started (or failed to): its pool blocks are no longer pinned. */
  started(plan: PrefixPlan): void {
    this.#pool?.unpin(plan.blocks);
  }

  /** The device refused a plan's spill (out of memory): those blocks were not kept. Returns ids to drop
   * on the device (a tensor-parallel rank may have stored some). */
  spillFailed(plan: PrefixPlan): number[] {
    return plan.spill && this.#pool ? this.#pool.storeFailed(plan.spill.ids) : [];
  }

  /** Frees at least `bytes` of pool blocks for a model load; the ids to drop on the device. */
  reclaim(bytes: number): number[] {
    return this.#pool?.reclaim(bytes) ?? [];
  }

  /** Bytes the pool holds now (dropped first under memory pressure). */
  get poolBytes(): number {
    return this.#pool?.bytes ?? 0;
  }

  /** Records that a step wrote the keys and values of `tokens` after the slot's current ones. */
  append(slot: number, tokens: readonly number[]): void {
    const entry = this.#slots[slot];
    if (this.enabled) { for (const token of tokens) entry.tokens.push(token); }
    entry.lastUsed = ++this.#clock;
  }

  /** Snapshot mode: the slot's states were kept after its first `position` tokens. */
  snapshotted(slot: number, position: number): void {
    if (this.snapshots) this.#slots[slot].snapshotAt = position;
  }

  /** The slot's sequence ended; its tokens stay for later requests. */
  release(slot: number): void {
    const entry = this.#slots[slot];
    entry.busy = false;
    entry.lastUsed = ++this.#clock;
  }

  /** The slot's contents are unknown (its sequence failed mid-step): it is emptied and freed. */
  discard(slot: number): void {
    this.#slots[slot].tokens = [];
    this.#slots[slot].snapshotAt = -1;
    this.#slots[slot].busy = false;
  }

  /** The tokens slot `slot` holds (a copy). */
  tokensOf(slot: number): number[] {
    return [...this.#slots[slot].tokens];
  }

  /** Cumulative figures and what the slots hold now. */
  get stats(): PrefixCacheFigures {
    const heldTokens = this.#slots.reduce((sum, slot) => sum + slot.tokens.length, 0);
    return { ...this.#stats, heldTokens, pool: this.#pool?.stats ?? null };
  }
}

/**
 * The cache's figures as `/health` and `/models` report them (core's `PrefixCacheStats`), with
 * `kvBytesPerToken` the model's KV-cache bytes per token of one slot.
 */
export function prefixCacheReport(cache: PrefixCache, kvBytesPerToken: number): PrefixCacheStats {
  const s = cache.stats;
  return {
    enabled: cache.enabled,
    lookups: s.lookups,
    hits: s.hits,
    prompt_tokens: s.promptTokens,
    cached_tokens: s.cachedTokens,
    hit_rate: s.promptTokens === 0 ? 0 : Math.round((s.cachedTokens / s.promptTokens) * 1e4) / 1e4,
    held_tokens: s.heldTokens,
    held_bytes: Math.round(s.heldTokens * kvBytesPerToken),
    evictions: s.evictions,
    pool_hits: s.poolHits,
    pool_blocks: s.pool?.blocks ?? 0,
    pool_bytes: s.pool?.bytes ?? 0,
    pool_peak_bytes: s.pool?.peakBytes ?? 0,
    pool_budget_bytes: s.pool?.budgetBytes ?? 0,
    pool_evictions: s.pool?.evicted ?? 0,
    pool_reclaimed: s.pool?.reclaimed ?? 0,
  };
}
