import assert from "node:assert/strict";
import { NodeLost, type NodeState } from "./node_state.ts";
import { Poller } from "./poller.ts";
import { info, polledFleet } from "./_test_fleet.ts";

Deno.test("a proxied call that finds the node refusing takes it out of rotation, reported like a poll's", async () => {
  // The test fleet's nodes point at 127.0.0.1:9, where nothing listens: the confirming poll fails too.
  const { fleet, scheduler } = polledFleet([{
    name: "a",
    models: [info("m", { status: "loaded", devices: [0] })],
  }]);
  const node = fleet.nodes[0];
  const changes: [string, boolean][] = [];
  const failures: string[] = [];
  const sink = {
    pollAnswered: scheduler.pollAnswered.bind(scheduler),
    pollFailed: scheduler.pollFailed.bind(scheduler),
    nodeUnreachable: (name: string, message: string) => {
      const was = scheduler.nodeUnreachable(name, message);
      if (was) changes.push([name, false]);
      return was;
    },
  };
  const poller = new Poller(fleet, () => sink, {
    intervalMs: 60_000,
    onFailure: (n: NodeState) => failures.push(n.name),
  });
  const waiting = node.lostSignal;
  poller.reportUnreachable(node, "neuron 'a' is unreachable: connection refused");
  assert.equal(node.healthy, false);
  assert.ok(waiting.aborted && waiting.reason instanceof NodeLost, "calls waiting on the node end");
  assert.deepEqual(changes, [["a", false]]);
  assert.equal(node.lastError, "neuron 'a' is unreachable: connection refused");
  assert.equal(scheduler.replicas("m").length, 0, "nothing is routed to it");
  poller.reportUnreachable(node, "again");
  assert.equal(changes.length, 1, "a node already out of rotation is not reported twice");
  await poller.stop(); // waits for the confirming polls
  assert.ok(failures.length >= 1, "a poll confirmed the verdict");
  assert.equal(node.healthy, false);
});

Deno.test("a silent node is polled at once, and one failed poll alone leaves it in rotation", async () => {
  const { fleet, scheduler } = polledFleet([{ name: "a", models: [] }]);
  const node = fleet.nodes[0];
  let failures = 0;
  const poller = new Poller(fleet, () => scheduler, {
    intervalMs: 60_000,
    onFailure: () => failures++,
  });
  poller.reportSilent(node);
  await poller.stop();
  assert.equal(failures, 1);
  assert.equal(node.healthy, true);
  assert.equal(node.lostSignal.aborted, false);
});
