import assert from "node:assert/strict";
import { PrefixBlockPool } from "./prefix_blocks.ts";
import { PrefixCache } from "./prefix_cache.ts";
import { seededRandom } from "../testing/rng.ts";

Deno.test("PrefixBlockPool: whole blocks are kept once per chain, matched token by token, never the whole prompt", () => {
  const pool = new PrefixBlockPool(4, 100, 1000);
  const conversation = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const { store, drop } = pool.plan(conversation);
  assert.deepEqual(drop, []);
  assert.deepEqual(
    store,
    { first: 0, ids: [1, 2] },
    "two whole blocks; the 2 tokens after them are not kept",
  );
  assert.deepEqual(pool.match([1, 2, 3, 4, 5, 6, 7, 8, 99]), [1, 2]);
  assert.deepEqual(pool.match([1, 2, 3, 4, 5, 6, 7, 8]), [1], "one token is always left to feed");
  assert.deepEqual(pool.match([1, 2, 3, 5, 5, 6, 7, 8, 9]), [], "a differing token breaks the chain");
  // Another conversation with the same opening shares block 1 and adds its own second block.
  assert.deepEqual(pool.plan([1, 2, 3, 4, 20, 21, 22, 23]).store, { first: 1, ids: [3] });
  assert.deepEqual(pool.plan(conversation).store, null, "already kept");
  assert.equal(pool.stats.blocks, 3);
  assert.equal(pool.stats.bytes, 300);
});

Deno.test("PrefixBlockPool: the budget evicts least recently used chains from their end, never a pinned block", () => {
  const pool = new PrefixBlockPool(2, 100, 300); // three blocks
  pool.plan([1, 1, 2, 2]); // blocks a1 a2
  pool.plan([3, 3, 4, 4]); // b1; b2 does not fit yet — evicts a2 (LRU, deepest first)
  assert.equal(pool.stats.blocks, 3);
  assert.ok(pool.stats.bytes <= 300);
  assert.deepEqual(pool.match([3, 3, 4, 4, 9]).length, 2);
  assert.deepEqual(pool.match([1, 1, 2, 2, 9]).length, 1, "a's first block survived, its second went");
  // Both chains are pinned now (two matches): nothing may go, so a new conversation stores nothing.
  const { store, drop } = pool.plan([5, 5, 6, 6]);
  assert.deepEqual([store, drop], [null, []]);
  pool.unpin([1]);
  pool.unpin([3, 4]);
  const reclaimed = pool.reclaim(150);
  assert.equal(reclaimed.length, 2, "reclaim frees at least the bytes asked, whole blocks");
  assert.equal(pool.stats.reclaimed, 2);
});

Deno.test("PrefixBlockPool: a refused store forgets its blocks; dropping a block drops the chain after it", () => {
  const pool = new PrefixBlockPool(2, 10, 1000);
  const { store } = pool.plan([1, 1, 2, 2, 3, 3]);
  assert.deepEqual(pool.storeFailed(store!.ids).sort(), [1, 2, 3]);
  assert.equal(pool.stats.blocks, 0);
  assert.deepEqual(pool.match([1, 1, 2, 2, 3, 3, 4]), []);
  assert.equal(pool.stats.storeFailures, 1);
  pool.plan([1, 1, 2, 2, 3, 3]);
  assert.deepEqual(pool.reclaim(1), [6], "the deepest of the least recently used blocks goes first");
});

Deno.test("PrefixCache with a pool: a slot's prefix is kept before the slot is overwritten and comes back from blocks", () => {
  const pool = new PrefixBlockPool(4, 100, 10_000);
  const cache = new PrefixCache(1, true, false, pool);
  const a = [1, 2, 3, 4, 5, 6, 7, 8, 9];
  const first = cache.plan(a)!;
  cache.append(first.slot, a);
  cache.release(first.slot);
  const b = [50, 51, 52, 53, 54];
  const second = cache.plan(b)!;
  assert.deepEqual(second.spill, { slot: 0, firstPosition: 0, ids: [1, 2] }, "a's two whole blocks are kept");
  cache.started(second);
  cache.append(second.slot, b);
  cache.release(second.slot);
  const back = cache.plan([...a, 60])!;
  assert.deepEqual([back.blocks, back.reuse, back.slot], [[1, 2], 8, 0]);
  assert.deepEqual(back.spill, { slot: 0, firstPosition: 0, ids: [3] }, "b's block is kept in turn");
  cache.started(back);
  assert.equal(cache.stats.poolHits, 1);
  assert.equal(cache.stats.pool!.blocks, 3);
});

Deno.test("PrefixCache with a pool property: held bytes never exceed the budget, plans only name blocks that hold the prompt's tokens", () => {
  for (let seed = 1; seed <= 150; seed++) {
    const random = seededRandom(seed);
    const blockTokens = 2 + Math.floor(random() * 3);
    const budget = Math.floor(random() * 8) * 10;
    const pool = new PrefixBlockPool(blockTokens, 10, budget);
    const cache = new PrefixCache(1 + Math.floor(random() * 3), true, false, pool);
    const contents = new Map<number, number[]>(); // block id → tokens, as the device would hold them
    const slots = new Map<number, number[]>();
    const busy: number[] = [];
    const bases = [[1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 9, 9, 9], [4, 4, 4, 4, 4, 4, 4]];
    for (let op = 0; op < 80; op++) {
      if (random() < 0.55) {
        const base = bases[Math.floor(random() * bases.length)];
        const prompt = [...base.slice(0, 2 + Math.floor(random() * base.length)), Math.floor(random() * 5)];
        const plan = cache.plan(prompt);
        if (plan === null) continue;
        for (const id of plan.drop) {
          assert.ok(contents.delete(id), `seed ${seed}: dropped block ${id} existed`);
        }
        if (plan.spill) {
          const held = slots.get(plan.spill.slot)!;
          plan.spill.ids.forEach((id, i) => {
            const at = plan.spill!.firstPosition + i * blockTokens;
            contents.set(id, held.slice(at, at + blockTokens));
          });
        }
        const start = plan.blocks.length > 0
          ? plan.blocks.flatMap((id) => contents.get(id)!)
          : (slots.get(plan.sourceSlot) ?? []).slice(0, plan.reuse);
        assert.deepEqual(start, prompt.slice(0, plan.reuse), `seed ${seed} op ${op}: the reused prefix`);
        assert.ok(plan.reuse < prompt.length);
        cache.started(plan);
        slots.set(plan.slot, [...prompt]);
        cache.append(plan.slot, prompt.slice(plan.reuse));
        busy.push(plan.slot);
        assert.ok(pool.bytes <= budget, `seed ${seed}: ${pool.bytes} B held, budget ${budget}`);
      } else if (busy.length > 0) {
        const slot = busy.splice(Math.floor(random() * busy.length), 1)[0];
        cache.release(slot);
      }
    }
    assert.ok(pool.stats.peakBytes <= budget);
  }
});
