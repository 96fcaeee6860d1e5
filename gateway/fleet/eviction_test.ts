import assert from "node:assert/strict";
import { fitOnNode, type NodeFit, pickDevices } from "./eviction.ts";
import type { EvictionPolicy, ModelRequirement, NodeView, ResidentModel } from "./types.ts";

const NOW = 1_000_000_000;
const LRU: EvictionPolicy = { strategy: "lru", minResidencySeconds: 0 };
const PRIORITY: EvictionPolicy = { strategy: "priority", minResidencySeconds: 0 };

function resident(id: string, over: Partial<ResidentModel> = {}): ResidentModel {
  return {
    id,
    status: "loaded",
    devices: [0],
    memoryMb: 100,
    inFlight: 0,
    lastUsedMs: NOW - 60_000,
    loadedAtMs: NOW - 3_600_000,
    priority: 100,
    ...over,
  };
}

function node(residents: ResidentModel[], devices = [{ index: 0, totalMb: 300, freeMb: 0 }]): NodeView {
  return { name: "n1", healthy: true, discovered: true, devices, residents };
}

function want(memoryMb: number, over: Partial<ModelRequirement> = {}): ModelRequirement {
  return {
    id: "incoming",
    memoryMb,
    minDevices: 1,
    minDeviceMemoryMb: null,
    pinnedOn: [],
    priority: 100,
    ...over,
  };
}

function fit(plan: ReturnType<typeof fitOnNode>): NodeFit {
  assert.ok(plan.ok, `expected a fit, got: ${plan.ok ? "" : plan.reason}`);
  return plan;
}

Deno.test("a model that fits in free memory evicts nothing and takes the fullest device that fits", () => {
  const plan = fit(fitOnNode(
    node([], [{ index: 0, totalMb: 1000, freeMb: 900 }, { index: 1, totalMb: 1000, freeMb: 300 }]),
    want(200),
    LRU,
    NOW,
  ));
  assert.deepEqual(plan.victims, []);
  assert.deepEqual(plan.devices, [1]);
});

Deno.test("lru evicts the least recently used model first", () => {
  const plan = fit(fitOnNode(
    node([
      resident("recent", { lastUsedMs: NOW - 1_000 }),
      resident("stale", { lastUsedMs: NOW - 500_000 }),
      resident("middle", { lastUsedMs: NOW - 10_000 }),
    ]),
    want(100),
    LRU,
    NOW,
  ));
  assert.deepEqual(plan.victims.map((v) => v.id), ["stale"]);
  assert.equal(plan.victims[0].reason, "lru");
});

Deno.test("lru evicts in order until enough is free, and no further", () => {
  const plan = fit(fitOnNode(
    node([
      resident("c", { lastUsedMs: NOW - 1_000 }),
      resident("a", { lastUsedMs: NOW - 3_000 }),
      resident("b", { lastUsedMs: NOW - 2_000 }),
    ]),
    want(200),
    LRU,
    NOW,
  ));
  assert.deepEqual(plan.victims.map((v) => v.id), ["a", "b"]);
});

Deno.test("never more than needed: a small stale model is spared when a larger one alone makes room", () => {
  const plan = fit(fitOnNode(
    node([
      resident("small-stale", { memoryMb: 10, lastUsedMs: NOW - 900_000 }),
      resident("big", { memoryMb: 290, lastUsedMs: NOW - 1_000 }),
    ]),
    want(150),
    LRU,
    NOW,
  ));
  assert.deepEqual(plan.victims.map((v) => v.id), ["big"]);
});

Deno.test("a model with requests in flight is never evicted, and the refusal names it", () => {
  const plan = fitOnNode(
    node([resident("busy", { memoryMb: 300, inFlight: 2, lastUsedMs: 0 })]),
    want(100),
    LRU,
    NOW,
  );
  assert.equal(plan.ok, false);
  assert.ok(!plan.ok && plan.transient && !plan.permanent);
  assert.match(!plan.ok ? plan.reason : "", /'busy' has 2 requests in flight/);
  assert.match(!plan.ok ? plan.reason : "", /largest free is 0 MB/);
});

Deno.test("priority: a lower class never displaces a higher one, however stale", () => {
  const plan = fitOnNode(
    node([resident("flagship", { memoryMb: 300, priority: 300, lastUsedMs: 0 })]),
    want(100, { priority: 200 }),
    PRIORITY,
    NOW,
  );
  assert.ok(!plan.ok);
  assert.match(!plan.ok ? plan.reason : "", /'flagship' \(class 300\) outranks class 200/);
});

