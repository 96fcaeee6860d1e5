import assert from "node:assert/strict";
import { NodeLost, type NodeState } from "./node_state.ts";
import { Poller } from "./poller.ts";
import { fleetOf, info, polledNode } from "./_test_fleet.ts";

Deno.test("a proxied call that finds the node refusing takes it out of rotation, reported like a poll's", async () => {
  // The test fleet's nodes point at 127.0.0.1:9, where nothing listens: the confirming poll fails too.
  const node = polledNode("a", [info("m", { status: "loaded", devices: [0] })]);
  const changes: [string, boolean, string | null][] = [];
  const failures: string[] = [];
  const poller = new Poller(fleetOf([node]), {
    intervalMs: 60_000,
    unhealthyAfter: 2,
    onHealthChange: (n: NodeState, healthy, reason) => changes.push([n.name, healthy, reason]),
    onFailure: (n: NodeState) => failures.push(n.name),
  });
  const waiting = node.lostSignal;
  poller.reportUnreachable(node, "neuron 'a' is unreachable: connection refused");
  assert.equal(node.healthy, false);
  assert.ok(waiting.aborted && waiting.reason instanceof NodeLost, "calls waiting on the node end");
  assert.deepEqual(changes, [["a", false, "neuron 'a' is unreachable: connection refused"]]);
  poller.reportUnreachable(node, "again");
  assert.equal(changes.length, 1, "a node already out of rotation is not reported twice");
  await poller.stop(); // waits for the confirming polls
  assert.ok(failures.length >= 1, "a poll confirmed the verdict");
  assert.equal(node.healthy, false);
});

Deno.test("a silent node is polled at once, and one failed poll alone leaves it in rotation", async () => {
  const node = polledNode("a", []);
  let failures = 0;
  const poller = new Poller(fleetOf([node]), {
    intervalMs: 60_000,
    unhealthyAfter: 2,
    onFailure: () => failures++,
  });
  poller.reportSilent(node);
  await poller.stop();
  assert.equal(failures, 1);
  assert.equal(node.healthy, true);
  assert.equal(node.lostSignal.aborted, false);
});
