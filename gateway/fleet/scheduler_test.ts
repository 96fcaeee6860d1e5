// The scheduler driven synchronously against fake neurons (`_fake_neurons.ts`): every load,
// unload and refresh it asks for waits until the test answers it.
import assert from "node:assert/strict";
import { CortexError } from "@cortex/core/errors";
import type { Grant, Scheduler, TicketRequest } from "./scheduler.ts";
import { type FakeNodeSpec, scheduledFleet } from "./_fake_neurons.ts";

interface Answer {
  grant: Grant | null;
  error: CortexError | null;
}

// Submits a request and returns a live view of its answer.
function ask(s: Scheduler, model: string, over: Partial<TicketRequest> = {}): Answer {
  const answer: Answer = { grant: null, error: null };
  s.submit(
    { model, lease: true, maxWaitMs: 30_000, ...over },
    (g) => answer.grant = g,
    (e) => answer.error = e,
  );
  return answer;
}

const ONE_SLOT: FakeNodeSpec[] = [{ name: "a", devices: [100], models: ["x", "y", "z"] }];

Deno.test("a warm model is granted at once, with a lease that counts until released", () => {
  const { s, fx } = scheduledFleet([{ name: "a", models: ["m"], loaded: { m: [0] } }]);
  const first = ask(s, "m");
  assert.equal(first.grant?.node.name, "a");
  assert.equal(fx.loadLog.length, 0);
  assert.equal(s.residency.get("a", "m")?.leases, 1);
  first.grant!.release();
  first.grant!.release(); // idempotent
  assert.equal(s.residency.get("a", "m")?.leases, 0);
});

Deno.test("single-flight: concurrent requests for a cold model share one load", () => {
  const { s, fx } = scheduledFleet([{ name: "a", models: ["m"] }]);
  const answers = [ask(s, "m"), ask(s, "m"), ask(s, "m")];
  assert.deepEqual(s.loading, ["m"]);
  fx.settle();
  assert.equal(fx.loadLog.length, 1);
  for (const a of answers) {
    assert.equal(a.grant?.node.name, "a");
    assert.equal(a.grant?.loaded, true);
  }
  assert.equal(s.residency.get("a", "m")?.leases, 3, "each waiter holds a lease from the moment it loaded");
  assert.deepEqual(s.loading, []);
});

Deno.test("loads on different nodes run in parallel; loads on one node one at a time", () => {
  const { s, fx } = scheduledFleet([
    { name: "a", devices: [300], models: ["p", "q"] },
    { name: "b", devices: [100], models: ["r"] },
  ]);
  ask(s, "p");
  ask(s, "r");
  ask(s, "q");
  fx.answerRefreshes();
  assert.deepEqual(fx.loads.map((l) => `${l.node}:${l.request.model_id}`).sort(), ["a:p", "b:r"]);
  assert.equal(fx.refreshes.length, 0, "q waits for a's lock before it even refreshes");
  fx.finishLoad(fx.loads.findIndex((l) => l.request.model_id === "p"));
  fx.answerRefreshes();
  assert.ok(fx.loads.some((l) => l.request.model_id === "q"), "q goes once p is done");
  fx.settle();
  assert.deepEqual(fx.loadedOn("a"), ["p", "q"]);
});

Deno.test("lru evicts the least recently used model; priority never evicts a higher class", () => {
  const lru = scheduledFleet([{
    name: "a",
    devices: [200],
    models: ["x", "y", "z"],
    loaded: { x: [0], y: [0] },
  }]);
  ask(lru.s, "y").grant!.release(); // y used last: x goes
  const z = ask(lru.s, "z");
  lru.fx.settle();
  assert.deepEqual(lru.fx.unloadLog.map((u) => [u.modelId, u.reason]), [["x", "lru"]]);
  assert.equal(z.grant?.node.name, "a");
  assert.deepEqual(z.grant?.evicted, ["x"]);

  const prio = scheduledFleet([{ name: "a", devices: [100], models: ["hi", "lo"], loaded: { hi: [0] } }], {
    modelsToml:
      '[[models]]\nid = "hi"\nresidency_priority = 300\n[[models]]\nid = "lo"\nresidency_priority = 100\n',
    policy: { strategy: "priority", minResidencySeconds: 0 },
  });
  const lo = ask(prio.s, "lo");
  assert.equal(lo.error?.code, "insufficient_memory");
  assert.match(lo.error!.message, /'hi' \(class 300\) outranks class 100/);
  assert.equal(prio.fx.unloadLog.length, 0);
});

