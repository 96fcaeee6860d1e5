// HTTP-level tests of the control API against a real neuron process: shapes of every control
// endpoint, loads (concurrent, single-flight, bad folders), models_dir, and unload while streaming.
import assert from "node:assert/strict";
import { OpenAIErrorBodySchema } from "@cortex/core/errors";
import {
  LoadModelResultSchema,
  ModelCapabilitiesSchema,
  modelRoute,
  NeuronDiscoverySchema,
  NeuronHealthSchema,
  NeuronModelListSchema,
  NeuronVersionSchema,
  UnloadModelResultSchema,
} from "@cortex/core/fleet";
import type { ChatCompletionChunk } from "@cortex/core/openai";
import { modelEntry, modelHealth, postForJson, postJson, waitFor } from "./testing/http.ts";
import { parseSseCapture, sseJson } from "./testing/sse_client.ts";
import { killOnUnload, spawnNeuron, TINY_QWEN3 } from "./testing/spawn_neuron.ts";

const testdata = new URL("./testdata/models", import.meta.url).pathname;
const modelsDir = await Deno.makeTempDir({ prefix: "neuron-models-dir-" });
await Deno.symlink(TINY_QWEN3, `${modelsDir}/scanned-tiny`);
await Deno.mkdir(`${modelsDir}/not-a-model`);

const neuron = await spawnNeuron({
  models: {
    tiny: TINY_QWEN3,
    "tiny-bf16": `${testdata}/tiny-qwen3-bf16`,
    "tiny-untied": { path: `${testdata}/tiny-qwen3-f32-untied`, max_sequences: 2, context_length: 256 },
    ghost: "/nonexistent/model/folder",
  },
  defaultModels: ["tiny"],
  modelsDir,
  admission: { max_in_flight: 4, max_queue: 4 },
  testStepDelayMs: 5,
});
killOnUnload(neuron);
const opts = { sanitizeResources: false, sanitizeOps: false };
const chatUrl = `${neuron.url}/v1/chat/completions`;
const load = (body: unknown) => postForJson(`${neuron.url}/models/load`, body);
const unload = (body: unknown) => postForJson(`${neuron.url}/models/unload`, body);

Deno.test({
  name: "control: /version, /discovery, /health and /models answer in the core shapes",
  ...opts,
  fn: async () => {
    const version = NeuronVersionSchema.parse(await (await fetch(`${neuron.url}/version`)).json());
    assert.equal(version.plugin_abi_version, 5);
    assert.equal(version.deno_version, Deno.version.deno);
    assert.ok(version.features.includes("cpu"));
    const discovery = NeuronDiscoverySchema.parse(await (await fetch(`${neuron.url}/discovery`)).json());
    assert.equal(discovery.devices.length, 1);
    assert.equal(discovery.devices[0].backend, "cpu");
    assert.equal(discovery.devices[0].memory_total_mb, 512, "the configured CPU budget");
    assert.ok(discovery.hostname.length > 0);
    const health = NeuronHealthSchema.parse(await (await fetch(`${neuron.url}/health`)).json());
    assert.equal(health.status, "ok");
    assert.deepEqual(health.activation.completed, ["tiny"]);
    assert.equal(health.activation.state, "ready");
    assert.equal(health.devices[0].memory_total_mb, 512);
    assert.ok(health.devices[0].memory_used_mb >= 1, "the loaded model uses device memory");
    assert.deepEqual(health.models.map((m) => m.id), ["tiny"]);
    const models = NeuronModelListSchema.parse(await (await fetch(`${neuron.url}/models`)).json());
    const byId = new Map(models.map((m) => [m.id, m]));
    const tiny = byId.get("tiny")!;
    assert.equal(tiny.status, "loaded");
    assert.deepEqual(tiny.devices, [0]);
    assert.equal(tiny.architecture, "Qwen3ForCausalLM");
    assert.equal(tiny.tool_call, true);
    assert.equal(tiny.reasoning, true);
    assert.deepEqual(tiny.limit, { context: 512, input: 511, output: 511 });
    assert.ok(tiny.memory_used_mb! > 0);
    for (const id of ["tiny-bf16", "tiny-untied", "ghost", "scanned-tiny"]) {
      assert.equal(byId.get(id)?.status, "available", id);
    }
    assert.equal(byId.has("not-a-model"), false, "a models_dir folder without config.json is not offered");
    const caps = ModelCapabilitiesSchema.parse(
      await (await fetch(`${neuron.url}${modelRoute("tiny", "capabilities")}`)).json(),
    );
    assert.deepEqual(caps.capabilities, ["text"]);
    assert.equal((await fetch(`${neuron.url}${modelRoute("org/none", "capabilities")}`)).status, 404);
  },
});

