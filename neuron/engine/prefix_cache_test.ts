import assert from "node:assert/strict";
import { PrefixCache } from "./prefix_cache.ts";
import { seededRandom } from "../testing/rng.ts";

/** A plan with no pool involved. */
function _plan(slot: number, sourceSlot: number, reuse: number) {
  return { slot, sourceSlot, reuse, blocks: [], drop: [], spill: null };
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

Deno.test("PrefixCache: a finished conversation's next turn reuses its slot in place; a busy prefix is copied to a free slot", () => {
  const cache = new PrefixCache(3);
  const system = [1, 2, 3, 4, 5, 6];
  const first = cache.plan([...system, 10, 11])!;
  assert.deepEqual(first, _plan(0, 0, 0));
  cache.append(first.slot, [...system, 10, 11]);
  cache.append(first.slot, [40]); // a decoded token fed back
  // Another session with the same system prompt while the first is still running: copied.
  const second = cache.plan([...system, 20])!;
  assert.deepEqual(second, _plan(1, 0, 6));
  cache.append(second.slot, [20]);
  cache.release(first.slot);
  // The first session's next turn extends what its slot holds: taken in place.
  const next = cache.plan([...system, 10, 11, 40, 41, 42])!;
  assert.deepEqual(next, _plan(0, 0, 9));
  assert.deepEqual(cache.tokensOf(0), [...system, 10, 11, 40]);
  const stats = cache.stats;
  assert.deepEqual(
    [stats.lookups, stats.hits, stats.cachedTokens, stats.promptTokens, stats.evictions],
    [3, 2, 15, 8 + 7 + 11, 0],
  );
});

Deno.test("PrefixCache: never reuses the whole prompt, never plans a busy slot, null when all are busy", () => {
  const cache = new PrefixCache(2);
  const a = cache.plan([5, 6, 7])!;
  cache.append(a.slot, [5, 6, 7]);
  cache.release(a.slot);
  assert.equal(cache.plan([5, 6, 7])!.reuse, 2);
  const b = cache.plan([9])!;
  assert.equal(b.slot, 1);
  assert.equal(cache.plan([1, 2]), null);
});

Deno.test("PrefixCache: least recently used free slot is overwritten first, empty slots before held ones; evictions counted", () => {
  const cache = new PrefixCache(3);
  for (const prompt of [[1, 1], [2, 2], [3, 3]]) {
    const plan = cache.plan(prompt)!;
    cache.append(plan.slot, prompt);
    cache.release(plan.slot);
  }
  const again = cache.plan([1, 1, 9])!; // refreshes slot 0
  cache.release(again.slot);
  const unrelated = cache.plan([7, 7])!;
  assert.equal(unrelated.slot, 1, "slot 1 is the least recently used");
  assert.equal(cache.stats.evictions, 1);
  const disabled = new PrefixCache(2, false);
  const p = disabled.plan([1, 2, 3])!;
  disabled.append(p.slot, [1, 2, 3]);
  disabled.release(p.slot);
  assert.equal(disabled.plan([1, 2, 3, 4])!.reuse, 0);
  assert.deepEqual(
    [disabled.stats.heldTokens, disabled.stats.evictions],
    [0, 0],
    "a disabled cache holds nothing",
  );
});

Deno.test("PrefixCache property: plans are free slots, reuse is the longest prefix any slot holds, and what a slot holds is what was written", () => {
  for (let seed = 1; seed <= 200; seed++) {
    const random = seededRandom(seed);
    const slots = 1 + Math.floor(random() * 4);
    const cache = new PrefixCache(slots);
    const held: number[][] = Array.from({ length: slots }, () => []);
    const busy = new Set<number>();
    const bases = [[1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 9, 9], [4, 4, 4, 4]];
    for (let op = 0; op < 60; op++) {
      const roll = random();
      if (roll < 0.45) {
        const base = bases[Math.floor(random() * bases.length)];
        const prompt = [...base.slice(0, Math.floor(random() * (base.length + 1)))];
        for (let extra = Math.floor(random() * 4); extra >= 0; extra--) prompt.push(Math.floor(random() * 6));
        const plan = cache.plan(prompt);
        const label = `seed ${seed} op ${op}`;
        if (busy.size === slots) {
          assert.equal(plan, null, label);
          continue;
        }
        assert.ok(plan !== null, label);
        assert.ok(!busy.has(plan.slot), `${label}: planned a busy slot`);
        assert.ok(plan.reuse <= prompt.length - 1, label);
        const best = Math.max(
          0,
          ...held.map((tokens) => Math.min(commonPrefix(tokens, prompt), prompt.length - 1)),
        );
        assert.equal(plan.reuse, best, `${label}: reuse is the longest held prefix`);
        assert.deepEqual(held[plan.sourceSlot].slice(0, plan.reuse), prompt.slice(0, plan.reuse), label);
        if (plan.reuse === 0) assert.equal(plan.sourceSlot, plan.slot, label);
        held[plan.slot] = prompt.slice(0, plan.reuse);
        busy.add(plan.slot);
        // The scheduler then feeds the rest of the prompt, maybe in two steps.
        const cut = plan.reuse + Math.floor(random() * (prompt.length - plan.reuse));
        cache.append(plan.slot, prompt.slice(plan.reuse, cut));
        cache.append(plan.slot, prompt.slice(cut));
        held[plan.slot].push(...prompt.slice(plan.reuse));
      } else if (roll < 0.65 && busy.size > 0) {
        const slot = [...busy][Math.floor(random() * busy.size)];
        const token = Math.floor(random() * 6);
        cache.append(slot, [token]);
        held[slot].push(token);
      } else if (roll < 0.95 && busy.size > 0) {
        const slot = [...busy][Math.floor(random() * busy.size)];
        cache.release(slot);
        busy.delete(slot);
      } else if (busy.size > 0) {
        const slot = [...busy][0];
        cache.discard(slot);
        held[slot] = [];
        busy.delete(slot);
      }
      for (let s = 0; s < slots; s++) {
        assert.deepEqual(cache.tokensOf(s), held[s], `seed ${seed} op ${op} slot ${s}`);
      }
    }
    assert.equal(cache.stats.heldTokens, held.reduce((sum, tokens) => sum + tokens.length, 0));
  }
});

Deno.test("PrefixCache: a short shared prefix is copied out of a long cached conversation instead of truncating it", () => {
  const cache = new PrefixCache(2);
  const conversation = Array.from({ length: 40 }, (_, i) => i + 1);
  const a = cache.plan(conversation)!;
  cache.append(a.slot, conversation);
  cache.release(a.slot);
  // An unrelated request sharing the first 3 tokens (a chat opener): copied into the empty slot.
  const other = cache.plan([1, 2, 3, 99, 98])!;
  assert.deepEqual(other, _plan(1, 0, 3));
  cache.append(other.slot, [99, 98]);
  cache.release(other.slot);
  assert.deepEqual(cache.tokensOf(0), conversation, "the conversation survives");
  // Its next turn still finds all of it, in place.
  assert.deepEqual(cache.plan([...conversation, 50])!, _plan(0, 0, 40));
});

Deno.test("PrefixCache in snapshot mode (hybrids): a slot gives its whole snapshot's prefix or nothing", () => {
  const cache = new PrefixCache(2, true, true);
  const first = cache.plan([1, 2, 3, 4, 5, 6])!;
  cache.append(first.slot, [1, 2, 3, 4]);
  cache.snapshotted(first.slot, 4);
  cache.append(first.slot, [5, 6, 9]);
  cache.release(first.slot);
  // Shares 6 tokens with the slot, but its states were kept only at 4.
  assert.deepEqual(cache.plan([1, 2, 3, 4, 5, 6, 7])!, _plan(0, 0, 4));
  cache.release(0);
  // Shares fewer tokens than the snapshot: nothing.
  assert.equal(cache.plan([1, 2, 3, 8])!.reuse, 0);
  const failed = new PrefixCache(1, true, true);
  const p = failed.plan([1, 2, 3])!;
  failed.append(p.slot, [1, 2]);
  failed.snapshotted(p.slot, 2);
  failed.discard(p.slot);
  assert.equal(failed.plan([1, 2, 3])!.reuse, 0, "a discarded slot keeps no snapshot");
});
