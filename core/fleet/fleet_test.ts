import assert from "node:assert/strict";
import { errorHeaders, toOpenAIErrorBody } from "../errors/envelopes.ts";
import { parseWithSchema } from "../errors/zod_issues.ts";
import { NeuronDiscoverySchema } from "./discovery.ts";
import { FLEET_ERROR_STATUS, fleetError } from "./errors.ts";
import { NeuronHealthSchema } from "./health.ts";
import { parseHubModelId } from "./model_id.ts";
import { LoadModelRequestSchema, NeuronModelListSchema, UnloadModelRequestSchema } from "./models.ts";
import { modelRoute, NEURON_ROUTES } from "./routes.ts";
import { TokenizeRequestSchema } from "./tokenize.ts";
import { NeuronVersionSchema } from "./version.ts";

Deno.test("hub model ids follow [scheme:]org/name", () => {
  assert.deepEqual(parseHubModelId("Qwen/Qwen3-0.6B"), {
    scheme: null,
    org: "Qwen",
    name: "Qwen3-0.6B",
    repo: "Qwen/Qwen3-0.6B",
  });
  assert.deepEqual(parseHubModelId("helexa:Org/Name"), {
    scheme: "helexa",
    org: "Org",
    name: "Name",
    repo: "Org/Name",
  });
  for (const bad of ["", "name", ":a/b", "a/b/c", "a/", "/b", "s:a/b:c", "a b/c"]) {
    assert.equal(parseHubModelId(bad), null, bad);
  }
});

Deno.test("an older neuron's sparse health answer parses with defaults", () => {
  const health = NeuronHealthSchema.parse({ uptime_secs: 3, models: [{ id: "m", in_flight: 1 }] });
  assert.equal(health.status, "ok");
  assert.equal(health.activation.state, "ready");
  assert.deepEqual(health.models[0], {
    id: "m",
    in_flight: 1,
    queue_depth: 0,
    max_in_flight: 0,
    max_queue: 0,
    rejected_queue_full: 0,
    rejected_timeout: 0,
    completed: 0,
    cancelled: 0,
    tool_calls_unoffered: 0,
    tool_calls_repaired: 0,
    tok_s_prefill: 0,
    tok_s_decode: 0,
  });
});

Deno.test("discovery, version and the model list parse", () => {
  const discovery = NeuronDiscoverySchema.parse({
    hostname: "benjy",
    devices: [{ index: 0, name: "cpu0", backend: "cpu", memory_total_mb: 2048, threads: 2 }],
  });
  assert.equal(discovery.devices[0].compute_capability, null);
  assert.equal(discovery.max_prompt_tokens, 0);
  assert.equal(NeuronVersionSchema.parse({ package_version: "0.1.0" }).git_sha, "unknown");
  const models = NeuronModelListSchema.parse([
    {
      id: "a",
      status: "loaded",
      devices: [0],
      memory_used_mb: 12,
      limit: { context: 512, output: 256 },
      tool_call: true,
    },
    {
      id: "b",
      status: "loading",
      progress: { phase: "downloading", done_bytes: 10, total_bytes: null, files_done: 0, files_total: 3 },
    },
    { id: "c", status: "failed", error: { code: "bad_model_folder", message: "no config.json in /m/c" } },
  ]);
  assert.equal(models[0].reasoning, false);
  assert.equal(models[1].progress?.phase, "downloading");
  assert.ok(!NeuronModelListSchema.safeParse([{ id: "x", status: "warming" }]).success);
});

Deno.test("load, unload and tokenize requests validate", () => {
  assert.ok(
    LoadModelRequestSchema.safeParse({ model_id: "a", devices: [0, 1], context_length: 512 }).success,
  );
  const bad = parseWithSchema(LoadModelRequestSchema, { model_id: "a", devices: [] });
  assert.ok(!bad.ok);
  assert.equal(bad.error.message, "devices: expected an array of length >= 1, got array (length 0)");
  assert.ok(UnloadModelRequestSchema.safeParse({ model_id: "a", wait: true, timeout_ms: 1000 }).success);
  assert.ok(TokenizeRequestSchema.safeParse({ model: "m", prompt: "once upon" }).success);
  assert.ok(
    TokenizeRequestSchema.safeParse({ model: "m", messages: [{ role: "user", content: "hi" }] }).success,
  );
  const neither = parseWithSchema(TokenizeRequestSchema, { model: "m" });
  assert.ok(!neither.ok);
  assert.equal(neither.error.message, "expected one of `messages` or `prompt`, got neither");
  assert.ok(!TokenizeRequestSchema.safeParse({ model: "m", prompt: "x", messages: [] }).success);
});

Deno.test("fleet errors carry their status, envelope and retry hint", () => {
  const error = fleetError("insufficient_memory", "model 'x' needs 900 MB on device 0; 512 MB free", {
    extras: { required_mb: 900, available_mb: 512, device: 0 },
  });
  assert.equal(error.status, 507);
  assert.equal(toOpenAIErrorBody(error).error.required_mb, 900);
  assert.equal(fleetError("model_busy", "busy").status, 409);
  assert.deepEqual(errorHeaders(fleetError("shutting_down", "draining")), { "retry-after": "15" });
  for (const status of Object.values(FLEET_ERROR_STATUS)) assert.ok(status >= 400 && status < 600);
});

Deno.test("routes are shared constants; model ids are one encoded segment", () => {
  assert.equal(NEURON_ROUTES.tokenize, "/tokenize");
  assert.equal(modelRoute("Qwen/Qwen3-0.6B", "capabilities"), "/models/Qwen%2FQwen3-0.6B/capabilities");
});
