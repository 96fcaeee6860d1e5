import assert from "node:assert/strict";
import { Rng } from "../../neuron/testing/rng.ts";
import { chooseReplica, type ReplicaLoad, underBound } from "./affinity.ts";

const r = (name: string, load: number, bound: number | null = 4): ReplicaLoad => ({ name, load, bound });

Deno.test("a home under its bound is kept even when another replica is idler", () => {
  assert.deepEqual(chooseReplica([r("a", 0), r("b", 3)], "b"), { name: "b", outcome: "hit" });
});

Deno.test("a saturated home gives way to the least loaded replica under its bound", () => {
  assert.deepEqual(chooseReplica([r("a", 1), r("c", 2), r("b", 4)], "b"), { name: "a", outcome: "overflow" });
  assert.deepEqual(chooseReplica([r("a", 1, 1), r("c", 2), r("b", 4)], "b"), {
    name: "c",
    outcome: "overflow",
  });
});

Deno.test("a saturated home is kept when every other replica is saturated too", () => {
  assert.deepEqual(chooseReplica([r("a", 4), r("b", 5)], "b"), { name: "b", outcome: "hit" });
});

Deno.test("no home, or a home that is not warm: the least loaded replica; none warm: null", () => {
  assert.deepEqual(chooseReplica([r("a", 2), r("b", 3)], null), { name: "a", outcome: "miss" });
  assert.deepEqual(chooseReplica([r("a", 2), r("b", 3)], "gone"), { name: "a", outcome: "miss" });
  assert.equal(chooseReplica([], "a"), null);
});

Deno.test("an unknown bound never saturates", () => {
  assert.equal(underBound(r("a", 1000, null)), true);
  assert.deepEqual(chooseReplica([r("a", 0), r("b", 1000, null)], "b"), { name: "b", outcome: "hit" });
});

Deno.test("property: the choice is warm, keeps an unsaturated home, and overflows only to relief", () => {
  for (let seed = 1; seed <= 2000; seed++) {
    const rng = new Rng(seed);
    const replicas = Array.from(
      { length: rng.int(5) },
      (_, i) => r(`n${i}`, rng.int(6), rng.chance(0.1) ? null : 1 + rng.int(4)),
    )
      .sort((x, y) => x.load - y.load);
    const home = rng.chance(0.2) ? null : `n${rng.int(6)}`;
    const choice = chooseReplica(replicas, home);
    const own = replicas.find((x) => x.name === home);
    const why = `seed ${seed}: ${JSON.stringify({ replicas, home, choice })}`;
    if (replicas.length === 0) {
      assert.equal(choice, null, why);
      continue;
    }
    assert.ok(choice && replicas.some((x) => x.name === choice.name), why);
    if (!own) assert.deepEqual(choice, { name: replicas[0].name, outcome: "miss" }, why);
    else if (underBound(own)) assert.deepEqual(choice, { name: own.name, outcome: "hit" }, why);
    else if (choice.outcome === "overflow") {
      const relief = replicas.find((x) => x !== own && underBound(x));
      assert.equal(choice.name, relief?.name, `${why}: the least loaded replica under its bound`);
    } else {
      assert.equal(choice.name, home, why);
      assert.ok(replicas.every((x) => x === own || !underBound(x)), why);
    }
  }
});
