// Acceptance: keep-alive with a real gateway and a real neuron. A model with `ttl_s` unloads
// once idle past it and stays while requests keep coming; `keep_alive: 0` (body field on every
// dialect, or the `x-cortex-keep-alive` header) unloads right after the request; a negative
// keep_alive and a pinned profile keep the model. Each idle unload is counted and logged.
// Outcomes are polled for within generous bounds; nothing here asserts how long anything took.
import assert from "node:assert/strict";
import { type SpawnedNeuron, spawnNeuron } from "../../neuron/testing/spawn_neuron.ts";
import { type SpawnedGateway, spawnGateway } from "../testing/spawn_gateway.ts";
import { chat, havePlugin, post, scrape, TINY, total } from "./_fixtures.ts";

async function statusOf(gateway: SpawnedGateway, model: string): Promise<string | undefined> {
  const fleet = await gateway.fleet();
  return fleet.nodes[0].models.find((m) => m.id === model)?.status;
}

// Unloaded and done unloading (the idle unload's metric and log line come right after).
async function unloaded(gateway: SpawnedGateway, model: string): Promise<void> {
  await gateway.waitFor(
    async () =>
      !["loaded", "unloading", "draining"].includes((await statusOf(gateway, model)) ?? "available"),
    30_000,
    `'${model}' unloaded`,
  );
}

// Waits until the gateway has counted `count` idle unloads of `model` on node a.
async function idleUnloads(gateway: SpawnedGateway, model: string, count: number): Promise<void> {
  await gateway.waitFor(
    async () =>
      total(await scrape(gateway.metricsUrl), "cortex_idle_unloads_total", { model, node: "a" }) === count,
    10_000,
    `${count} idle unloads of '${model}' counted`,
  );
}

async function ok(res: Response, what: string): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, 200, `${what}: ${text}`);
}

