// Acceptance: placement, single-flight cold loads, eviction (lru and priority), in-flight
// protection and pinning across three real neurons with small CPU memory budgets.
import assert from "node:assert/strict";
import { type SpawnedNeuron, spawnNeuron } from "../../neuron/testing/spawn_neuron.ts";
import { type SpawnedGateway, spawnGateway } from "../testing/spawn_gateway.ts";
import { chat, havePlugin, post, scrape, TINY, total } from "./_fixtures.ts";

type Fleet = Awaited<ReturnType<SpawnedGateway["fleet"]>>;

function statusOf(fleet: Fleet, node: string, model: string): string | undefined {
  return fleet.nodes.find((n) => n.name === node)?.models.find((m) => m.id === model)?.status;
}

// Until `model` on `node` has no request in flight by the gateway's leases nor by the neuron's last
// polled report (a report taken mid-request counts the model busy, never a victim, until the next poll).
async function settled(gateway: SpawnedGateway, node: string, model: string): Promise<void> {
  await gateway.waitFor(async () => {
    const entry = (await gateway.fleet()).nodes.find((n) => n.name === node)?.models.find((m) =>
      m.id === model
    );
    return (entry?.gateway_in_flight ?? 0) === 0 && (entry?.in_flight ?? 0) === 0;
  });
}

async function allHealthy(gateway: SpawnedGateway, count: number): Promise<void> {
  await gateway.waitFor(async () => (await gateway.fleet()).nodes.filter((n) => n.healthy).length === count);
}

