import assert from "node:assert/strict";
import type { CortexError } from "@cortex/core/errors";
import { readUpstreamBody, relay, type RelayOutcome } from "./relay.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function source(parts: string[], failAfter = false): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (i < parts.length) c.enqueue(enc.encode(parts[i++]));
      else if (failAfter) c.error(new Error("socket closed"));
      else c.close();
    },
  });
}

function hooks(outcomes: RelayOutcome[], errors: CortexError[] = []) {
  return {
    transform: (chunk: Uint8Array) => dec.decode(chunk).toUpperCase(),
    flush: () => "<end>",
    fail: (e: CortexError) => {
      errors.push(e);
      return "<error>";
    },
    close: (o: RelayOutcome) => void outcomes.push(o),
  };
}

Deno.test("relay transforms every chunk and appends flush output once the upstream ends", async () => {
  const outcomes: RelayOutcome[] = [];
  const text = await new Response(relay(source(["a", "b"]), hooks(outcomes), 1000)).text();
  assert.equal(text, "AB<end>");
  assert.deepEqual(outcomes, ["completed"]);
});

Deno.test("an upstream failure mid-stream becomes the error event and a clean end", async () => {
  const outcomes: RelayOutcome[] = [];
  const errors: CortexError[] = [];
  const text = await new Response(relay(source(["a"], true), hooks(outcomes, errors), 1000)).text();
  assert.equal(text, "A<error>");
  assert.deepEqual(outcomes, ["upstream_error"]);
  assert.match(errors[0].message, /socket closed/);
});

Deno.test("silence longer than the idle timeout fails the stream", async () => {
  const outcomes: RelayOutcome[] = [];
  const errors: CortexError[] = [];
  const silent = new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(enc.encode("x")) });
  const text = await new Response(relay(silent, hooks(outcomes, errors), 50)).text();
  assert.equal(text, "X<error>");
  assert.equal(errors[0].code, "upstream_timeout");
});

Deno.test("cancelling the relayed stream cancels the upstream", async () => {
  let cancelled = false;
  const upstream = new ReadableStream<Uint8Array>({
    pull: (c) => c.enqueue(enc.encode("tick")),
    cancel: () => void (cancelled = true),
  });
  const outcomes: RelayOutcome[] = [];
  const reader = relay(upstream, hooks(outcomes), 1000).getReader();
  await reader.read();
  await reader.cancel();
  assert.equal(cancelled, true);
  assert.deepEqual(outcomes, ["client_cancelled"]);
});

Deno.test("a slow client is not mistaken for a silent upstream", async () => {
  const outcomes: RelayOutcome[] = [];
  const reader = relay(source(["a", "b"]), hooks(outcomes), 30).getReader();
  assert.equal(dec.decode((await reader.read()).value), "A");
  await new Promise((r) => setTimeout(r, 120)); // the client dawdles past the idle timeout
  assert.equal(dec.decode((await reader.read()).value), "B");
  assert.equal(dec.decode((await reader.read()).value), "<end>");
  assert.equal((await reader.read()).done, true);
  assert.deepEqual(outcomes, ["completed"]);
});

Deno.test("when the ended hook says the client's stream is over, the relay closes it and cancels the upstream", async () => {
  let cancelled = false;
  const upstream = new ReadableStream<Uint8Array>({
    pull: (c) => c.enqueue(enc.encode("tick")),
    cancel: () => void (cancelled = true),
  });
  const outcomes: RelayOutcome[] = [];
  let chunks = 0;
  const stream = relay(upstream, { ...hooks(outcomes), ended: () => ++chunks === 2 }, 1000);
  assert.equal(await new Response(stream).text(), "TICKTICK");
  assert.equal(cancelled, true);
  assert.deepEqual(outcomes, ["completed"]);
});

Deno.test("readUpstreamBody concatenates chunks and turns silence or breakage into errors", async () => {
  assert.equal(dec.decode(await readUpstreamBody(source(['{"a":', "1}"]), 1000)), '{"a":1}');
  const silent = new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(enc.encode("{")) });
  await assert.rejects(readUpstreamBody(silent, 30), (e: CortexError) => e.code === "upstream_timeout");
  await assert.rejects(
    readUpstreamBody(source(["{"], true), 1000),
    (e: CortexError) => e.code === "upstream_connection_error" && /socket closed/.test(e.message),
  );
});
