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

Deno.test("admission: Retry-After is the queue ahead drained at the observed service time", async () => {
  let now = 0;
  const admission = new Admission({ maxInFlight: 4, maxQueue: 16, maxWaitMs: 60_000 }, { now: () => now });
  // Seats held 200 ms each: the service time the estimate learns.
  for (let i = 0; i < 5; i++) {
    const seat = await admission.acquire();
    now += 200;
    seat.release();
  }
  assert.equal(Math.round(admission.serviceMs), 200);
  const seats = await Promise.all([0, 1, 2, 3].map(() => admission.acquire()));
  const queued = Array.from({ length: 16 }, () => admission.acquire());
  const refused = await admission.acquire().then(() => null, (e: unknown) => e);
  assert.ok(refused instanceof CortexError);
  // 17th in line, 4 seats, 0.2 s each: 0.85 s → 1 s (the fixed rule said 34 s).
  assert.equal(refused.retryAfter, 1);
  for (const seat of seats) seat.release();
  for (const waiting of queued) (await waiting).release();
});

Deno.test("admission: slow seats make Retry-After grow with the queue position", async () => {
  let now = 0;
  const admission = new Admission({ maxInFlight: 2, maxQueue: 3, maxWaitMs: 60_000 }, { now: () => now });
  const first = await admission.acquire();
  now += 10_000;
  first.release(); // one 10 s generation observed
  const seats = [await admission.acquire(), await admission.acquire()];
  const queued = [admission.acquire(), admission.acquire(), admission.acquire()];
  const refused = await admission.acquire().then(() => null, (e: unknown) => e);
  assert.ok(refused instanceof CortexError);
  // 4th in line, 2 seats, 10 s each: 20 s.
  assert.equal(refused.retryAfter, 20);
  for (const seat of seats) seat.release();
  for (const waiting of queued) (await waiting).release();
});

Deno.test("admission: before any seat is released, the oldest seat's age is the service time", async () => {
  let now = 0;
  const admission = new Admission({ maxInFlight: 1, maxQueue: 1, maxWaitMs: 60_000 }, { now: () => now });
  assert.equal(admission.serviceMs, 1000, "at least a second when nothing is known");
  const seat = await admission.acquire();
  now += 7_000;
  const queued = admission.acquire();
  const refused = await admission.acquire().then(() => null, (e: unknown) => e);
  assert.ok(refused instanceof CortexError);
  assert.equal(refused.retryAfter, 14); // 2nd in line, one seat held 7 s so far
  seat.release();
  (await queued).release();
});
