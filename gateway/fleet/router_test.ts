import assert from "node:assert/strict";
import type { ModelLoadStats } from "@cortex/core/fleet";
import { GatewayMetrics } from "../metrics/gateway_metrics.ts";
import { Rng } from "../../neuron/testing/rng.ts";
import { fleetOf, info, polledNode } from "./_test_fleet.ts";
import type { LeasedLoad } from "./cold_loader.ts";
import type { NodeState } from "./node_state.ts";
import { type Route, Router } from "./router.ts";

function stats(id: string, maxInFlight: number): ModelLoadStats {
  return {
    id,
    in_flight: 0,
    queue_depth: 0,
    max_in_flight: maxInFlight,
    max_queue: 16,
    rejected_queue_full: 0,
    rejected_timeout: 0,
    completed: 0,
    tok_s_prefill: 0,
    tok_s_decode: 0,
  };
}

function setLoaded(node: NodeState, loaded: boolean): void {
  node.models.set("m", info("m", { status: loaded ? "loaded" : "available", devices: loaded ? [0] : [] }));
}

// Seats per node (null: the neuron reports none); `m` loaded on the nodes named in `warm`.
function replicas(bounds: Record<string, number | null>, warm: string[] = Object.keys(bounds)): NodeState[] {
  return Object.entries(bounds).map(([name, bound]) => {
    const node = polledNode(name, [info("m")]);
    setLoaded(node, warm.includes(name));
    node.health = { ...node.health!, models: bound === null ? [] : [stats("m", bound)] };
    return node;
  });
}

function underItsBound(node: NodeState): boolean {
  const bound = node.loadBound("m");
  return bound === null || node.inFlight("m") < bound;
}

// Loads `m` on the first healthy node, and says how often it was asked.
class FakeLoader {
  calls = 0;
  constructor(readonly nodes: NodeState[]) {}
  ensureLeased(id: string): Promise<LeasedLoad> {
    this.calls++;
    const node = this.nodes.find((n) => n.healthy)!;
    setLoaded(node, true);
    return Promise.resolve({
      node,
      neuronModelId: id,
      loadMs: 5,
      evicted: [],
      release: node.acquire(id, Date.now()),
    });
  }
}

function setup(nodes: NodeState[]): { router: Router; loader: FakeLoader; metrics: GatewayMetrics } {
  const metrics = new GatewayMetrics();
  const loader = new FakeLoader(nodes);
  return { router: new Router(fleetOf(nodes), loader, { metrics }), loader, metrics };
}

async function outcomes(metrics: GatewayMetrics): Promise<Record<string, number>> {
  const values = (await metrics.affinity.get()).values;
  return Object.fromEntries(values.map((v) => [v.labels.outcome, v.value]));
}

Deno.test("a session stays on its node while it is warm and under its bound, even when another is idler", async () => {
  const { router, metrics } = setup(replicas({ a: 4, b: 4 }));
  const first = await router.route("m", { session: "s1" });
  assert.deepEqual([first.node.name, first.affinity], ["a", "miss"]);
  const again = await router.route("m", { session: "s1" }); // a has one in flight, b none
  assert.deepEqual([again.node.name, again.affinity], ["a", "hit"]);
  const other = await router.route("m", { session: "s2" });
  assert.deepEqual(
    [other.node.name, other.affinity],
    ["b", "miss"],
    "a new session gets the load-aware choice",
  );
  assert.deepEqual(await outcomes(metrics), { hit: 1, miss: 2, overflow: 0 });
  assert.equal(router.sessions, 2);
});

Deno.test("a saturated home overflows to a replica under its bound, which becomes the home", async () => {
  const { router, metrics } = setup(replicas({ a: 1, b: 1 }));
  const held = await router.route("m", { session: "s1" });
  assert.equal(held.node.name, "a");
  const over = await router.route("m", { session: "s1" });
  assert.deepEqual([over.node.name, over.affinity], ["b", "overflow"]);
  held.release();
  over.release();
  const back = await router.route("m", { session: "s1" });
  assert.deepEqual([back.node.name, back.affinity], ["b", "hit"]);
  assert.deepEqual(await outcomes(metrics), { hit: 1, miss: 1, overflow: 1 });
});

Deno.test("a saturated home is kept when the other replicas are saturated too", async () => {
  const { router } = setup(replicas({ a: 1, b: 1 }));
  const s1 = await router.route("m", { session: "s1" });
  const s2 = await router.route("m", { session: "s2" });
  assert.deepEqual([s1.node.name, s2.node.name], ["a", "b"]);
  const again = await router.route("m", { session: "s1" });
  assert.deepEqual([again.node.name, again.affinity], ["a", "hit"]);
});

Deno.test("a home that goes unhealthy or unloads the model is left for the warm replica, never a cold load", async () => {
  const nodes = replicas({ a: 4, b: 4 });
  const { router, loader } = setup(nodes);
  assert.equal((await router.route("m", { session: "s1" })).node.name, "a");
  nodes[0].markUnreachable("refused");
  const moved = await router.route("m", { session: "s1" });
  assert.deepEqual([moved.node.name, moved.affinity], ["b", "miss"]);
  nodes[0].healthy = true;
  assert.equal((await router.route("m", { session: "s1" })).node.name, "b", "the new home is kept");
  setLoaded(nodes[1], false);
  const unloaded = await router.route("m", { session: "s1" });
  assert.deepEqual([unloaded.node.name, unloaded.affinity], ["a", "miss"]);
  assert.equal(loader.calls, 0);
});

