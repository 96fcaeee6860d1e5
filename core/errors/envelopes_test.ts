import assert from "node:assert/strict";
import { CortexError, toCortexError } from "./cortex_error.ts";
import {
  AnthropicErrorBodySchema,
  errorHeaders,
  fromOpenAIErrorBody,
  OpenAIErrorBodySchema,
  toAnthropicErrorBody,
  toOpenAIErrorBody,
} from "./envelopes.ts";

Deno.test("one error renders as an OpenAI envelope with extras inside `error`", () => {
  const error = new CortexError("This model's maximum context length is 8 tokens.", {
    code: "context_length_exceeded",
    status: 400,
    param: "messages",
    extras: { max: 8, prompt_tokens: 12 },
  });
  assert.deepEqual(toOpenAIErrorBody(error), {
    error: {
      message: "This model's maximum context length is 8 tokens.",
      type: "invalid_request_error",
      code: "context_length_exceeded",
      param: "messages",
      max: 8,
      prompt_tokens: 12,
    },
  });
  assert.ok(OpenAIErrorBodySchema.safeParse(toOpenAIErrorBody(error)).success);
  assert.deepEqual(errorHeaders(error), {});
});

Deno.test("statuses map to the dialects' error types; retry-after becomes a header", () => {
  const cases: [number, string, string, string][] = [
    [400, "invalid_request_body", "invalid_request_error", "invalid_request_error"],
    [401, "invalid_api_key", "invalid_request_error", "authentication_error"],
    [403, "permission_denied", "permission_error", "permission_error"],
    [404, "model_not_found", "invalid_request_error", "not_found_error"],
    [413, "request_too_large", "invalid_request_error", "request_too_large"],
    [429, "rate_limit_exceeded", "rate_limit_error", "rate_limit_error"],
    [429, "insufficient_quota", "insufficient_quota", "rate_limit_error"],
    [500, "internal_error", "api_error", "api_error"],
    [503, "service_unavailable", "api_error", "overloaded_error"],
  ];
  for (const [status, code, openai, anthropic] of cases) {
    const error = new CortexError("m", { code, status, retryAfter: 2.2 });
    assert.equal(toOpenAIErrorBody(error).error.type, openai, code);
    const body = toAnthropicErrorBody(error);
    assert.deepEqual(body, { type: "error", error: { type: anthropic, message: "m" } });
    assert.ok(AnthropicErrorBodySchema.safeParse(body).success);
    assert.deepEqual(errorHeaders(error), { "retry-after": "3" });
  }
});

Deno.test("an upstream envelope is read back with its status, code and extras", () => {
  const error = fromOpenAIErrorBody(503, {
    error: {
      message: "queue full",
      type: "rate_limit_error",
      code: "rate_limit_exceeded",
      param: null,
      depth: 9,
    },
  }, 6);
  assert.equal(error.status, 503);
  assert.equal(error.code, "rate_limit_exceeded");
  assert.equal(error.retryAfter, 6);
  assert.deepEqual(error.extras, { depth: 9 });
  assert.equal(toAnthropicErrorBody(error).error.message, "queue full");
  const opaque = fromOpenAIErrorBody(502, "<html>bad gateway</html>");
  assert.equal(opaque.code, "upstream_error");
  assert.equal(opaque.message, "upstream returned 502");
});

Deno.test("anything thrown becomes a 500 internal_error; a CortexError passes through", () => {
  const original = new CortexError("x", { code: "model_not_found", status: 404 });
  assert.equal(toCortexError(original), original);
  const wrapped = toCortexError(new TypeError("boom"));
  assert.equal(wrapped.status, 500);
  assert.equal(wrapped.code, "internal_error");
  assert.equal(wrapped.message, "boom");
});
