// HTTP-level tests of hub model sources: a real neuron process fetches a model from the hub
// TEST DOUBLE (a local server in the Hugging Face URL layout) into the hub cache, shows download
// progress in /models while loading, sends the token from its env var, and a second neuron loads
// the cached snapshot with the hub gone.
import assert from "node:assert/strict";
import { OpenAIErrorBodySchema } from "@cortex/core/errors";
import { NeuronModelListSchema } from "@cortex/core/fleet";
import { repoFromFolder, startHubTestDouble } from "./testing/hub_test_double.ts";
import { modelEntry, postForJson, postJson } from "./testing/http.ts";
import { spawnNeuron, TINY_QWEN3 } from "./testing/spawn_neuron.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test({
  name:
    "hub: a hub id is downloaded into the hub cache with progress in /models, then served; cached loads offline",
  ...opts,
  fn: async () => {
    const cacheDir = await Deno.makeTempDir({ prefix: "neuron-hub-cache-" });
    const hub = await startHubTestDouble({
      repos: { "org/tiny": await repoFromFolder(TINY_QWEN3) },
      token: "hub-secret",
      chunkDelayMs: 15,
    });
    const hubSettings = { endpoint: hub.url, cache_dir: cacheDir, token_env: "TEST_HUB_TOKEN" };
    let hubOpen = true;
    try {
      const first = await spawnNeuron({ hub: hubSettings, env: { TEST_HUB_TOKEN: "hub-secret" } });
      try {
        const loading = postForJson(`${first.url}/models/load`, { model_id: "org/tiny" });
        let sawProgress = false;
        for (let i = 0; i < 500 && !sawProgress; i++) {
          const entry = await modelEntry(first.url, "org/tiny");
          const progress = entry?.progress;
          if (entry?.status === "loading" && progress?.phase === "downloading" && progress.done_bytes > 0) {
            assert.ok(progress.total_bytes! > progress.done_bytes);
            assert.ok(progress.files_total! >= 5);
            sawProgress = true;
          }
          if (entry?.status === "loaded") break;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        assert.ok(sawProgress, "download progress was visible in /models while loading");
        const loaded = await loading;
        assert.equal(loaded.status, 200, JSON.stringify(loaded.body));
        const models = NeuronModelListSchema.parse(await (await fetch(`${first.url}/models`)).json());
        const entry = models.find((m) => m.id === "org/tiny")!;
        assert.equal(entry.status, "loaded");
        assert.equal(entry.source, "org/tiny");
        assert.equal(entry.progress ?? null, null);
        const chat = await postForJson(`${first.url}/v1/chat/completions`, {
          model: "org/tiny",
          messages: [{ role: "user", content: "hi" }],
          max_tokens: 2,
        });
        assert.equal(chat.status, 200);
        assert.ok(
          hub.requests.length > 5 && hub.requests.every((r) => r.authorization === "Bearer hub-secret"),
        );
        const snapshots = [...Deno.readDirSync(`${cacheDir}/models--org--tiny/snapshots`)];
        assert.equal(snapshots.length, 1);
        const missing = await postJson(`${first.url}/models/load`, { model_id: "org/missing" });
        assert.equal(missing.status, 404);
        assert.equal(OpenAIErrorBodySchema.parse(await missing.json()).error.code, "model_not_found");
        const scheme = await postJson(`${first.url}/models/load`, { model_id: "ftp:org/tiny" });
        assert.equal(scheme.status, 404);
        await scheme.body?.cancel();
      } finally {
        assert.equal((await first.stop()).code, 0, first.output());
      }
      await hub.close();
      hubOpen = false;
      // The hub is gone: a fresh neuron still loads the cached snapshot; an uncached id fails clearly.
      const second = await spawnNeuron({ hub: hubSettings });
      try {
        const cached = await postForJson(`${second.url}/models/load`, { model_id: "org/tiny" });
        assert.equal(cached.status, 200, JSON.stringify(cached.body));
        const uncached = await postForJson(`${second.url}/models/load`, { model_id: "org/other" });
        assert.equal(uncached.status, 502);
        assert.match(OpenAIErrorBodySchema.parse(uncached.body).error.message, /unreachable/);
      } finally {
        assert.equal((await second.stop()).code, 0, second.output());
      }
    } finally {
      if (hubOpen) await hub.close();
      await Deno.remove(cacheDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "hub: a model whose config.json cannot fit on any device is a 507 before a weight byte is fetched",
  ...opts,
  fn: async () => {
    const cacheDir = await Deno.makeTempDir({ prefix: "neuron-hub-cache-" });
    const configs = new URL("./testdata/configs/", import.meta.url).pathname;
    // Qwen3-30B-A3B's published config (61 GB of bf16 weights) over a stand-in weight file.
    const hub = await startHubTestDouble({
      repos: {
        "Qwen/Qwen3-30B-A3B": {
          files: {
            "model.safetensors": new Uint8Array(4096),
            "config.json": await Deno.readTextFile(`${configs}/Qwen3-30B-A3B/config.json`),
            "tokenizer.json": "{}",
          },
        },
      },
    });
    try {
      const neuron = await spawnNeuron({ hub: { endpoint: hub.url, cache_dir: cacheDir } });
      try {
        const load = await postForJson(`${neuron.url}/models/load`, { model_id: "Qwen/Qwen3-30B-A3B" });
        assert.equal(load.status, 507, JSON.stringify(load.body));
        const error = OpenAIErrorBodySchema.parse(load.body).error;
        assert.equal(error.code, "insufficient_memory");
        assert.match(
          error.message,
          /^model 'Qwen\/Qwen3-30B-A3B' needs at least \d+ MB \(weights 58236 MB from its config\.json, .*; the most free on one device is \d+ MB \(device 0\); refused before downloading its weights$/,
        );
        assert.ok((error.required_mb as number) > (error.available_mb as number));
        const fetched = hub.requests.filter((r) => r.path.includes("/resolve/")).map((r) => r.path);
        assert.ok(fetched.length === 1 && fetched[0].endsWith("/config.json"), `fetched: ${fetched}`);
        const entry = await modelEntry(neuron.url, "Qwen/Qwen3-30B-A3B");
        assert.equal(entry?.status, "failed");
        assert.equal(entry?.error?.code, "insufficient_memory");
      } finally {
        assert.equal((await neuron.stop()).code, 0, neuron.output());
      }
    } finally {
      await hub.close();
      await Deno.remove(cacheDir, { recursive: true });
    }
  },
});
