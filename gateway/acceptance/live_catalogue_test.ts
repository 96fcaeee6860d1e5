// Acceptance: the live catalogue with a real gateway process (under the permissions its config
// implies) and a real neuron. A profile added to models.toml while the gateway runs is servable
// without a restart; a broken edit leaves the old catalogue serving and says why on stderr; a
// request in flight across a reload finishes; SIGHUP reloads too. `allow_unlisted = true` lets an
// admin load a hub id models.toml does not list (the hub is a TEST DOUBLE: the real one is
// unreachable here), and without it the 404 says how to enable it.
import assert from "node:assert/strict";
import { stringify } from "smol-toml";
import { repoFromFolder, startHubTestDouble } from "../../neuron/testing/hub_test_double.ts";
import { type SpawnedNeuron, spawnNeuron } from "../../neuron/testing/spawn_neuron.ts";
import { type SpawnedGateway, spawnGateway } from "../testing/spawn_gateway.ts";
import { chat, havePlugin, post, scrape, TINY, total } from "./_fixtures.ts";

const ADMIN = { authorization: "Bearer admin-key-123" };
const USER = { authorization: "Bearer user-key-123" };

async function writeCatalogue(gateway: SpawnedGateway, catalogue: Record<string, unknown>): Promise<void> {
  // Written next to it and renamed over it, as editors do.
  await Deno.writeTextFile(`${gateway.modelsPath}.tmp`, stringify(catalogue));
  await Deno.rename(`${gateway.modelsPath}.tmp`, gateway.modelsPath);
}

function reloads(gateway: SpawnedGateway, outcome: "reloaded" | "not reloaded"): number {
  const pattern = outcome === "reloaded" ? /models\.toml reloaded/g : /models\.toml not reloaded/g;
  return gateway.stderr().match(pattern)?.length ?? 0;
}