Deno.test({
  name: "acceptance: keep-alive — ttl_s, keep_alive 0 on every dialect and the header, -1 and pinned keep",
  ignore: !havePlugin(),
  async fn(t) {
    let neuron: SpawnedNeuron | null = null;
    let gateway: SpawnedGateway | null = null;
    try {
      neuron = await spawnNeuron({
        models: { short: TINY.f32, steady: TINY.f32u, plain: TINY.bf16, pinned: TINY.bf16u },
        defaultModels: [],
      });
      gateway = await spawnGateway({
        neurons: [{ name: "a", endpoint: neuron.url }],
        models: [
          { id: "short", ttl_s: 1 },
          { id: "steady", ttl_s: 2 },
          { id: "plain" },
          { id: "pinned", ttl_s: 1, pinned_on: ["a"] },
        ],
        eviction: { min_residency_s: 0 },
      });
      const g = gateway;
      await g.waitFor(async () => (await g.fleet()).nodes[0].healthy);
      const url = `${g.url}/v1/chat/completions`;

      await t.step(
        "a model unloads after its last request once idle past ttl_s, counted and logged",
        async () => {
          await ok(await post(url, chat("short")), "chat short");
          await unloaded(g, "short");
          await idleUnloads(g, "short", 1);
          const s = await scrape(g.metricsUrl);
          assert.equal(total(s, "cortex_evictions_total", { model: "short", reason: "idle" }), 1);
          assert.match(g.stderr(), /idle_unload model=short node=a idle_s=[\d.]+ keep_alive_s=1/);
        },
      );

      await t.step("a model stays loaded while requests keep coming", async () => {
        const started = Date.now();
        let requests = 0;
        // Back-to-back requests for longer than twice its ttl_s: it never goes idle that long.
        while (Date.now() - started < 5_000 || requests < 3) {
          await ok(await post(url, chat("steady")), "chat steady");
          requests++;
          assert.equal(await statusOf(g, "steady"), "loaded", `still loaded after request ${requests}`);
        }
        const entry = (await g.fleet()).nodes[0].models.find((m) => m.id === "steady");
        assert.equal(entry?.keep_alive_s, 2, "/admin/fleet shows its keep-alive");
        const s = await scrape(g.metricsUrl);
        assert.equal(total(s, "cortex_idle_unloads_total", { model: "steady" }), 0);
        await unloaded(g, "steady");
      });

      await t.step(
        "keep_alive: 0 unloads right after the request, on every dialect and by header",
        async () => {
          const plain = (extra: Record<string, unknown>) => ({ model: "plain", ...extra });
          const requests: [string, string, Record<string, unknown>, Record<string, string>][] = [
            ["chat", "/v1/chat/completions", chat("plain", { keep_alive: 0 }), {}],
            ["chat, streamed", "/v1/chat/completions", chat("plain", { keep_alive: "0s", stream: true }), {}],
            ["completions", "/v1/completions", plain({ prompt: "Once", max_tokens: 4, keep_alive: "0" }), {}],
            [
              "responses",
              "/v1/responses",
              plain({ input: "Hello", max_output_tokens: 8, keep_alive: 0 }),
              {},
            ],
            [
              "messages",
              "/v1/messages",
              plain({ max_tokens: 8, messages: [{ role: "user", content: "Hello" }], keep_alive: 0 }),
              {},
            ],
            ["header", "/v1/chat/completions", chat("plain"), { "x-cortex-keep-alive": "0" }],
          ];
          for (const [what, path, body, headers] of requests) {
            // The neuron refuses fields it does not know: a 200 shows the gateway took keep_alive out.
            await ok(await post(`${g.url}${path}`, body, headers), what);
            await unloaded(g, "plain");
          }
          await idleUnloads(g, "plain", requests.length);
        },
      );

      await t.step("without keep_alive or ttl_s (and no default) a model stays loaded", async () => {
        await ok(await post(url, chat("plain")), "chat plain");
        // 'short' unloading after its 1 s ttl shows sweeps ran well after plain's last request.
        await ok(await post(url, chat("short", { keep_alive: "1.5s" })), "chat short");
        await unloaded(g, "short");
        assert.equal(await statusOf(g, "plain"), "loaded");
      });

      await t.step(
        "a negative keep_alive keeps a model past its ttl_s, until a request says otherwise",
        async () => {
          await ok(await post(url, chat("short", { keep_alive: -1 })), "chat short -1");
          const entry = (await g.fleet()).nodes[0].models.find((m) => m.id === "short");
          assert.equal(entry?.keep_alive_s, null, "kept: no keep-alive deadline");
          await ok(await post(url, chat("plain", { keep_alive: "1500ms" })), "chat plain");
          await unloaded(g, "plain");
          assert.equal(await statusOf(g, "short"), "loaded", "kept although idle past its ttl_s of 1 s");
          await ok(await post(url, chat("short")), "chat short");
          await unloaded(g, "short");
        },
      );

      await t.step("a pinned model never unloads for idleness, whatever keep_alive asks", async () => {
        await ok(await post(url, chat("pinned", { keep_alive: 0 })), "chat pinned");
        await ok(await post(url, chat("plain", { keep_alive: "1.5s" })), "chat plain");
        await unloaded(g, "plain");
        assert.equal(
          await statusOf(g, "pinned"),
          "loaded",
          "pinned: still loaded past its ttl_s and keep_alive 0",
        );
        const s = await scrape(g.metricsUrl);
        assert.equal(total(s, "cortex_idle_unloads_total", { model: "pinned" }), 0);
      });

      await t.step(
        "a keep_alive that is not a duration is a 400 naming it, in the dialect's envelope",
        async () => {
          const res = await post(url, chat("plain", { keep_alive: "a while" }));
          assert.equal(res.status, 400);
          const body = await res.json();
          assert.equal(body.error.param, "keep_alive");
          assert.match(body.error.message, /keep_alive.*"5m"/);
          const anthropic = await post(`${g.url}/v1/messages`, {
            model: "plain",
            max_tokens: 8,
            messages: [{ role: "user", content: "Hello" }],
            keep_alive: [],
          });
          assert.equal(anthropic.status, 400);
          const envelope = await anthropic.json();
          assert.equal(envelope.type, "error");
          assert.match(envelope.error.message, /keep_alive/);
          const header = await post(url, chat("plain"), { "x-cortex-keep-alive": "later" });
          assert.equal(header.status, 400);
          assert.equal((await header.json()).error.param, "x-cortex-keep-alive");
        },
      );
    } finally {
      await gateway?.stop();
      await neuron?.stop();
    }
  },
});
