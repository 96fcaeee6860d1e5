import assert from "node:assert/strict";
import { CortexError } from "@cortex/core/errors";
import { readJsonBody, requireModel } from "./body.ts";

function post(body: BodyInit, headers: Record<string, string> = {}): Request {
  return new Request("http://x/v1/chat/completions", { method: "POST", body, headers });
}

// Whether `error` is a CortexError with every field of `expected`.
const cortexError =
  (expected: Partial<Pick<CortexError, "status" | "code">> & { message?: RegExp }) =>
  (error: unknown): boolean =>
    error instanceof CortexError &&
    (expected.status === undefined || error.status === expected.status) &&
    (expected.code === undefined || error.code === expected.code) &&
    (expected.message === undefined || expected.message.test(error.message));

Deno.test("a JSON object body is parsed and its bytes kept", async () => {
  const { json, bytes } = await readJsonBody(post('{"model":"m"}'), 1024);
  assert.deepEqual(json, { model: "m" });
  assert.equal(new TextDecoder().decode(bytes), '{"model":"m"}');
});

Deno.test("bodies over the limit are 413, by content-length or while streaming", async () => {
  const big = "x".repeat(2048);
  await assert.rejects(readJsonBody(post(big), 1024), cortexError({ status: 413 }));
  const stream = new ReadableStream({
    start(c) {
      for (let i = 0; i < 4; i++) c.enqueue(new TextEncoder().encode("x".repeat(400)));
      c.close();
    },
  });
  await assert.rejects(
    readJsonBody(new Request("http://x/", { method: "POST", body: stream }), 1024),
    cortexError({ code: "request_too_large", message: /body_limit_mb/ }),
  );
});

Deno.test("malformed JSON is 400 malformed_json; a non-object is 400 invalid_request_body", async () => {
  await assert.rejects(
    readJsonBody(post("{nope"), 1024),
    cortexError({ code: "malformed_json", status: 400 }),
  );
  await assert.rejects(
    readJsonBody(post("[1,2]"), 1024),
    cortexError({ code: "invalid_request_body", status: 400 }),
  );
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
