import assert from "node:assert/strict";
import { ConnectionSlots } from "./connection_slots.ts";

Deno.test("connection slots: at most max are taken; waiters are served in arrival order", async () => {
  const slots = new ConnectionSlots(2);
  const a = await slots.acquire();
  const b = await slots.acquire();
  const order: string[] = [];
  const c = slots.acquire().then((release) => (order.push("c"), release));
  const d = slots.acquire().then((release) => (order.push("d"), release));
  assert.equal(slots.inUse, 2);
  assert.equal(slots.waiting, 2);
  a();
  a(); // idempotent: frees one slot, not two
  const releaseC = await c;
  assert.deepEqual(order, ["c"]);
  assert.equal(slots.waiting, 1);
  b();
  const releaseD = await d;
  assert.deepEqual(order, ["c", "d"]);
  assert.equal(slots.inUse, 2);
  releaseC();
  releaseD();
  assert.equal(slots.inUse, 0);
});

Deno.test("connection slots: a waiter whose signal aborts leaves the queue with the reason", async () => {
  const slots = new ConnectionSlots(1);
  const held = await slots.acquire();
  const abort = new AbortController();
  const waiting = slots.acquire(abort.signal);
  const reason = new Error("node lost");
  abort.abort(reason);
  await assert.rejects(waiting, (e) => e === reason);
  assert.equal(slots.waiting, 0);
  held();
  assert.equal(slots.inUse, 0, "the aborted waiter was not granted the freed slot");
  await assert.rejects(slots.acquire(abort.signal), (e) => e === reason);
});