Deno.test("a model with requests in flight is never evicted: the load waits for them, then goes", () => {
  const { s, fx } = scheduledFleet([{ name: "a", devices: [100], models: ["x", "y"], loaded: { x: [0] } }]);
  const busy = ask(s, "x");
  const y = ask(s, "y");
  assert.equal(y.grant === null && y.error === null, true, "it waits rather than failing at once");
  assert.equal(s.queued, 1);
  fx.settle();
  assert.equal(fx.unloadLog.length, 0, "x is busy");
  busy.grant!.release();
  fx.settle();
  assert.deepEqual(fx.unloadLog.map((u) => u.modelId), ["x"]);
  assert.equal(y.grant?.node.name, "a");
});

Deno.test("a wait for requests in flight is bounded: past max wait it is refused with Retry-After", () => {
  const { s, fx } = scheduledFleet([{ name: "a", devices: [100], models: ["x", "y"], loaded: { x: [0] } }]);
  ask(s, "x"); // never released
  const y = ask(s, "y", { maxWaitMs: 5_000 });
  assert.equal(fx.wakeAt, fx.clock + 5_000);
  fx.advance(4_999);
  assert.equal(y.error === null, true);
  fx.advance(1);
  assert.equal(y.error?.status, 503);
  assert.equal(y.error?.code, "insufficient_memory");
  assert.ok(y.error!.retryAfter! > 0);
  assert.equal(s.queued, 0);
});

Deno.test("a neuron's 507 raises the memory estimate and re-plans", () => {
  const { s, fx } = scheduledFleet([
    { name: "a", devices: [150], models: ["m"] },
    { name: "b", devices: [400], models: ["m"] },
  ], { sizes: { m: 100 } });
  const m = ask(s, "m");
  fx.answerRefreshes();
  assert.equal(fx.loads[0].node, "b", "more free memory on b");
  fx.finishLoad(
    0,
    new CortexError("needs 300 MB", {
      code: "insufficient_memory",
      status: 507,
      extras: { required_mb: 300 },
    }),
  );
  fx.answerRefreshes();
  assert.equal(fx.loads.length, 1, "planned again");
  fx.settle();
  assert.equal(m.grant?.node.name, "b");
  assert.equal(fx.loadLog.length, 2);
});

Deno.test("a node dying mid-load: its load is abandoned and the model loaded elsewhere", () => {
  const { s, fx } = scheduledFleet([
    { name: "a", devices: [400], models: ["m"] },
    { name: "b", devices: [200], models: ["m"] },
  ]);
  const m = ask(s, "m");
  fx.answerRefreshes();
  assert.equal(fx.loads[0].node, "a");
  fx.setAlive("a", false);
  fx.poll("a");
  fx.poll("a"); // unhealthy_after = 2
  assert.equal(s.fleet.node("a")!.healthy, false);
  fx.answerRefreshes();
  assert.deepEqual(fx.loads.map((l) => l.node), ["a", "b"]);
  fx.finishLoad(1);
  assert.equal(m.grant?.node.name, "b");
  fx.finishLoad(0); // the dead node's answer comes late: nobody is granted twice
  assert.equal(m.grant?.node.name, "b");
});

Deno.test("a refused connection during a load takes the node out and re-plans", () => {
  const { s, fx } = scheduledFleet([
    { name: "a", devices: [400], models: ["m"] },
    { name: "b", devices: [200], models: ["m"] },
  ]);
  const m = ask(s, "m");
  fx.answerRefreshes();
  fx.setAlive("a", false);
  fx.finishLoad(0); // refused
  assert.equal(s.fleet.node("a")!.healthy, false);
  fx.setAlive("a", true); // even back, it is excluded for this load
  fx.settle();
  assert.equal(m.grant?.node.name, "b");
});

Deno.test("the load request carries the profile's quant and the planned devices", () => {
  const { s, fx } = scheduledFleet([{ name: "a", devices: [100, 300], models: ["org/m-GGUF"] }], {
    modelsToml: '[[models]]\nid = "org/m-GGUF"\nquant = "q6k"\nvram_mb = 90\n',
  });
  ask(s, "org/m-GGUF");
  fx.answerRefreshes();
  assert.deepEqual(fx.loads[0].request, { model_id: "org/m-GGUF", devices: [0], quant: "q6k" });
});