Deno.test({
  name:
    "load: two models load concurrently; loading a loaded model succeeds; loads of one id are single-flight",
  ...opts,
  fn: async () => {
    const [a, b] = await Promise.all([load({ model_id: "tiny-bf16" }), load({ model_id: "tiny-untied" })]);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal(b.status, 200, JSON.stringify(b.body));
    const bf16 = LoadModelResultSchema.parse(a.body);
    assert.equal(bf16.already_loaded, false);
    assert.deepEqual(bf16.devices, [0]);
    assert.equal(
      (await modelEntry(neuron.url, "tiny-untied"))?.limit?.context,
      256,
      "context_length from [[models]]",
    );
    const again = LoadModelResultSchema.parse((await load({ model_id: "tiny-bf16" })).body);
    assert.equal(again.already_loaded, true);
    UnloadModelResultSchema.parse((await unload({ model_id: "tiny-untied" })).body);
    const twice = await Promise.all([load({ model_id: "tiny-untied" }), load({ model_id: "tiny-untied" })]);
    assert.deepEqual(twice.map((r) => r.status), [200, 200]);
    assert.deepEqual(twice.map((r) => r.body.already_loaded).sort(), [false, true]);
    const health = NeuronHealthSchema.parse(await (await fetch(`${neuron.url}/health`)).json());
    assert.deepEqual(health.models.map((m) => m.id).sort(), ["tiny", "tiny-bf16", "tiny-untied"]);
    const untied = health.models.find((m) => m.id === "tiny-untied")!;
    assert.equal(untied.max_in_flight, 2, "seats are capped by the model's KV slots");
    for (const id of ["tiny-bf16", "tiny-untied"]) {
      const chat = await postForJson(chatUrl, {
        model: id,
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 2,
      });
      assert.equal(chat.status, 200, id);
      assert.equal(UnloadModelResultSchema.parse((await unload({ model_id: id })).body).status, "unloaded");
    }
  },
});

Deno.test({
  name: "load: a models_dir folder loads and serves under its folder name",
  ...opts,
  fn: async () => {
    assert.equal((await load({ model_id: "scanned-tiny" })).status, 200);
    const chat = await postForJson(chatUrl, {
      model: "scanned-tiny",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 2,
    });
    assert.equal(chat.status, 200);
    assert.equal((await unload({ model_id: "scanned-tiny" })).status, 200);
  },
});

