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