Deno.test("defrag_after_cycles: after N cycles the node's idle residents are released and reloaded in place", async () => {
  const { s, fx, metrics } = scheduledFleet(
    [{ name: "a", devices: [200], models: ["x", "y", "z"], loaded: { x: [0], y: [0] } }],
    { scheduler: { defragAfterCycles: 1 } },
  );
  const z = ask(s, "z");
  fx.settle();
  z.grant!.release();
  // z was busy when the pass began: it is reloaded a second later.
  assert.deepEqual(fx.unloadLog.map((u) => [u.modelId, u.reason]), [["x", "lru"], ["y", "defrag"]]);
  fx.advance(1_000);
  fx.settle();
  assert.deepEqual(fx.unloadLog.map((u) => u.reason), ["lru", "defrag", "defrag"]);
  assert.deepEqual(fx.loadLog.slice(1).map((l) => [l.request.model_id, l.request.devices]), [["y", [0]], [
    "z",
    [0],
  ]]);
  assert.equal(s.cycles("a"), 0);
  assert.deepEqual(fx.loadedOn("a"), ["y", "z"]);
  assert.deepEqual((await metrics.defrags.get()).values.map((v) => [v.labels.node, v.value]), [["a", 1]]);
});

Deno.test("min residency: a swap that would evict a young model waits when the floor ends in time", () => {
  const { s, fx } = scheduledFleet(ONE_SLOT, { policy: { strategy: "lru", minResidencySeconds: 10 } });
  const x = ask(s, "x");
  fx.settle();
  x.grant!.release();
  const y = ask(s, "y", { maxWaitMs: 30_000 });
  assert.equal(y.error === null, true);
  assert.equal(fx.wakeAt, s.residency.get("a", "x")!.protectedUntilMs);
  fx.advance(10_000);
  fx.settle();
  assert.equal(y.grant?.node.name, "a");
  assert.deepEqual(y.grant?.evicted, ["x"]);
});

Deno.test("min residency: a floor beyond the wait bound is refused at once with 503 and Retry-After", async () => {
  const { s, fx, metrics } = scheduledFleet(ONE_SLOT, {
    policy: { strategy: "lru", minResidencySeconds: 60 },
  });
  const x = ask(s, "x");
  fx.settle();
  x.grant!.release();
  fx.advance(5_000);
  const y = ask(s, "y", { maxWaitMs: 30_000 });
  assert.equal(y.error?.status, 503);
  assert.equal(y.error?.code, "swap_deferred");
  assert.equal(y.error?.retryAfter, 55);
  assert.equal(fx.unloadLog.length, 0);
  const refused = (await metrics.swapRefusals.get()).values;
  assert.deepEqual(refused.map((v) => [v.labels.reason, v.value]), [["min_residency", 1]]);
});

Deno.test("hysteresis: alternating demand doubles the floor with every close swap, up to 8×", () => {
  const { s, fx } = scheduledFleet(ONE_SLOT, { policy: { strategy: "lru", minResidencySeconds: 10 } });
  const floors: number[] = [];
  let want = "x";
  for (let i = 0; i < 6; i++) {
    const answer = ask(s, want, { maxWaitMs: 1_000_000 });
    fx.settle();
    while (answer.grant === null) {
      fx.advance(Math.max(1, (fx.wakeAt ?? fx.clock + 1) - fx.clock));
      fx.settle();
    }
    answer.grant.release();
    floors.push(s.floorMs("a") / 1000);
    want = want === "x" ? "y" : "x";
  }
  assert.deepEqual(floors, [10, 10, 20, 40, 80, 80]);
});