Deno.test({
  name: "acceptance: placement, cold loads, eviction and pinning across three neurons",
  ignore: !havePlugin(),
  async fn(t) {
    const neurons: SpawnedNeuron[] = [];
    const gateways: SpawnedGateway[] = [];
    try {
      // Every model gets 16 KV slots: about 8.5–9 MB resident each, so budgets decide what fits.
      const sized = (folders: Record<string, string>) =>
        Object.fromEntries(Object.entries(folders).map(([id, path]) => [id, { path, max_sequences: 16 }]));
      // a: 20 MB (two models), one request at a time so that a queue keeps a model busy.
      neurons.push(
        await spawnNeuron({
          models: sized({
            alpha: TINY.f32,
            beta: TINY.f32u,
            gamma: TINY.bf16,
            eps: TINY.bf16u,
            pinny: TINY.bf16,
            big: TINY.f32,
          }),
          defaultModels: [],
          devices: { cpu_memory_budget_mb: 20 },
          admission: { max_in_flight: 1, max_queue: 64 },
          // Keeps 'eps' provably busy for longer than an admin unload waits for a drain.
          testStepDelayMs: 1,
        }),
        await spawnNeuron({
          models: sized({ alpha: TINY.f32, delta: TINY.bf16u, pinny: TINY.bf16 }),
          defaultModels: ["delta"],
          devices: { cpu_memory_budget_mb: 20 },
        }),
        await spawnNeuron({
          models: sized({ pinny: TINY.bf16, omega: TINY.f32, sigma: TINY.f32u }),
          defaultModels: [],
          devices: { cpu_memory_budget_mb: 10 },
        }),
      );
      const [a, b, c] = neurons;
      const lru = await spawnGateway({
        neurons: [{ name: "a", endpoint: a.url }, { name: "b", endpoint: b.url }, {
          name: "c",
          endpoint: c.url,
        }],
        models: [
          { id: "alpha", vram_mb: 9 },
          { id: "beta", vram_mb: 9 },
          { id: "gamma", vram_mb: 9 },
          { id: "eps", vram_mb: 9 },
          { id: "delta", vram_mb: 9 },
          { id: "big", vram_mb: 18 },
          { id: "pinny", vram_mb: 9, pinned_on: ["c"] },
        ],
        eviction: { strategy: "lru", min_residency_s: 0 },
      });
      gateways.push(lru);
      await allHealthy(lru, 3);

      await t.step("/v1/models merges the neurons' models with the catalogue", async () => {
        const list = await (await fetch(`${lru.url}/v1/models`)).json();
        const byId = new Map(list.data.map((e: { id: string }) => [e.id, e]));
        // deno-lint-ignore no-explicit-any
        const entry = (id: string): any => byId.get(id);
        assert.deepEqual(entry("delta").locations.map((l: { node: string }) => l.node), ["b"]);
        assert.equal(entry("delta").loaded, true);
        assert.deepEqual(entry("alpha").feasible_on, ["a", "b"]);
        assert.equal(entry("alpha").loaded, false);
        assert.deepEqual(entry("beta").feasible_on, ["a"]);
        assert.deepEqual(entry("pinny").feasible_on, ["c"], "pinned_on narrows where it may go");
        assert.ok(byId.has("omega"), "models only a neuron knows are listed too");
      });

      await t.step("a request goes where its model is loaded", async () => {
        const res = await post(`${lru.url}/v1/chat/completions`, chat("delta"));
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("x-cortex-node"), "b");
        assert.equal(res.headers.get("x-cortex-cold-load-ms"), "0");
        await res.body?.cancel();
      });

      await t.step("a cold model is loaded once for 10 concurrent requests", async () => {
        const responses = await Promise.all(
          Array.from({ length: 10 }, () => post(`${lru.url}/v1/chat/completions`, chat("beta"))),
        );
        for (const res of responses) {
          assert.equal(res.status, 200);
          assert.equal(res.headers.get("x-cortex-node"), "a");
          assert.ok(Number(res.headers.get("x-cortex-cold-load-ms")) > 0, "each request waited for the load");
          await res.body?.cancel();
        }
        const s = await scrape(lru.metricsUrl);
        assert.equal(
          total(s, "cortex_model_load_duration_seconds_count", { model: "beta", outcome: "loaded" }),
          1,
        );
        assert.equal(statusOf(await lru.fleet(), "a", "beta"), "loaded");
      });

      await t.step("a memory budget forces eviction in LRU order, and no more than needed", async () => {
        for (const model of ["gamma", "beta"]) { // gamma loads; then beta is used last: gamma is LRU
          const res = await post(`${lru.url}/v1/chat/completions`, chat(model));
          assert.equal(res.status, 200);
          await res.body?.cancel();
          // Its lease is released (and its last use stamped) before the next model is asked for, so the
          // order of use is the order of the loop, not of two releases racing; and the neuron has been
          // polled since it finished (else beta would be the only candidate).
          await settled(lru, "a", model);
          await new Promise((resolve) => setTimeout(resolve, 5)); // a later millisecond for the next use
        }
        const dry = await (await fetch(`${lru.url}/admin/placement?model=eps`)).json();
        assert.equal(dry.action, "load");
        assert.equal(dry.node, "a");
        assert.deepEqual(dry.evict.map((v: { model: string }) => v.model), ["gamma"]);
        const res = await post(`${lru.url}/v1/chat/completions`, chat("eps"));
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("x-cortex-node"), "a");
        await res.body?.cancel();
        const fleet = await lru.fleet();
        assert.equal(statusOf(fleet, "a", "gamma"), "available");
        assert.equal(statusOf(fleet, "a", "beta"), "loaded");
        assert.equal(statusOf(fleet, "a", "eps"), "loaded");
        const s = await scrape(lru.metricsUrl);
        assert.equal(total(s, "cortex_evictions_total", { model: "gamma", node: "a", reason: "lru" }), 1);
        assert.equal(total(s, "cortex_evictions_total", { reason: "lru" }), 1);
      });

      await t.step("a model with requests in flight is never evicted", async () => {
        // Twelve queued requests keep 'eps' busy on 'a' (one at a time) for a while.
        const busy = Array.from(
          { length: 12 },
          () =>
            post(`${lru.url}/v1/chat/completions`, chat("eps", { max_tokens: 400 })).then(async (r) => {
              await r.body?.cancel();
              return r.status;
            }),
        );
        await lru.waitFor(async () => {
          const eps = (await lru.fleet()).nodes.find((n) => n.name === "a")!.models.find((m) =>
            m.id === "eps"
          );
          return (eps?.in_flight ?? 0) > 0;
        });
        // 'big' (18 MB) needs both residents of 'a' gone, and 'eps' is busy.
        const refused = await post(`${lru.url}/admin/load`, { model: "big", node: "a" });
        const body = await refused.json();
        assert.equal(refused.status, 503, JSON.stringify(body));
        assert.equal(body.error.code, "insufficient_memory");
        assert.match(body.error.message, /'eps' has \d+ requests? in flight/);
        assert.ok(refused.headers.get("retry-after"));
        const unloadBusy = await post(`${lru.url}/admin/unload`, { model: "eps" });
        assert.equal(unloadBusy.status, 409);
        assert.equal((await unloadBusy.json()).error.code, "model_busy");
        assert.deepEqual(await Promise.all(busy), Array(12).fill(200));
        const fleet = await lru.fleet();
        assert.equal(statusOf(fleet, "a", "eps"), "loaded");
        assert.equal(
          statusOf(fleet, "a", "beta"),
          "loaded",
          "nothing was evicted for a load that could not fit",
        );
      });

      await t.step("pinned_on is respected even when other nodes have room", async () => {
        const res = await post(`${lru.url}/v1/chat/completions`, chat("pinny"));
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("x-cortex-node"), "c");
        await res.body?.cancel();
        // Settled before the next step's gateway first polls c, which would otherwise count pinny busy.
        await settled(lru, "c", "pinny");
        const fleet = await lru.fleet();
        assert.equal(statusOf(fleet, "c", "pinny"), "loaded");
        assert.notEqual(statusOf(fleet, "a", "pinny"), "loaded");
        assert.notEqual(statusOf(fleet, "b", "pinny"), "loaded");
      });

      await t.step("priority: a lower class never evicts a higher one; equal classes may swap", async () => {
        const prio = await spawnGateway({
          neurons: [{ name: "c", endpoint: c.url }],
          models: [
            { id: "pinny", vram_mb: 9, residency_priority: 300 },
            { id: "omega", vram_mb: 9, residency_priority: 100 },
            { id: "sigma", vram_mb: 9, residency_priority: 300 },
          ],
          eviction: { strategy: "priority", min_residency_s: 0 },
        });
        gateways.push(prio);
        await allHealthy(prio, 1);
        const low = await post(`${prio.url}/v1/chat/completions`, chat("omega"));
        assert.equal(low.status, 503);
        const err = await low.json();
        assert.equal(err.error.code, "insufficient_memory");
        assert.match(err.error.message, /'pinny' \(class 300\) outranks class 100/);
        assert.equal(statusOf(await prio.fleet(), "c", "pinny"), "loaded");
        const peer = await post(`${prio.url}/v1/chat/completions`, chat("sigma"));
        assert.equal(peer.status, 200);
        await peer.body?.cancel();
        const fleet = await prio.fleet();
        assert.equal(statusOf(fleet, "c", "sigma"), "loaded");
        assert.equal(statusOf(fleet, "c", "pinny"), "available");
        const s = await scrape(prio.metricsUrl);
        assert.equal(total(s, "cortex_evictions_total", { model: "pinny", reason: "priority" }), 1);
        const lowAgain = await post(`${prio.url}/v1/chat/completions`, chat("omega"));
        assert.equal(lowAgain.status, 503);
        await lowAgain.body?.cancel();
        assert.equal(statusOf(await prio.fleet(), "c", "sigma"), "loaded");
      });

      await t.step(
        "defrag_after_cycles: after N load/unload cycles the node's idle residents are reloaded",
        async () => {
          const defrag = await spawnGateway({
            neurons: [{ name: "b", endpoint: b.url }],
            models: [{ id: "alpha", vram_mb: 9 }, { id: "delta", vram_mb: 9 }],
            eviction: { strategy: "lru", min_residency_s: 0, defrag_after_cycles: 1 },
          });
          gateways.push(defrag);
          await allHealthy(defrag, 1);
          const unload = await post(`${defrag.url}/admin/unload`, { model: "delta" });
          assert.equal(unload.status, 200);
          await unload.body?.cancel();
          const res = await post(`${defrag.url}/v1/chat/completions`, chat("alpha"));
          assert.equal(res.status, 200);
          await res.body?.cancel();
          await defrag.waitFor(
            async () => {
              const s = await scrape(defrag.metricsUrl);
              return total(s, "cortex_defrags_total", { node: "b" }) === 1 &&
                total(s, "cortex_evictions_total", { model: "alpha", reason: "defrag" }) === 1 &&
                (await defrag.fleet()).loading.length === 0;
            },
            20_000,
            "a defrag pass that reloads alpha",
          );
          assert.equal(statusOf(await defrag.fleet(), "b", "alpha"), "loaded");
          const again = await post(`${defrag.url}/v1/chat/completions`, chat("alpha"));
          assert.equal(again.status, 200);
          assert.equal(again.headers.get("x-cortex-node"), "b");
          await again.body?.cancel();
        },
      );
    } finally {
      for (const g of gateways) await g.stop();
      await Promise.all(neurons.map((n) => n.stop()));
    }
  },
});