Deno.test({
  name:
    "load/unload errors: bad folder 422, unknown id 404, bad body 400 — each an envelope naming the problem",
  ...opts,
  fn: async () => {
    const cases: { body: unknown; status: number; code: string; mention: RegExp; url?: string }[] = [
      {
        body: { model_id: "ghost" },
        status: 422,
        code: "bad_model_folder",
        mention: /\/nonexistent\/model\/folder does not exist/,
      },
      {
        body: { model_id: "not-configured" },
        status: 404,
        code: "model_not_found",
        mention: /'not-configured'/,
      },
      { body: { model_id: 5 }, status: 400, code: "invalid_request_body", mention: /model_id/ },
      {
        body: { model_id: "tiny", devices: [7] },
        status: 400,
        code: "invalid_request_body",
        mention: /no usable device 7/,
      },
      {
        body: { model_id: "tiny-bf16" },
        status: 404,
        code: "model_not_found",
        mention: /not loaded/,
        url: "unload",
      },
    ];
    for (const c of cases) {
      // tiny is loaded already: a load of it with a bad device still answers "already loaded".
      if (c.body && (c.body as { model_id?: string }).model_id === "tiny") {
        assert.equal((await load(c.body)).status, 200);
        continue;
      }
      const { status, body } = c.url === "unload" ? await unload(c.body) : await load(c.body);
      assert.equal(status, c.status, JSON.stringify(body));
      const envelope = OpenAIErrorBodySchema.parse(body);
      assert.equal(envelope.error.code, c.code);
      assert.match(envelope.error.message, c.mention);
    }
    const ghost = await modelEntry(neuron.url, "ghost");
    assert.equal(ghost?.status, "failed");
    assert.equal(ghost?.error?.code, "bad_model_folder");
    const bad = await load({ model_id: "tiny-bf16", devices: [9] });
    assert.equal(bad.status, 400);
    assert.match(OpenAIErrorBodySchema.parse(bad.body).error.message, /devices\[0\]: no usable device 9/);
  },
});

Deno.test({
  name:
    "unload while streaming: refused without wait; with wait the stream finishes, newcomers get 503, then it unloads",
  ...opts,
  fn: async () => {
    const response = await postJson(chatUrl, {
      model: "tiny",
      messages: [{ role: "user", content: "Keep going." }],
      temperature: 0,
      max_tokens: 300,
      stream: true,
      stream_options: { include_usage: true },
    });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (text.split("data:").length < 3) text += decoder.decode((await reader.read()).value);
    const refused = await unload({ model_id: "tiny" });
    assert.equal(refused.status, 409);
    const refusal = OpenAIErrorBodySchema.parse(refused.body).error;
    assert.equal(refusal.code, "model_busy");
    assert.match(refusal.message, /1 requests in flight; retry with "wait": true/);
    const timedOut = await unload({ model_id: "tiny", wait: true, timeout_ms: 50 });
    assert.equal(timedOut.status, 409, "a drain that outlasts timeout_ms keeps the model");
    assert.equal((await modelEntry(neuron.url, "tiny"))?.status, "loaded");
    const draining = unload({ model_id: "tiny", wait: true, timeout_ms: 30_000 });
    await waitFor(
      "tiny to be unloading",
      async () => (await modelEntry(neuron.url, "tiny"))?.status === "unloading",
    );
    const newcomer = await postForJson(chatUrl, {
      model: "tiny",
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(newcomer.status, 503);
    assert.equal(OpenAIErrorBodySchema.parse(newcomer.body).error.code, "model_unloading");
    assert.ok(newcomer.headers.get("retry-after"));
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    const chunks = sseJson<ChatCompletionChunk>(parseSseCapture(text));
    assert.equal(parseSseCapture(text).frames.at(-1)!.data, "[DONE]", "the stream ran to its end");
    assert.equal(chunks.at(-2)!.choices[0].finish_reason, "length");
    assert.equal(chunks.at(-1)!.usage?.completion_tokens, 300);
    const done = await draining;
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(UnloadModelResultSchema.parse(done.body).model_id, "tiny");
    assert.equal((await modelEntry(neuron.url, "tiny"))?.status, "available");
    assert.equal(await modelHealth(neuron.url, "tiny"), undefined);
    const gone = await postForJson(chatUrl, { model: "tiny", messages: [{ role: "user", content: "hi" }] });
    assert.equal(gone.status, 404);
    assert.equal((await load({ model_id: "tiny" })).status, 200);
  },
});

Deno.test({
  name: "teardown: SIGTERM stops the neuron cleanly",
  ...opts,
  fn: async () => {
    const status = await neuron.stop();
    assert.equal(status.code, 0, neuron.output());
    await Deno.remove(modelsDir, { recursive: true });
  },
});