Deno.test("a node that went unhealthy is forgotten as a home, even once it is back", async () => {
  const { router } = setup(replicas({ a: 4, b: 4 }));
  (await router.route("m", { session: "s1" })).release();
  router.forgetNode("a"); // the poller saw it go unhealthy (its caches may be gone) and come back
  const next = await router.route("m", { session: "s1" });
  assert.equal(next.affinity, "miss");
  assert.equal(router.sessions, 1);
});

Deno.test("with no warm replica the model is cold-loaded and the session homed there", async () => {
  const { router, loader, metrics } = setup(replicas({ a: 4, b: 4 }, []));
  const cold = await router.route("m", { session: "s1" });
  assert.deepEqual([cold.node.name, cold.affinity, loader.calls], ["a", "miss", 1]);
  assert.ok(cold.coldLoadMs >= 0);
  const warm = await router.route("m", { session: "s1" });
  assert.deepEqual([warm.node.name, warm.affinity, loader.calls], ["a", "hit", 1]);
  assert.deepEqual(await outcomes(metrics), { hit: 1, miss: 1, overflow: 0 });
});

Deno.test("a request without a session gets the least loaded replica and counts nothing", async () => {
  const { router, metrics } = setup(replicas({ a: 4, b: 4 }));
  const one = await router.route("m");
  const two = await router.route("m");
  assert.deepEqual([one.node.name, two.node.name, one.affinity], ["a", "b", null]);
  assert.deepEqual(await outcomes(metrics), { hit: 0, miss: 0, overflow: 0 });
});

Deno.test("a retry avoids the home that refused the connection", async () => {
  const { router } = setup(replicas({ a: 4, b: 4 }));
  assert.equal((await router.route("m", { session: "s1" })).node.name, "a");
  const retry = await router.route("m", { session: "s1", avoid: ["a"] });
  assert.deepEqual([retry.node.name, retry.affinity], ["b", "miss"]);
});

Deno.test("property: sessions never move off a warm home under its bound, and never cold-load beside a warm replica", async () => {
  for (let seed = 1; seed <= 150; seed++) {
    const rng = new Rng(seed);
    const names = Array.from({ length: 1 + rng.int(4) }, (_, i) => `n${i}`);
    const bounds = Object.fromEntries(names.map((n) => [n, rng.chance(0.15) ? null : 1 + rng.int(3)]));
    const nodes = replicas(bounds, names.filter(() => rng.chance(0.6)));
    const { router, loader } = setup(nodes);
    const fleet = fleetOf(nodes);
    const sessions = Array.from({ length: 1 + rng.int(6) }, (_, i) => `s${i}`);
    const homes = new Map<string, string>(); // the node each session was last sent to
    const held: Route[] = [];
    for (let step = 0; step < 60; step++) {
      const why = `seed ${seed} step ${step}`;
      const action = rng.next();
      if (action < 0.08) {
        const node = rng.pick(nodes);
        node.healthy = !node.healthy;
        if (!node.healthy) {
          router.forgetNode(node.name); // as the gateway does when the poller sees it go
          for (const [s, home] of homes) if (home === node.name) homes.delete(s);
        }
        continue;
      }
      if (action < 0.16) {
        const node = rng.pick(nodes);
        setLoaded(node, node.models.get("m")?.status !== "loaded");
        continue;
      }
      if (action < 0.4 && held.length > 0) {
        held.splice(rng.int(held.length), 1)[0].release();
        continue;
      }
      const session = rng.pick(sessions);
      const warm = fleet.replicas("m");
      const home = nodes.find((n) => n.name === homes.get(session));
      const homeWarm = home?.serves("m") ?? false; // before routing: a cold load changes it
      const homeOpen = homeWarm && underItsBound(home!);
      const relief = warm.find((n) => n !== home && underItsBound(n));
      const loadsBefore = loader.calls;
      let route: Route;
      try {
        route = await router.route("m", { session });
      } catch (error) {
        assert.equal(warm.length, 0, `${why}: refused with a warm replica: ${error}`);
        assert.equal(fleet.healthyNodes().length, 0, `${why}: refused with a healthy node`);
        continue;
      }
      if (warm.length > 0) {
        assert.equal(loader.calls, loadsBefore, `${why}: cold load beside a warm replica`);
        assert.ok(warm.includes(route.node), `${why}: a warm replica is chosen`);
      } else {
        assert.equal(loader.calls, loadsBefore + 1, `${why}: nothing warm, so a cold load`);
        assert.equal(route.affinity, "miss", why);
      }
      if (homeOpen) {
        assert.equal(route.node, home, `${why}: moved off a warm home under its bound`);
        assert.equal(route.affinity, "hit", why);
      } else if (homeWarm && relief) {
        assert.deepEqual([route.node, route.affinity], [relief, "overflow"], why);
      } else if (homeWarm) {
        assert.deepEqual([route.node, route.affinity], [home, "hit"], `${why}: nowhere better to go`);
      } else if (warm.length > 0) {
        assert.deepEqual([route.node, route.affinity], [warm[0], "miss"], `${why}: the load-aware choice`);
      }
      homes.set(session, route.node.name);
      if (rng.chance(0.6)) held.push(route);
      else route.release();
    }
  }
});
