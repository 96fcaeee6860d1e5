import assert from "node:assert/strict";
import { sseResponse } from "./sse.ts";

Deno.test("sse: frames are data lines, named events carry an event line", async () => {
  const response = sseResponse((sink) => {
    sink.send({ a: 1 });
    sink.send({ type: "x" }, "response.created");
    sink.send("[DONE]");
    return Promise.resolve();
  });
  assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
  assert.equal(
    await response.text(),
    'data: {"a":1}\n\nevent: response.created\ndata: {"type":"x"}\n\ndata: [DONE]\n\n',
  );
});

Deno.test("sse: silence is filled with keep-alive comments", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const response = sseResponse(async (sink) => {
    await gate;
    sink.send({ done: true });
  }, { keepAliveMs: 20 });
  const reader = response.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  assert.equal(first, ": keep-alive\n\n");
  release();
  let rest = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    rest += new TextDecoder().decode(value);
  }
  assert.ok(rest.endsWith('data: {"done":true}\n\n'), rest);
});

Deno.test("sse: cancelling the body aborts the producer's signal", async () => {
  let seenAbort = false;
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const finished = Promise.withResolvers<void>();
  const response = sseResponse(async (sink) => {
    started();
    await new Promise<void>((resolve) => sink.signal.addEventListener("abort", () => resolve()));
    seenAbort = sink.signal.aborted;
    sink.send({ late: true }); // must not throw after cancel
    finished.resolve();
  });
  await running;
  await response.body!.cancel();
  await finished.promise;
  assert.equal(seenAbort, true);
});
