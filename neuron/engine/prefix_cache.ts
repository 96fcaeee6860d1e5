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

/** Where a new request starts. */
export interface PrefixPlan {
  /** The free slot it takes. */
  slot: number;
  /** The slot holding the reused prefix (`slot` itself when it stays in place). */
  sourceSlot: number;
  /** Prompt tokens reused (0: none; at most prompt length − 1, so one token is always fed). */
  reuse: number;
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
  #clock = 0;
  #stats = { lookups: 0, hits: 0, promptTokens: 0, cachedTokens: 0, evictions: 0 };

  /** A cache over `slots` KV slots, all free and empty. */
  constructor(slots: number, enabled = true, snapshots = false) {
    this.enabled = enabled;
    this.snapshots = snapshots;
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
    // A free source is taken in place when the request keeps most of what it holds (a conversation's
    // next turn); a short shared prefix (a common system prompt, a chat opener) is copied instead, so
    // the longer conversation cached there survives.
    const others = free.filter((i) => i !== source);
    const inPlace = reuse > 0 && !this.#slots[source].busy &&
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
    if (slot !== source && taken.tokens.length > 0) this.#stats.evictions++;
    taken.tokens = reuse > 0 ? this.#slots[source].tokens.slice(0, reuse) : [];
    // The engine gives the new slot the source's snapshot along with the prefix.
    taken.snapshotAt = this.snapshots && reuse > 0 ? reuse : -1;
    taken.busy = true;
    taken.lastUsed = ++this.#clock;
    this.#stats.lookups++;
    this.#stats.promptTokens += prompt.length;
    this.#stats.cachedTokens += reuse;
    if (reuse > 0) this.#stats.hits++;
    return { slot, sourceSlot: reuse > 0 ? source : slot, reuse };
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
    return { ...this.#stats, heldTokens };
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
  };
}
