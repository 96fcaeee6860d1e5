import assert from "node:assert/strict";
import { CortexError } from "@cortex/core/errors";
import { readJsonBody, requireModel } from "./body.ts";

function post(body: BodyInit, headers: Record<string, string> = {}): Request {
  return new Request("http://x/v1/chat/completions", { method: "POST", body, headers });
}

async function rejection(promise: Promise<unknown>): Promise<CortexError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CortexError);
    return error;
  }
  throw new Error("expected a rejection");
}

Deno.test("a JSON object body is parsed and its bytes kept", async () => {
  const { json, bytes } = await readJsonBody(post('{"model":"m"}'), 1024);
  assert.deepEqual(json, { model: "m" });
  assert.equal(new TextDecoder().decode(bytes), '{"model":"m"}');
});

Deno.test("bodies over the limit are 413, by content-length or while streaming", async () => {
  const big = "x".repeat(2048);
  assert.equal((await rejection(readJsonBody(post(big), 1024))).status, 413);
  const stream = new ReadableStream({
    start(c) {
      for (let i = 0; i < 4; i++) c.enqueue(new TextEncoder().encode("x".repeat(400)));
      c.close();
    },
  });
  const err = await rejection(readJsonBody(new Request("http://x/", { method: "POST", body: stream }), 1024));
  assert.equal(err.code, "request_too_large");
  assert.match(err.message, /body_limit_mb/);
});

Deno.test("malformed JSON is 400 malformed_json; a non-object is 400 invalid_request_body", async () => {
  const bad = await rejection(readJsonBody(post("{nope"), 1024));
  assert.equal(bad.code, "malformed_json");
  assert.equal(bad.status, 400);
  assert.equal((await rejection(readJsonBody(post("[1,2]"), 1024))).code, "invalid_request_body");
});

Deno.test("requireModel names the field", () => {
  assert.equal(requireModel({ model: "m" }), "m");
  for (const body of [{}, { model: 3 }, { model: "" }]) {
    assert.throws(
      () => requireModel(body),
      (e: CortexError) => e.code === "missing_model_field" && e.param === "model",
    );
  }
});
