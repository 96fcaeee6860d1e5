import assert from "node:assert/strict";
import { parseCortexConfig, parseModelsConfig } from "@cortex/core/config";
import { createApp } from "../app.ts";
import { KeyRing } from "../auth/keys.ts";
import { createGatewayContext } from "../gateway.ts";
import { RequestRecord } from "../proxy/request_record.ts";
import { UI_SCRIPT } from "../ui/script.ts";

// One neuron that is never polled: the state shows it as configured, not yet healthy.
const CONFIG = parseCortexConfig(`
[gateway]
keys = [
  { name = "ops", key = "sk-admin-123456", admin = true },
  { name = "app", key = "sk-app-1234567" },
]
[[neurons]]
name = "a"
endpoint = "http://127.0.0.1:9"
`);
const MODELS = parseModelsConfig(`
[[models]]
id = "small"
vram_mb = 10
`);

async function setup() {
  const ctx = createGatewayContext(CONFIG, MODELS, false);
  return { ctx, app: createApp(ctx, await KeyRing.create(CONFIG.gateway.keys)) };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

Deno.test("/ui and its assets are public, with a CSP that allows only the gateway itself", async () => {
  const { app } = await setup();
  const page = await app.request("/ui");
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
  assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
  const html = await page.text();
  assert.match(html, /<script src="\/ui\/app.js" defer><\/script>/);
  assert.doesNotMatch(html, /https?:\/\//, "no external asset");
  const script = await app.request("/ui/app.js");
  assert.equal(script.status, 200);
  assert.match(script.headers.get("content-type") ?? "", /^text\/javascript/);
  assert.equal(await script.text(), UI_SCRIPT);
  assert.equal((await app.request("/ui/app.css")).status, 200);
  assert.match((await app.request("/ui/favicon.svg")).headers.get("content-type") ?? "", /^image\/svg\+xml/);
});

Deno.test("the dashboard script is valid JavaScript and never writes HTML", () => {
  new Function(UI_SCRIPT); // throws a SyntaxError when it does not parse
  assert.doesNotMatch(UI_SCRIPT, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
});

Deno.test("/ui/state needs a key when keys are set; admin keys see endpoints and may act", async () => {
  const { app } = await setup();
  const anonymous = await app.request("/ui/state");
  assert.equal(anonymous.status, 401);
  assert.equal((await anonymous.json()).error.code, "invalid_api_key");

  const reader = await (await app.request("/ui/state", { headers: bearer("sk-app-1234567") })).json();
  assert.equal(reader.admin, false);
  assert.equal(reader.fleet.nodes[0].name, "a");
  assert.equal("endpoint" in reader.fleet.nodes[0], false, "endpoints are for admins");

  const admin = await (await app.request("/ui/state", { headers: bearer("sk-admin-123456") })).json();
  assert.equal(admin.admin, true);
  assert.equal(admin.fleet.nodes[0].endpoint, "http://127.0.0.1:9");
  assert.deepEqual(admin.catalogue, ["small"]);
  assert.deepEqual(admin.recent, []);
  assert.equal(admin.series.interval_s, 10);
  assert.equal(admin.series.samples.length, 30);
});

Deno.test("a finished request appears among the recent requests and in the current sample", async () => {
  const { ctx, app } = await setup();
  const record = new RequestRecord(ctx.metrics, "chat", performance.now());
  record.bind("small", "a", 120);
  record.token();
  record.usage({ promptTokens: 7, completionTokens: 3 });
  record.finish(200);
  record.finish(500); // recorded once only
  const state = await (await app.request("/ui/state", { headers: bearer("sk-admin-123456") })).json();
  assert.equal(state.recent.length, 1);
  const [r] = state.recent;
  assert.deepEqual(
    [r.model, r.node, r.dialect, r.status, r.cold, r.prompt_tokens, r.completion_tokens],
    ["small", "a", "chat", 200, true, 7, 3],
  );
  assert.equal(typeof r.ttft_ms, "number");
  assert.equal(state.series.samples.at(-1).requests, 1);
});