Deno.test("priority: equal classes may swap, and lower classes go before the same class", () => {
  const plan = fit(fitOnNode(
    node([
      resident("peer", { priority: 200, lastUsedMs: NOW - 900_000 }),
      resident("tiny", { priority: 100, lastUsedMs: NOW - 1_000 }),
      resident("top", { priority: 300, lastUsedMs: 0 }),
    ]),
    want(200, { priority: 200 }),
    PRIORITY,
    NOW,
  ));
  assert.deepEqual(plan.victims.map((v) => v.id), ["tiny", "peer"]);
  assert.ok(plan.victims.every((v) => v.reason === "priority"));
});

Deno.test("lru ignores residency classes", () => {
  const plan = fit(fitOnNode(
    node([resident("flagship", { memoryMb: 300, priority: 300 })]),
    want(100, { priority: 100 }),
    LRU,
    NOW,
  ));
  assert.deepEqual(plan.victims.map((v) => v.id), ["flagship"]);
});

Deno.test("min_residency_s: a freshly loaded model is never evicted; the misfit says when it may go", () => {
  const policy: EvictionPolicy = { strategy: "lru", minResidencySeconds: 120 };
  const fresh = resident("fresh", { loadedAtMs: NOW - 5_000, lastUsedMs: null });
  const old = resident("old", { loadedAtMs: NOW - 900_000, lastUsedMs: NOW - 1_000 });
  const spared = fit(fitOnNode(node([fresh, old]), want(100), policy, NOW));
  assert.deepEqual(spared.victims.map((v) => v.id), ["old"]);
  assert.equal(spared.victims[0].young, false);
  const deferred = fitOnNode(node([fresh, old]), want(200), policy, NOW);
  assert.ok(!deferred.ok);
  assert.equal(deferred.retryAtMs, NOW + 115_000, "once 'fresh' has been resident 120 s");
  assert.deepEqual([deferred.transient, deferred.blockedByWork, deferred.permanent], [true, false, false]);
  assert.match(deferred.reason, /'fresh' stays resident for 115 s more \(min_residency_s\)/);
});

Deno.test("a floor the scheduler set (protectedUntilMs) wins over the load time", () => {
  const policy: EvictionPolicy = { strategy: "lru", minResidencySeconds: 60 };
  const stretched = resident("m", { loadedAtMs: NOW - 90_000, protectedUntilMs: NOW + 30_000 });
  const plan = fitOnNode(node([stretched, resident("x")]), want(200), policy, NOW);
  assert.ok(!plan.ok && plan.retryAtMs === NOW + 30_000);
  const lifted = resident("m", { loadedAtMs: NOW - 1_000, protectedUntilMs: null });
  assert.ok(fitOnNode(node([lifted, resident("x")]), want(200), policy, NOW).ok);
});

Deno.test("loading and unloading residents are neither evicted nor counted free", () => {
  const plan = fitOnNode(
    node([resident("arriving", { status: "loading", memoryMb: 300 })]),
    want(100),
    LRU,
    NOW,
  );
  assert.ok(!plan.ok && plan.transient);
  assert.match(!plan.ok ? plan.reason : "", /'arriving' is loading/);
});

Deno.test("multi-device models need min_devices devices, each with its share free", () => {
  const devices = [
    { index: 0, totalMb: 1000, freeMb: 600 },
    { index: 1, totalMb: 1000, freeMb: 100 },
    { index: 2, totalMb: 1000, freeMb: 600 },
  ];
  const plan = fit(fitOnNode(node([], devices), want(1000, { minDevices: 2 }), LRU, NOW));
  assert.deepEqual(plan.devices, [0, 2]);
  // A tensor-parallel resident frees its share on each of its devices.
  const tp = resident("tp", { devices: [0, 1], memoryMb: 800 });
  const full = [{ index: 0, totalMb: 1000, freeMb: 100 }, { index: 1, totalMb: 1000, freeMb: 100 }];
  const swapped = fit(fitOnNode(node([tp], full), want(1000, { minDevices: 2 }), LRU, NOW));
  assert.deepEqual(swapped.victims.map((v) => v.id), ["tp"]);
  assert.deepEqual(swapped.devices, [0, 1]);
});

