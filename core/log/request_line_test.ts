import assert from "node:assert/strict";
import { newRequestLine, onResponseEnd } from "./request_line.ts";
import { requestIdFrom } from "./request_id.ts";

Deno.test("request id: a short token is kept, anything else becomes a fresh UUID", () => {
  assert.equal(requestIdFrom("req_1.a:b-c"), "req_1.a:b-c");
  for (const bad of [null, undefined, "", "has space", "x".repeat(129), "new\nline"]) {
    assert.match(requestIdFrom(bad), /^[0-9a-f-]{36}$/);
  }
});

Deno.test("request line: starts with every figure null", () => {
  const line = newRequestLine("r", "POST", "/v1/chat/completions");
  assert.equal(line.request_id, "r");
  assert.equal(line.status, null);
  assert.equal(line.prompt_tokens, null);
  assert.ok(!("prompt" in line));
});

Deno.test("onResponseEnd: called once after the last byte, or when the reader cancels, or at once without a body", async () => {
  const seen: string[] = [];
  const full = onResponseEnd(new Response("hello"), (o) => seen.push(`a:${o}`));
  assert.deepEqual([...seen], []);
  assert.equal(await full.text(), "hello");
  assert.deepEqual([...seen], ["a:completed"]);

  let cancelled = false;
  const endless = new ReadableStream<Uint8Array>({
    pull: (c) => c.enqueue(new Uint8Array([1])),
    cancel: () => {
      cancelled = true;
    },
  });
  const cut = onResponseEnd(new Response(endless, { status: 201 }), (o) => seen.push(`b:${o}`));
  assert.equal(cut.status, 201);
  const reader = cut.body!.getReader();
  await reader.read();
  await reader.cancel();
  assert.ok(cancelled, "the inner body is cancelled too");
  assert.deepEqual([...seen], ["a:completed", "b:cancelled"]);

  onResponseEnd(new Response(null, { status: 204 }), (o) => seen.push(`c:${o}`));
  assert.deepEqual([...seen], ["a:completed", "b:cancelled", "c:completed"]);
});
