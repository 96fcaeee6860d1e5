import assert from "node:assert/strict";
import { CortexError } from "@cortex/core/errors";
import { Admission } from "./admission.ts";

Deno.test("admission: seats are granted up to max_in_flight, then waiters queue FIFO", async () => {
  const admission = new Admission({ maxInFlight: 2, maxQueue: 2, maxWaitMs: 10_000 });
  const a = await admission.acquire();
  await admission.acquire();
  const order: string[] = [];
  const third = admission.acquire().then((seat) => (order.push("third"), seat));
  const fourth = admission.acquire().then((seat) => (order.push("fourth"), seat));
  assert.deepEqual({ ...admission.stats, completed: 0 }, {
    inFlight: 2,
    queueDepth: 2,
    rejectedQueueFull: 0,
    rejectedTimeout: 0,
    completed: 0,
  });
  a.release();
  a.release(); // idempotent: frees one seat only
  (await third).release();
  await fourth;
  assert.deepEqual(order, ["third", "fourth"]);
  assert.equal(admission.stats.inFlight, 2);
  assert.equal(admission.stats.completed, 2);
});

Deno.test("admission: a full queue is a 429 with Retry-After and counted", async () => {
  const admission = new Admission({ maxInFlight: 1, maxQueue: 1, maxWaitMs: 10_000 });
  const seat = await admission.acquire();
  const waiting = admission.acquire();
  await assert.rejects(admission.acquire(), (error: unknown) => {
    assert.ok(error instanceof CortexError);
    assert.equal(error.status, 429);
    assert.equal(error.code, "rate_limit_exceeded");
    assert.ok(error.retryAfter !== null && error.retryAfter >= 1);
    assert.match(error.message, /1 requests running and 1 queued/);
    return true;
  });
  assert.equal(admission.stats.rejectedQueueFull, 1);
  seat.release();
  (await waiting).release();
  await admission.whenIdle();
});

Deno.test("admission: a wait longer than max_wait is a 429", async () => {
  const admission = new Admission({ maxInFlight: 1, maxQueue: 4, maxWaitMs: 20 });
  const seat = await admission.acquire();
  await assert.rejects(
    admission.acquire(),
    (error: unknown) => error instanceof CortexError && error.status === 429,
  );
  assert.equal(admission.stats.rejectedTimeout, 1);
  assert.equal(admission.stats.queueDepth, 0);
  seat.release();
});

Deno.test("admission: an aborted waiter leaves the queue; close refuses waiters and newcomers", async () => {
  const admission = new Admission({ maxInFlight: 1, maxQueue: 4, maxWaitMs: 10_000 });
  const seat = await admission.acquire();
  const controller = new AbortController();
  const aborted = admission.acquire(controller.signal);
  controller.abort(new Error("client gone"));
  await assert.rejects(aborted, /client gone/);
  assert.equal(admission.stats.queueDepth, 0);
  const queued = admission.acquire();
  const closing = new CortexError("draining", { code: "shutting_down", status: 503 });
  admission.close(closing);
  await assert.rejects(queued, (error: unknown) => error === closing);
  await assert.rejects(admission.acquire(), (error: unknown) => error === closing);
  let idle = false;
  const idlePromise = admission.whenIdle().then(() => (idle = true));
  await Promise.resolve();
  assert.equal(idle, false, "a taken seat keeps the model busy");
  seat.release();
  await idlePromise;
  assert.equal(idle, true);
});