Deno.test("swap budgets: a key past max_swaps_per_hour is refused with 429; others and loads into free room go on", () => {
  const { s, fx } = scheduledFleet(
    [{ name: "a", devices: [100], models: ["x", "y"] }, { name: "b", devices: [100], models: ["z"] }],
    { scheduler: { swapBudgets: new Map([["greedy", 1]]) } },
  );
  const x = ask(s, "x", { keyName: "greedy" });
  fx.settle(); // x loaded into free room: no swap counted
  x.grant!.release();
  const first = ask(s, "y", { keyName: "greedy" });
  fx.settle();
  assert.deepEqual(first.grant?.evicted, ["x"]);
  first.grant!.release();
  const second = ask(s, "x", { keyName: "greedy" });
  assert.equal(second.error?.status, 429);
  assert.equal(second.error?.code, "swap_budget_exceeded");
  assert.equal(second.error?.retryAfter, 3600);
  const z = ask(s, "z", { keyName: "greedy" });
  fx.settle();
  assert.equal(z.grant?.node.name, "b", "a load that evicts nothing is no swap");
  const other = ask(s, "x", { keyName: "other" });
  fx.settle();
  assert.deepEqual(other.grant?.evicted, ["y"]);
  fx.advance(3_600_000);
  other.grant!.release();
  const later = ask(s, "y", { keyName: "greedy" });
  fx.settle();
  assert.ok(later.grant, "the budget refills after an hour");
});

Deno.test("replica choice uses the gateway's live counts, not the last poll: a burst splits evenly", () => {
  const { s, fx } = scheduledFleet([
    { name: "a", models: ["m"], loaded: { m: [0] }, bounds: { m: 64 } },
    { name: "b", models: ["m"], loaded: { m: [0] }, bounds: { m: 64 } },
  ]);
  fx.setReportedInFlight("b", "m", 30); // stale: b was busy at the last poll
  fx.pollAll();
  const burst = Array.from({ length: 20 }, () => ask(s, "m"));
  const onA = burst.filter((a) => a.grant?.node.name === "a").length;
  assert.deepEqual([onA, 20 - onA], [10, 10]);
});

Deno.test("queueing: a withdrawn request leaves the queue and causes no load", () => {
  const { s, fx } = scheduledFleet([{ name: "a", devices: [100], models: ["x", "y"], loaded: { x: [0] } }]);
  const busy = ask(s, "x");
  let refused = false;
  const withdraw = s.submit({ model: "y", lease: true, maxWaitMs: 30_000 }, () => {}, () => refused = true);
  assert.equal(s.queued, 1);
  withdraw();
  assert.equal(s.queued, 0);
  busy.grant!.release();
  fx.settle();
  assert.equal(fx.loadLog.length, 0);
  assert.equal(refused, false);
});

Deno.test("admin unload: routed around at once, unloaded once idle; still busy after the drain: 409", async () => {
  const { s, fx } = scheduledFleet([{ name: "a", models: ["m", "n"], loaded: { m: [0], n: [0] } }], {
    scheduler: { adminDrainMs: 500 },
  });
  const held = ask(s, "m");
  const done = s.unload("m");
  assert.equal(s.residency.get("a", "m")?.state, "draining");
  assert.deepEqual(s.replicas("m"), [], "no new requests go to a draining model");
  held.grant!.release();
  fx.settle();
  assert.deepEqual(await done, ["a"]);
  assert.equal(s.residency.get("a", "m"), undefined);

  const busy = ask(s, "n");
  const refused = s.unload("n").catch((e) => e);
  fx.advance(500);
  const error = await refused;
  assert.equal(error.status, 409);
  assert.equal(error.code, "model_busy");
  assert.equal(s.residency.get("a", "n")?.state, "resident", "it serves again");
  busy.grant!.release();
});

Deno.test("admin unload: a busy count only from the last poll is checked again before giving up", async () => {
  const { s, fx } = scheduledFleet([{ name: "a", models: ["m"], loaded: { m: [0] } }]);
  fx.setReportedInFlight("a", "m", 1);
  fx.pollAll(); // a poll caught a request that has ended since
  fx.setReportedInFlight("a", "m", 0);
  const done = s.unload("m");
  assert.equal(fx.refreshes.length, 1, "the neuron is asked again");
  fx.settle();
  assert.deepEqual(await done, ["a"]);
});

Deno.test("admin load: never waits, refusing at once what would have to wait", async () => {
  const { s, fx } = scheduledFleet([{ name: "a", devices: [100], models: ["x", "y"], loaded: { x: [0] } }]);
  ask(s, "x");
  const refused = await s.load("y").catch((e) => e);
  assert.equal(refused.status, 503);
  assert.match(refused.message, /'x' has 1 request in flight/);
  const onNode = await s.load("y", "nowhere").catch((e) => e);
  assert.equal(onNode.code, "node_not_found");
  assert.equal(fx.loadLog.length, 0);
});

