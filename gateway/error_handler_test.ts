import assert from "node:assert/strict";
import { CortexError } from "@cortex/core/errors";
import { Logger } from "@cortex/core/log";
import { Hono } from "hono";
import type { GatewayEnv } from "./context.ts";
import { errorHandler, notFoundHandler } from "./error_handler.ts";
import { GatewayMetrics } from "./metrics/gateway_metrics.ts";
import { RequestRecord } from "./proxy/request_record.ts";

function app(logged: string[], metrics: GatewayMetrics): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  const busy = new CortexError("model 'm' is busy", { code: "model_busy", status: 503, retryAfter: 2.5 });
  const fail = (path: string) =>
    app.post(path, (c) => {
      c.set("record", new RequestRecord(metrics, "chat", performance.now()));
      c.header("x-cortex-node", "n1");
      throw busy;
    });
  fail("/v1/chat/completions");
  fail("/v1/messages");
  fail("/admin/load");
  app.get("/v1/models/*", () => {
    throw new TypeError("a bug");
  });
  app.notFound(notFoundHandler);
  app.onError(
    errorHandler(
      new Logger({
        format: "text",
        level: "info",
        component: "gateway",
        write: (l) => logged.push(l),
      }),
    ),
  );
  return app;
}

Deno.test("a thrown CortexError is answered in the path's envelope with its status, Retry-After and the handler's headers", async () => {
  const logged: string[] = [];
  const metrics = new GatewayMetrics();
  const a = app(logged, metrics);
  for (const path of ["/v1/chat/completions", "/admin/load"]) {
    const res = await a.request(path, { method: "POST" });
    assert.equal(res.status, 503, path);
    assert.equal(res.headers.get("retry-after"), "3");
    assert.equal(res.headers.get("x-cortex-node"), "n1");
    assert.equal(res.headers.get("content-type"), "application/json");
    const body = await res.json();
    assert.equal(body.error.code, "model_busy", path);
    assert.equal(body.error.message, "model 'm' is busy");
  }
  const anthropic = await a.request("/v1/messages", { method: "POST" });
  assert.deepEqual(await anthropic.json(), {
    type: "error",
    error: { type: "overloaded_error", message: "model 'm' is busy" },
  });
  assert.deepEqual(logged, [], "an error with a code is no bug");
  const requests = (await metrics.requests.get()).values.filter((v) => v.labels.status === "503");
  assert.equal(
    requests.reduce((sum, v) => sum + v.value, 0),
    3,
    "every record finished with the error's status",
  );
});

Deno.test("anything else thrown is a logged 500 internal_error; unknown routes are 404 in their dialect", async () => {
  const logged: string[] = [];
  const a = app(logged, new GatewayMetrics());
  const bug = await a.request("/v1/models/x");
  assert.equal(bug.status, 500);
  assert.equal((await bug.json()).error.code, "internal_error");
  assert.equal(logged.length, 1);
  assert.match(logged[0], /unhandled_error/);
  const missing = await a.request("/v1/messages/nowhere");
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).type, "error");
  const openai = await a.request("/v1/nowhere");
  assert.equal((await openai.json()).error.code, "not_found");
});