Deno.test("too few or too small devices is a permanent misfit naming the sizes", () => {
  const small = fitOnNode(node([], [{ index: 0, totalMb: 16384, freeMb: 16384 }]), want(24000), LRU, NOW);
  assert.ok(!small.ok && small.permanent);
  assert.match(!small.ok ? small.reason : "", /largest device has 16384 MB/);
  const few = fitOnNode(node([]), want(100, { minDevices: 2 }), LRU, NOW);
  assert.ok(!few.ok && few.permanent);
  const floor = fitOnNode(node([]), want(10, { minDeviceMemoryMb: 1000 }), LRU, NOW);
  assert.ok(!floor.ok && floor.permanent);
});

Deno.test("pickDevices returns null when too few devices fit", () => {
  assert.equal(pickDevices(new Map([[0, 10], [1, 50]]), [0, 1], 20, 2), null);
  assert.deepEqual(pickDevices(new Map([[0, 10], [1, 50], [2, 30]]), [0, 1, 2], 20, 2), [1, 2]);
});

// ---- property test over random snapshots -------------------------------------------------

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("property: plans are sound, minimal, respect in-flight, classes and min residency", () => {
  const random = rng(42);
  const int = (n: number): number => Math.floor(random() * n);
  for (let trial = 0; trial < 3000; trial++) {
    const deviceCount = 1 + int(3);
    const devices = Array.from(
      { length: deviceCount },
      (_, index) => ({ index, totalMb: 1000, freeMb: 1000 }),
    );
    const residents: ResidentModel[] = [];
    for (let r = 0; r < int(6); r++) {
      const span = 1 + int(deviceCount);
      const first = int(deviceCount - span + 1);
      const on = Array.from({ length: span }, (_, k) => first + k);
      const memoryMb = (1 + int(8)) * 50 * span;
      if (on.some((d) => devices[d].freeMb < memoryMb / span)) continue;
      for (const d of on) devices[d].freeMb -= memoryMb / span;
      residents.push(resident(`m${r}`, {
        devices: on,
        memoryMb,
        inFlight: random() < 0.2 ? 1 : 0,
        priority: [100, 200, 300][int(3)],
        lastUsedMs: random() < 0.2 ? null : NOW - int(1_000_000),
        loadedAtMs: NOW - int(400_000),
        status: random() < 0.1 ? "loading" : "loaded",
      }));
    }
    const policy: EvictionPolicy = {
      strategy: random() < 0.5 ? "lru" : "priority",
      minResidencySeconds: 200,
    };
    const req = want((1 + int(10)) * 100, {
      minDevices: 1 + int(deviceCount),
      priority: [100, 200, 300][int(3)],
    });
    const view = node(residents, devices);
    const plan = fitOnNode(view, req, policy, NOW);
    const need = Math.ceil(req.memoryMb / req.minDevices);
    const freeAfter = (evicted: string[]): Map<number, number> => {
      const free = new Map(devices.map((d) => [d.index, d.freeMb]));
      for (const m of residents.filter((m) => evicted.includes(m.id))) {
        for (const d of m.devices) free.set(d, free.get(d)! + m.memoryMb / m.devices.length);
      }
      return free;
    };
    const fits = (evicted: string[]): boolean =>
      [...freeAfter(evicted).values()].filter((f) => f >= need).length >= req.minDevices;
    const eligible = residents.filter((m) =>
      m.status === "loaded" && m.inFlight === 0 &&
      (policy.strategy === "lru" || m.priority <= req.priority) &&
      NOW - m.loadedAtMs! >= 200_000
    );
    if (!plan.ok) {
      assert.ok(
        !fits(eligible.map((m) => m.id)),
        `trial ${trial}: refused although evicting all eligible fits`,
      );
      continue;
    }
    const ids = plan.victims.map((v) => v.id);
    assert.ok(fits(ids), `trial ${trial}: plan does not make room`);
    for (const d of plan.devices) {
      assert.ok(freeAfter(ids).get(d)! >= need, `trial ${trial}: device ${d} short`);
    }
    for (const v of plan.victims) {
      const m = residents.find((r) => r.id === v.id)!;
      assert.equal(m.inFlight, 0, `trial ${trial}: evicted an in-flight model`);
      assert.equal(m.status, "loaded");
      if (policy.strategy === "priority") assert.ok(m.priority <= req.priority, `trial ${trial}: outranked`);
      assert.ok(!fits(ids.filter((id) => id !== v.id)), `trial ${trial}: victim ${v.id} was not needed`);
    }
    for (const v of plan.victims) {
      const m = residents.find((r) => r.id === v.id)!;
      assert.ok(NOW - m.loadedAtMs! >= 200_000, `trial ${trial}: evicted ${v.id} inside its residency floor`);
    }
  }
});