Deno.test("sessions stay home while it is warm and under its bound, overflow when saturated", () => {
  const { s } = scheduledFleet([
    { name: "a", models: ["m"], loaded: { m: [0] }, bounds: { m: 1 } },
    { name: "b", models: ["m"], loaded: { m: [0] }, bounds: { m: 1 } },
  ]);
  const held = ask(s, "m", { session: "s1" });
  assert.deepEqual([held.grant?.node.name, held.grant?.affinity], ["a", "miss"]);
  const over = ask(s, "m", { session: "s1" });
  assert.deepEqual([over.grant?.node.name, over.grant?.affinity], ["b", "overflow"]);
  held.grant!.release();
  over.grant!.release();
  const back = ask(s, "m", { session: "s1" });
  assert.deepEqual([back.grant?.node.name, back.grant?.affinity], ["b", "hit"]);
  const retry = ask(s, "m", { session: "s1", avoid: ["b"] });
  assert.deepEqual([retry.grant?.node.name, retry.grant?.affinity], ["a", "miss"]);
  assert.equal(s.sessions, 1);
});

Deno.test("a home that goes unhealthy is forgotten, even once it is back", () => {
  const { s, fx } = scheduledFleet([
    { name: "a", models: ["m"], loaded: { m: [0] } },
    { name: "b", models: ["m"], loaded: { m: [0] } },
  ]);
  ask(s, "m", { session: "s1" }).grant!.release();
  s.nodeUnreachable("a", "refused");
  const moved = ask(s, "m", { session: "s1" });
  assert.deepEqual([moved.grant?.node.name, moved.grant?.affinity], ["b", "miss"]);
  moved.grant!.release();
  fx.poll("a");
  const kept = ask(s, "m", { session: "s1" });
  assert.deepEqual([kept.grant?.node.name, kept.grant?.affinity], ["b", "hit"]);
});

Deno.test("unknown models are 404 naming what exists; no nodes or no healthy nodes are 503", () => {
  const { s, fx } = scheduledFleet([{ name: "a", models: ["m"] }]);
  const unknown = ask(s, "nope");
  assert.equal(unknown.error?.status, 404);
  assert.match(unknown.error!.message, /available: m/);
  fx.setAlive("a", false);
  s.nodeUnreachable("a", "refused");
  const down = ask(s, "m");
  assert.equal(down.error?.status, 503);
  assert.equal(down.error?.retryAfter, 5);
  assert.equal(fx.loadLog.length, 0);
});

Deno.test("keep-alive: an idle model is unloaded once its time to live has passed since its last request", async () => {
  const { s, fx, metrics } = scheduledFleet(
    [{ name: "a", models: ["m", "p"], loaded: { m: [0], p: [0] } }],
    {
      modelsToml: '[[models]]\nid = "m"\nttl_s = 10\n[[models]]\nid = "p"\nttl_s = 1\npinned_on = ["a"]\n',
    },
  );
  const held = ask(s, "m");
  fx.advance(60_000);
  assert.equal(fx.unloadLog.length, 0, "not while a request is in flight");
  held.grant!.release();
  assert.equal(fx.wakeAt, fx.clock + 10_000);
  fx.advance(9_999);
  assert.equal(fx.unloadLog.length, 0);
  fx.advance(1);
  assert.deepEqual(fx.unloadLog.map((u) => [u.modelId, u.reason]), [["m", "idle"]], "the pinned one stays");
  fx.settle();
  assert.equal(s.residency.get("a", "m"), undefined);
  assert.equal((await metrics.idleUnloads.get()).values[0]?.value, 1);
  const zero = ask(s, "p", { keepAliveS: 0 });
  fx.settle();
  zero.grant!.release();
  assert.equal(fx.unloadLog.length, 1, "pinned: kept whatever keep_alive asks");
  assert.equal(s.ttlS("a", "p"), Infinity);
});

Deno.test("stop refuses every waiting request", () => {
  const { s, fx } = scheduledFleet([{ name: "a", devices: [100], models: ["x", "y"], loaded: { x: [0] } }]);
  ask(s, "x");
  const queued = ask(s, "y");
  const cold = scheduledFleet([{ name: "a", models: ["m"] }]);
  const loading = ask(cold.s, "m");
  s.stop();
  cold.s.stop();
  assert.equal(queued.error?.code, "shutting_down");
  assert.equal(loading.error?.code, "shutting_down");
  assert.equal(fx.loads.length, 0);
});
