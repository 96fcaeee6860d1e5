import assert from "node:assert/strict";
import { z } from "zod";
import { formatJsonPath, parseWithSchema } from "./zod_issues.ts";

Deno.test("JSON paths read like the document", () => {
  assert.equal(formatJsonPath(["messages", 0, "content", 2, "text"]), "messages[0].content[2].text");
  assert.equal(formatJsonPath(["aliases", "helexa/small"]), 'aliases["helexa/small"]');
  assert.equal(formatJsonPath([]), "");
});

Deno.test("a wrong type is a 400 naming the path and what arrived; extras are fine", () => {
  const schema = z.looseObject({ a: z.object({ b: z.array(z.number()) }) });
  const bad = parseWithSchema(schema, { a: { b: [1, "two"] } });
  assert.ok(!bad.ok);
  assert.equal(bad.error.status, 400);
  assert.equal(bad.error.code, "invalid_request_body");
  assert.equal(bad.error.param, "a.b[1]");
  assert.equal(bad.error.message, 'a.b[1]: expected number, got "two"');
  const ok = parseWithSchema(schema, { a: { b: [] }, extra: true });
  assert.ok(ok.ok && (ok.value as Record<string, unknown>).extra === true);
});

Deno.test("long strings are shortened in messages", () => {
  const r = parseWithSchema(z.object({ n: z.number() }), { n: "x".repeat(200) });
  assert.ok(!r.ok);
  assert.ok(r.error.message.length < 100, r.error.message);
});
