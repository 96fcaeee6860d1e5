// Acceptance: under memory pressure the prefix cache's blocks go first. A neuron with a small CPU
// budget holds a model whose single KV slot has been taken by conversation after conversation, so
// its block pool fills the device; a second model fits only once blocks are dropped. The gateway
// (which counts the blocks as free memory, as the neuron reports them) cold-loads it there without
// evicting the first model, and the neuron drops blocks to make the room.
import assert from "node:assert/strict";
import { spawnNeuron } from "../../neuron/testing/spawn_neuron.ts";
import { seededRandom } from "../../neuron/testing/rng.ts";
import { spawnGateway } from "../testing/spawn_gateway.ts";
import { havePlugin, post, TINY } from "./_fixtures.ts";

const _MB = 2 ** 20;

Deno.test({
  name:
    "acceptance: a load that fits only after dropping prefix-cache blocks succeeds without evicting a model",
  ignore: !havePlugin(),
  async fn() {
    // 'first': 1 slot of 512 tokens (~1.2 MB). 'second': 16 slots (~8.7 MB). Device: 12 MB.
    const neuron = await spawnNeuron({
      models: {
        first: { path: TINY.f32, max_sequences: 1, context_length: 512 },
        second: { path: TINY.bf16u, max_sequences: 16, context_length: 512 },
      },
      defaultModels: ["first"],
      devices: { cpu_memory_budget_mb: 12 },
      prefixCache: { budget_mb: 4 },
    });
    const gateway = await spawnGateway({
      neurons: [{ name: "n", endpoint: neuron.url }],
      models: [{ id: "first", vram_mb: 2 }, { id: "second", vram_mb: 9 }],
      eviction: { strategy: "lru", min_residency_s: 0 },
    });
    try {
      await gateway.waitFor(async () => (await gateway.fleet()).nodes.every((n) => n.healthy));
      // Distinct long conversations: each takes the one slot, keeping the last one's blocks.
      const random = seededRandom(5);
      for (let c = 0; c < 12; c++) {
        const words = Array.from({ length: 60 }, () => String(Math.floor(random() * 1e6)));
        const res = await post(`${gateway.url}/v1/chat/completions`, {
          model: "first",
          max_tokens: 1,
          messages: [{ role: "user", content: words.join(" ") }],
        });
        const body = await res.json();
        assert.equal(res.status, 200, JSON.stringify(body));
      }
      const health = async () => await (await fetch(`${neuron.url}/health`)).json();
      const before = await health();
      const pool = before.models.find((m: { id: string }) => m.id === "first").prefix_cache;
      const device = before.devices[0];
      assert.ok(pool.pool_bytes > 3 * _MB, `the pool holds ${pool.pool_bytes} B`);
      assert.ok(pool.pool_peak_bytes <= pool.pool_budget_bytes, "the pool stays within its budget");
      assert.equal(pool.pool_budget_bytes, 4 * _MB);
      // Without the blocks 'second' would not fit: the device's real free memory is short of it.
      assert.ok((device.memory_free_mb - device.prefix_cache_mb) * _MB < 8.5 * _MB, JSON.stringify(device));

      const res = await post(`${gateway.url}/v1/chat/completions`, {
        model: "second",
        max_tokens: 2,
        messages: [{ role: "user", content: "hello" }],
      });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(res.headers.get("x-cortex-node"), "n");
      await res.body?.cancel();
      const after = await health();
      const loaded = after.models.map((m: { id: string }) => m.id).sort();
      assert.deepEqual(loaded, ["first", "second"], "no model was evicted");
      const kept = after.models.find((m: { id: string }) => m.id === "first").prefix_cache;
      assert.ok(kept.pool_reclaimed > 0, "blocks were dropped for the load");
      assert.ok(kept.pool_bytes < pool.pool_bytes);
    } finally {
      await gateway.stop();
      await neuron.stop();
    }
  },
});
