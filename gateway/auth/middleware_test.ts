import assert from "node:assert/strict";
import { Hono } from "hono";
import { Logger } from "@cortex/core/log";
import type { GatewayEnv } from "../context.ts";
import { errorHandler } from "../error_handler.ts";
import { KeyRing, presentedKey } from "./keys.ts";
import { apiKeyAuth } from "./middleware.ts";

async function app(keys: KeyRing): Promise<Hono<GatewayEnv>> {
  const app = new Hono<GatewayEnv>();
  app.use(async (c, next) => {
    c.set("requestId", "rid");
    await next();
  });
  app.use(apiKeyAuth(keys));
  app.onError(
    errorHandler(new Logger({ format: "text", level: "error", component: "gateway", write: () => {} })),
  );
  app.get("/health", (c) => c.text("ok"));
  app.get("/api/hello", (c) => c.text("ok"));
  app.post("/v1/chat/completions", (c) => c.json({ key: c.get("keyName"), models: c.get("keyModels") }));
  app.post("/v1/messages", (c) => c.json({ key: c.get("keyName") }));
  app.get("/admin/fleet", (c) => c.json({ ok: true }));
  return await Promise.resolve(app);
}

const KEYS = [
  { name: "ops", key: "sk-admin-123456", models: [], admin: true },
  { name: "zed", key: "sk-zed-1234567", models: ["small"], admin: false },
];

Deno.test("presentedKey reads Bearer first, then x-api-key", () => {
  assert.equal(presentedKey(new Headers({ authorization: "Bearer abc" })), "abc");
  assert.equal(presentedKey(new Headers({ "x-api-key": "def" })), "def");
  assert.equal(presentedKey(new Headers({ authorization: "Basic zzz", "x-api-key": "def" })), "def");
  assert.equal(presentedKey(new Headers()), null);
});

Deno.test("without keys every route is open", async () => {
  const a = await app(await KeyRing.create([]));
  const res = await a.request("/v1/chat/completions", { method: "POST" });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { key: null, models: [] });
  assert.equal((await a.request("/admin/fleet")).status, 200);
});

Deno.test("with keys: missing or wrong key is 401 in the route's dialect; /health stays public", async () => {
  const a = await app(await KeyRing.create(KEYS));
  assert.equal((await a.request("/health")).status, 200);
  const missing = await a.request("/v1/chat/completions", { method: "POST" });
  assert.equal(missing.status, 401);
  const body = await missing.json();
  assert.equal(body.error.code, "invalid_api_key");
  const wrong = await a.request("/v1/messages", {
    method: "POST",
    headers: { "x-api-key": "sk-nope-0000000" },
  });
  assert.equal(wrong.status, 401);
  assert.deepEqual(await wrong.json(), {
    type: "error",
    error: { type: "authentication_error", message: "invalid API key" },
  });
});

Deno.test("a valid key passes with its name and allow-list; admin routes need an admin key", async () => {
  const a = await app(await KeyRing.create(KEYS));
  const ok = await a.request("/v1/chat/completions", {
    method: "POST",
    headers: { authorization: "Bearer sk-zed-1234567" },
  });
  assert.deepEqual(await ok.json(), { key: "zed", models: ["small"] });
  const forbidden = await a.request("/admin/fleet", { headers: { "x-api-key": "sk-zed-1234567" } });
  assert.equal(forbidden.status, 403);
  assert.equal((await forbidden.json()).error.code, "permission_denied");
  assert.equal(
    (await a.request("/admin/fleet", { headers: { "x-api-key": "sk-admin-123456" } })).status,
    200,
  );
});

Deno.test("regression: Claude Code's probe, GET and HEAD /api/hello, needs no key (was 401/404)", async () => {
  const a = await app(await KeyRing.create(KEYS));
  for (const method of ["GET", "HEAD"]) {
    const res = await a.request("/api/hello", { method });
    assert.equal(res.status, 200, method);
    await res.body?.cancel();
  }
  // Only the probe itself: a neighbouring path still needs a key.
  assert.equal((await a.request("/api/other")).status, 401);
});
