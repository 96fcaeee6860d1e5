// Acceptance: a neuron killed mid-stream, marked unhealthy, traffic moved to a node that can
// load the model, and the node used again once it is back. Real processes only.
import assert from "node:assert/strict";
import { parseSse, type SseMessage } from "@cortex/core/sse";
import { type SpawnedNeuron, spawnNeuron } from "../../neuron/testing/spawn_neuron.ts";
import { spawnGateway } from "../testing/spawn_gateway.ts";
import { chat, havePlugin, post, scrape, TINY, total } from "./_fixtures.ts";

Deno.test({
  name: "acceptance: a killed neuron ends streams with dialect errors, goes unhealthy, and returns",
  ignore: !havePlugin(),
  async fn(t) {
    let n1: SpawnedNeuron = await spawnNeuron({
      models: { m: TINY.f32, solo: TINY.bf16 },
      defaultModels: ["m"],
    });
    const n2 = await spawnNeuron({ models: { m: TINY.f32 }, defaultModels: [] });
    const gateway = await spawnGateway({
      neurons: [{ name: "n1", endpoint: n1.url }, { name: "n2", endpoint: n2.url }],
      poller: { interval_s: 0.25, unhealthy_after: 2 },
    });
    try {
      await gateway.waitFor(async () => (await gateway.fleet()).nodes.every((n) => n.healthy));

      await t.step(
        "killing the neuron mid-stream ends each client stream with its dialect's error",
        async () => {
          // Which streams the kill catches mid-way is a race with a fast tiny model, so every stream
          // must end either complete or with its dialect's error event (never cut silently), and
          // each dialect must have been cut at least once over a few rounds.
          const cut = { chat: 0, messages: 0, responses: 0 };
          for (let round = 0; round < 4 && Object.values(cut).some((n) => n === 0); round++) {
            if (round > 0) {
              n1 = await spawnNeuron({
                port: n1.port,
                models: { m: TINY.f32, solo: TINY.bf16 },
                defaultModels: ["m"],
              });
              await gateway.waitFor(async () => {
                const node = (await gateway.fleet()).nodes.find((n) => n.name === "n1")!;
                return node.healthy && node.models.some((m) => m.id === "m" && m.status === "loaded");
              });
            }
            const streams = await Promise.all([
              post(`${gateway.url}/v1/chat/completions`, chat("m", { max_tokens: 490, stream: true })),
              post(`${gateway.url}/v1/messages`, {
                model: "m",
                max_tokens: 490,
                stream: true,
                messages: [{ role: "user", content: "Hello" }],
              }),
              post(`${gateway.url}/v1/responses`, {
                model: "m",
                input: "Hello",
                max_output_tokens: 490,
                stream: true,
              }),
            ]);
            for (const res of streams) assert.equal(res.headers.get("x-cortex-node"), "n1");
            const readers = streams.map((res) => res.body!.pipeThrough(new TextDecoderStream()).getReader());
            const texts = (await Promise.all(readers.map((r) => r.read()))).map((r) => r.value ?? "");
            await n1.stop("SIGKILL");
            // Reading on to the end must not throw: the gateway ends each stream cleanly.
            await Promise.all(readers.map(async (reader, i) => {
              for (let r = await reader.read(); !r.done; r = await reader.read()) texts[i] += r.value;
            }));
            const events = texts.map((t) => parseSse(t).filter((m) => m.data !== undefined));
            const [chatEvents, messageEvents, responseEvents] = events;
            const shown = (m: SseMessage | undefined): string => JSON.stringify(m);
            if (chatEvents.at(-1)?.data !== "[DONE]") {
              const last = JSON.parse(chatEvents.at(-1)!.data!);
              assert.equal(last.error.type, "api_error", shown(chatEvents.at(-1)));
              assert.equal(last.error.code, "upstream_connection_error");
              assert.ok(!texts[0].includes("[DONE]"), "no [DONE] after a failure");
              cut.chat++;
            }
            assert.equal(messageEvents[0].event, "message_start");
            if (messageEvents.at(-1)?.event !== "message_stop") {
              assert.equal(messageEvents.at(-1)?.event, "error", shown(messageEvents.at(-1)));
              assert.match(messageEvents.at(-1)!.data!, /^\{"type":"error","error":\{"type":"api_error"/);
              assert.ok(!texts[1].includes("message_stop"), "no message_stop after a failure");
              cut.messages++;
            }
            assert.equal(responseEvents[0].event, "response.created");
            if (!/^response\.(completed|incomplete)$/.test(responseEvents.at(-1)?.event ?? "")) {
              assert.equal(responseEvents.at(-1)?.event, "response.failed", shown(responseEvents.at(-1)));
              assert.ok(!texts[2].includes("response.completed"), "never completed after a failure");
              cut.responses++;
            }
          }
          assert.ok(
            Object.values(cut).every((n) => n > 0),
            `streams cut per dialect: ${JSON.stringify(cut)}`,
          );
          const s = await scrape(gateway.metricsUrl);
          assert.equal(
            total(s, "cortex_stream_errors_total", { node: "n1" }),
            cut.chat + cut.messages + cut.responses,
          );
        },
      );

      await t.step("the dead node is marked unhealthy and gets no traffic", async () => {
        await gateway.waitFor(async () =>
          !(await gateway.fleet()).nodes.find((n) => n.name === "n1")!.healthy
        );
        const health = await (await fetch(`${gateway.url}/health`)).json();
        assert.equal(health.status, "impaired");
        assert.deepEqual(health.nodes, { healthy: 1, total: 2 });
        const s = await scrape(gateway.metricsUrl);
        assert.equal(total(s, "cortex_node_healthy", { node: "n1" }), 0);
        assert.ok(total(s, "cortex_poll_failures_total", { node: "n1" }) >= 2);
      });

      await t.step("traffic moves to a node that can load the model", async () => {
        const res = await post(`${gateway.url}/v1/chat/completions`, chat("m"));
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("x-cortex-node"), "n2");
        assert.ok(Number(res.headers.get("x-cortex-cold-load-ms")) > 0);
        await res.body?.cancel();
        const onlyThere = await post(`${gateway.url}/v1/chat/completions`, chat("solo"));
        assert.equal(onlyThere.status, 503);
        assert.equal(onlyThere.headers.get("retry-after"), "3");
        const err = await onlyThere.json();
        assert.equal(err.error.code, "feasible_node_unhealthy");
        assert.match(err.error.message, /'n1', unhealthy now/);
      });

      await t.step("when the neuron returns it is used again", async () => {
        n1 = await spawnNeuron({
          port: n1.port,
          models: { m: TINY.f32, solo: TINY.bf16 },
          defaultModels: [],
        });
        await gateway.waitFor(async () =>
          (await gateway.fleet()).nodes.find((n) => n.name === "n1")!.healthy
        );
        const res = await post(`${gateway.url}/v1/chat/completions`, chat("solo"));
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("x-cortex-node"), "n1");
        await res.body?.cancel();
        assert.equal((await (await fetch(`${gateway.url}/health`)).json()).status, "ok");
      });
    } finally {
      await gateway.stop();
      await Promise.all([n1.stop(), n2.stop()]);
    }
  },
});