Deno.test({
  name: "acceptance: models.toml reloads live; a broken edit keeps the old catalogue; allow_unlisted",
  ignore: !havePlugin(),
  async fn(t) {
    const cacheDir = await Deno.makeTempDir({ prefix: "cortex-live-hub-" });
    const hub = await startHubTestDouble({ repos: { "org/tiny": await repoFromFolder(TINY.f32) } });
    let neuron: SpawnedNeuron | null = null;
    let gateway: SpawnedGateway | null = null;
    try {
      neuron = await spawnNeuron({
        models: { alpha: TINY.f32, beta: TINY.bf16 },
        defaultModels: ["alpha"],
        hub: { endpoint: hub.url, cache_dir: cacheDir },
        testStepDelayMs: 20,
      });
      gateway = await spawnGateway({
        neurons: [{ name: "a", endpoint: neuron.url }],
        models: [{ id: "alpha" }],
        gateway: {
          keys: [{ name: "admin", key: "admin-key-123", admin: true }, { name: "user", key: "user-key-123" }],
        },
      });
      const g = gateway;
      await g.waitFor(async () => (await g.fleet(ADMIN)).nodes[0].healthy);
      const url = `${g.url}/v1/chat/completions`;

      await t.step("a profile added to models.toml is servable without a restart", async () => {
        const before = await post(url, chat("fresh"), USER);
        assert.equal(before.status, 404, "not in the catalogue yet");
        await before.body?.cancel();
        const applied = reloads(g, "reloaded");
        await writeCatalogue(g, {
          models: [{ id: "alpha" }, { id: "fresh", source: "beta", aliases: ["fresh-alias"] }],
        });
        await g.waitFor(() => reloads(g, "reloaded") > applied, 20_000, "the reload");
        const res = await post(url, chat("fresh-alias"), USER);
        assert.equal(res.status, 200, await res.clone().text());
        assert.equal((await res.json()).model, "beta", "served by the neuron's model the profile names");
        const list = await (await fetch(`${g.url}/v1/models`, { headers: USER })).json();
        assert.ok(list.data.some((e: { id: string }) => e.id === "fresh"));
      });

      await t.step("a broken edit leaves the old catalogue serving and logs why", async () => {
        const rejected = reloads(g, "not reloaded");
        await Deno.writeTextFile(g.modelsPath, '[[models]]\nid = "fresh"\nvram_mb = "plenty"\n');
        await g.waitFor(() => reloads(g, "not reloaded") > rejected, 20_000, "the refusal");
        assert.match(g.stderr(), /previous catalogue keeps serving: .*models\[0\]\.vram_mb: expected number/);
        const res = await post(url, chat("fresh"), USER);
        assert.equal(res.status, 200, "the old catalogue still serves 'fresh'");
        await res.body?.cancel();
        const s = await scrape(g.metricsUrl);
        assert.ok(total(s, "cortex_catalogue_reloads_total", { outcome: "rejected" }) >= 1);
        assert.ok(total(s, "cortex_catalogue_reloads_total", { outcome: "applied" }) >= 1);
      });

      await t.step(
        "a request in flight across a reload finishes; the next one sees the new catalogue",
        async () => {
          const streaming = await post(url, chat("fresh", { stream: true, max_tokens: 24 }), USER);
          assert.equal(streaming.status, 200);
          const reader = streaming.body!.getReader();
          await reader.read(); // the stream has started
          const applied = reloads(g, "reloaded");
          await writeCatalogue(g, { models: [{ id: "alpha" }] }); // 'fresh' goes away
          await g.waitFor(() => reloads(g, "reloaded") > applied, 20_000, "the reload");
          let text = "";
          const decoder = new TextDecoder();
          for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value);
          assert.match(text, /"finish_reason":"(stop|length)"/);
          assert.match(text, /data: \[DONE\]/);
          const after = await post(url, chat("fresh"), USER);
          assert.equal(after.status, 404);
          await after.body?.cancel();
        },
      );

      await t.step("SIGHUP reloads models.toml", async () => {
        const applied = reloads(g, "reloaded");
        g.process.kill("SIGHUP");
        await g.waitFor(() => reloads(g, "reloaded") > applied, 20_000, "the SIGHUP reload");
        assert.match(g.stderr(), /models\.toml reloaded \(SIGHUP\): 1 model, 0 aliases/);
      });

      await t.step(
        "without allow_unlisted an unlisted hub id is a 404 that says how to enable it",
        async () => {
          const res = await post(`${g.url}/admin/load`, { model: "org/tiny" }, ADMIN);
          assert.equal(res.status, 404);
          const body = await res.json();
          assert.match(body.error.message, /allow_unlisted = true/);
        },
      );

      await t.step(
        "allow_unlisted = true: an admin loads an unlisted hub id, placed by the neuron",
        async () => {
          const applied = reloads(g, "reloaded");
          await writeCatalogue(g, { allow_unlisted: true, models: [{ id: "alpha" }] });
          await g.waitFor(() => reloads(g, "reloaded") > applied, 20_000, "the reload");
          const refused = await post(`${g.url}/admin/load`, { model: "org/tiny" }, USER);
          assert.equal(refused.status, 403, "admin routes still need an admin key");
          await refused.body?.cancel();
          const res = await post(`${g.url}/admin/load`, { model: "org/tiny" }, ADMIN);
          assert.equal(res.status, 200, await res.clone().text());
          assert.equal((await res.json()).node, "a");
          const fleet = await g.fleet(ADMIN);
          const entry = fleet.nodes[0].models.find((m) => m.id === "org/tiny");
          assert.equal(entry?.status, "loaded");
          assert.ok((entry?.memory_mb ?? 0) > 0, "the neuron sized it");
          const chatRes = await post(url, chat("org/tiny"), USER);
          assert.equal(chatRes.status, 200, "servable once loaded");
          await chatRes.body?.cancel();
          const notHub = await post(`${g.url}/admin/load`, { model: "no-such-model" }, ADMIN);
          assert.equal(notHub.status, 404);
          assert.match((await notHub.json()).error.message, /hub ids/);
        },
      );
    } finally {
      await gateway?.stop();
      await neuron?.stop();
      await hub.close();
      await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
    }
  },
});
