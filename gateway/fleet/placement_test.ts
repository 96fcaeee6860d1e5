import assert from "node:assert/strict";
import { planPlacement } from "./placement.ts";
import type { EvictionPolicy, ModelRequirement, NodeView, ResidentModel } from "./types.ts";

const NOW = 1_000_000_000;
const LRU: EvictionPolicy = { strategy: "lru", minResidencySeconds: 0 };

function node(name: string, freeMb: number, over: Partial<NodeView> = {}, totalMb = 32768): NodeView {
  return {
    name,
    healthy: true,
    discovered: true,
    devices: [{ index: 0, totalMb, freeMb }],
    residents: [],
    ...over,
  };
}

function resident(id: string, memoryMb: number, over: Partial<ResidentModel> = {}): ResidentModel {
  return {
    id,
    status: "loaded",
    devices: [0],
    memoryMb,
    inFlight: 0,
    lastUsedMs: NOW - 60_000,
    loadedAtMs: NOW - 600_000,
    priority: 100,
    ...over,
  };
}

function want(memoryMb: number, over: Partial<ModelRequirement> = {}): ModelRequirement {
  return { id: "m", memoryMb, minDevices: 1, minDeviceMemoryMb: null, pinnedOn: [], priority: 100, ...over };
}

Deno.test("a node with room beats a node that would need evictions", () => {
  const result = planPlacement(
    [node("a", 100, { residents: [resident("x", 30000)] }), node("b", 5000)],
    want(4000),
    LRU,
    NOW,
  );
  assert.ok(result.ok);
  assert.equal(result.ok && result.fit.node, "b");
  assert.deepEqual(result.ok && result.fit.victims, []);
});

Deno.test("among nodes with room, the one with the most free memory wins; ties go by name", () => {
  const r1 = planPlacement([node("a", 5000), node("b", 9000)], want(1000), LRU, NOW);
  assert.equal(r1.ok && r1.fit.node, "b");
  const r2 = planPlacement([node("b", 5000), node("a", 5000)], want(1000), LRU, NOW);
  assert.equal(r2.ok && r2.fit.node, "a");
});

Deno.test("when every node needs evictions, the one evicting least memory wins", () => {
  const result = planPlacement(
    [
      node("a", 0, { residents: [resident("big", 32768)] }),
      node("b", 0, { residents: [resident("s1", 16384), resident("s2", 16384)] }),
    ],
    want(10000),
    LRU,
    NOW,
  );
  assert.ok(result.ok);
  assert.equal(result.ok && result.fit.node, "b");
  assert.deepEqual(result.ok && result.fit.victims.map((v) => v.id), ["s1"]);
});

Deno.test("pinned_on restricts placement to the pinned nodes", () => {
  const result = planPlacement(
    [node("a", 30000), node("b", 2000)],
    want(1000, { pinnedOn: ["b"] }),
    LRU,
    NOW,
  );
  assert.equal(result.ok && result.fit.node, "b");
  const refused = planPlacement(
    [node("a", 30000), node("b", 2000, { healthy: false })],
    want(1000, {
      pinnedOn: ["b"],
    }),
    LRU,
    NOW,
  );
  assert.ok(!refused.ok);
  assert.equal(!refused.ok && refused.refusal.code, "feasible_node_unhealthy");
  assert.equal(!refused.ok && refused.refusal.retryAfterS, 3);
  assert.match(!refused.ok ? refused.refusal.message : "", /pinned on 'b'.*could go on 'b', unhealthy now/);
});

Deno.test("unhealthy and undiscovered nodes receive no placement", () => {
  const result = planPlacement(
    [node("a", 30000, { healthy: false }), node("b", 30000, { discovered: false }), node("c", 2000)],
    want(1000),
    LRU,
    NOW,
  );
  assert.equal(result.ok && result.fit.node, "c");
});

Deno.test("the refusal says what is needed and the largest free memory per node", () => {
  const result = planPlacement([node("benjy", 16384, {}, 24576)], want(24000), LRU, NOW);
  assert.ok(!result.ok);
  const refusal = !result.ok ? result.refusal : undefined;
  assert.equal(refusal?.code, "insufficient_memory");
  assert.equal(
    refusal?.message,
    "model 'm' needs 24000 MB on one device; on 'benjy' the largest free is 16384 MB",
  );
  assert.equal(refusal?.retryAfterS, null);
});

Deno.test("a refusal blocked by requests in flight is retryable", () => {
  const result = planPlacement(
    [node("a", 0, { residents: [resident("busy", 32768, { inFlight: 1 })] })],
    want(1000),
    LRU,
    NOW,
  );
  assert.ok(!result.ok);
  assert.equal(!result.ok && result.refusal.retryAfterS, 5);
  assert.match(!result.ok ? result.refusal.message : "", /'busy' has 1 request in flight/);
});

Deno.test("no device anywhere large enough is a permanent no_feasible_node", () => {
  const result = planPlacement([node("a", 8000, {}, 8000), node("b", 4000, {}, 4000)], want(24000), LRU, NOW);
  assert.ok(!result.ok);
  assert.equal(!result.ok && result.refusal.code, "no_feasible_node");
  assert.equal(!result.ok && result.refusal.retryAfterS, null);
  assert.match(!result.ok ? result.refusal.message : "", /on 'a' its largest device has 8000 MB in all/);
});

Deno.test("no healthy node at all is a retryable no_healthy_nodes", () => {
  const result = planPlacement([node("a", 30000, { healthy: false })], want(1000), LRU, NOW);
  assert.ok(!result.ok);
  assert.equal(!result.ok && result.refusal.code, "no_healthy_nodes");
  assert.equal(!result.ok && result.refusal.retryAfterS, 5);
});

Deno.test("excluded nodes (that cannot load the model) are skipped", () => {
  const result = planPlacement(
    [node("a", 30000), node("b", 2000)],
    want(1000, { excludedNodes: ["a"] }),
    LRU,
    NOW,
  );
  assert.equal(result.ok && result.fit.node, "b");
});
