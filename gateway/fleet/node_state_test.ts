import assert from "node:assert/strict";
import { NeuronClient } from "./neuron_client.ts";
import { NodeLost, NodeState } from "./node_state.ts";
import { discovery, health, info, modelStats, polledNode } from "./_test_fleet.ts";

Deno.test("a node is unhealthy until its first poll, and after N failures in a row", () => {
  const node = polledNode("a", []);
  assert.equal(node.healthy, true);
  assert.equal(node.recordFailure("refused", 2), false);
  assert.equal(node.healthy, true);
  assert.equal(node.recordFailure("refused", 2), true);
  assert.equal(node.healthy, false);
  assert.equal(node.lastError, "refused");
  const became = node.applyPoll({
    discovery: null,
    models: [],
    health: health([{ total: 1000, free: 1000 }]),
  }, 1);
  assert.equal(became, true);
  assert.equal(node.consecutiveFailures, 0);
});

Deno.test("models that disappear are pruned; each poll replaces the report", () => {
  const node = polledNode("a", [info("m1", { status: "loaded", devices: [0] }), info("m2")]);
  node.applyPoll({
    discovery: null,
    models: [info("m2", { status: "loaded", devices: [0], memory_used_mb: 300 })],
    health: health([{ total: 1000, free: 700 }]),
  }, 5_000);
  assert.deepEqual([...node.models.keys()], ["m2"]);
  assert.equal(node.models.get("m2")?.status, "loaded");
  assert.deepEqual(node.devices(), [{ index: 0, totalMb: 1000, freeMb: 700 }]);
  assert.equal(node.lastPollMs, 5_000);
});

Deno.test("a draining neuron is healthy but says so", () => {
  const node = polledNode("a", []);
  node.applyPoll({
    discovery: null,
    models: [],
    health: { ...health([{ total: 1000, free: 1000 }]), status: "draining" },
  }, 1);
  assert.deepEqual([node.healthy, node.draining], [true, true]);
});

Deno.test("without /health devices, free memory is total minus what the neuron reports resident", () => {
  const node = new NodeState(
    "a",
    new NeuronClient({ name: "a", endpoint: "http://127.0.0.1:9", token: null, timeoutMs: 1 }),
  );
  node.applyPoll({
    discovery: discovery([1000, 500]),
    models: [info("tp", { status: "loaded", devices: [0, 1], memory_used_mb: 400 })],
    health: health([]),
  }, 1);
  assert.deepEqual(node.devices(), [{ index: 0, totalMb: 1000, freeMb: 800 }, {
    index: 1,
    totalMb: 500,
    freeMb: 300,
  }]);
});

Deno.test("the load bound is the neuron's max_in_flight for the model, null when not reported", () => {
  const node = polledNode("a", [info("m", { status: "loaded", devices: [0] })]);
  assert.equal(node.loadBound("m"), null);
  node.applyPoll({
    discovery: null,
    models: [info("m", { status: "loaded", devices: [0] })],
    health: health([{ total: 1000, free: 700 }], [modelStats("m", { in_flight: 2, queue_depth: 1 })]),
  }, 1);
  assert.equal(node.loadBound("m"), 4);
  assert.equal(node.reportedInFlight("m"), 3, "in flight plus queued, as the neuron counts them");
});

Deno.test("the lost signal aborts with NodeLost when the node goes unhealthy; a fresh one once it is back", () => {
  const node = polledNode("a", []);
  const before = node.lostSignal;
  assert.equal(node.recordFailure("timeout", 2), false);
  assert.equal(before.aborted, false, "one failed poll ends nothing");
  node.recordFailure("timeout", 2);
  assert.equal(before.aborted, true);
  assert.ok(before.reason instanceof NodeLost);
  assert.equal(before.reason.status, 502);
  assert.equal(before.reason.code, "upstream_connection_error");
  assert.ok(!before.reason.message.includes("127.0.0.1"), "no address in a client-facing text");
  node.applyPoll({ discovery: null, models: [], health: health([{ total: 1000, free: 1000 }]) }, 1);
  assert.notEqual(node.lostSignal, before);
  assert.equal(node.lostSignal.aborted, false);
  node.markUnreachable("refused");
  assert.equal(node.lostSignal.aborted, true, "a refused proxied connection ends the calls too");
});
