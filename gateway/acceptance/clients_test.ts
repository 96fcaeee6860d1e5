// Acceptance: the official OpenAI and Anthropic SDKs against a real gateway in front of a
// real neuron (tiny Qwen3 on a CPU device), plus bad requests, keys and /metrics.
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { anthropicCountTokensToChat } from "@cortex/core/translate";
import { spawnNeuron } from "../../neuron/testing/spawn_neuron.ts";
import { spawnGateway } from "../testing/spawn_gateway.ts";
import { chat, havePlugin, post, scrape, TINY, total } from "./_fixtures.ts";

const USER_KEY = "sk-user-0123456789";
const ADMIN_KEY = "sk-admin-0123456789";
const SCOPED_ADMIN_KEY = "sk-admin-tiny-only-0123";
const ZED_KEY = "sk-zed-0123456789";

Deno.test({
  name: "acceptance: SDK clients, count_tokens, bad requests, keys and metrics through the gateway",
  ignore: !havePlugin(),
  async fn(t) {
    const neuron = await spawnNeuron({
      models: { tiny: TINY.f32, other: TINY.bf16 },
      defaultModels: ["tiny"],
    });
    const gateway = await spawnGateway({
      neurons: [{ name: "n1", endpoint: neuron.url }],
      models: [{ id: "tiny", vram_mb: 3, aliases: ["small"], cost: { input: 0.1, output: 0.2 } }, {
        id: "other",
        vram_mb: 3,
      }],
      gateway: {
        body_limit_mb: 1,
        keys: [
          { name: "user", key: USER_KEY },
          { name: "ops", key: ADMIN_KEY, admin: true },
          { name: "ops-tiny", key: SCOPED_ADMIN_KEY, admin: true, models: ["tiny"] },
          { name: "zed", key: ZED_KEY, models: ["small"] },
        ],
      },
    });
    const auth = { authorization: `Bearer ${USER_KEY}` };
    try {
      await gateway.waitFor(
        async () => (await gateway.fleet({ "x-api-key": ADMIN_KEY })).nodes[0].healthy,
        20_000,
        "node n1 healthy",
      );
      const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: USER_KEY, maxRetries: 0 });
      const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: USER_KEY, maxRetries: 0 });

      await t.step("openai chat completions, non-streamed and streamed, via an alias", async () => {
        const { data, response } = await openai.chat.completions.create({
          model: "small",
          messages: [{ role: "user", content: "Hello" }],
          max_tokens: 6,
          temperature: 0,
        }).withResponse();
        assert.equal(data.object, "chat.completion");
        assert.ok((data.choices[0].message.content ?? "").length > 0);
        assert.equal(data.usage?.completion_tokens, 6);
        assert.equal(response.headers.get("x-cortex-node"), "n1");
        // The neuron's timing of the whole answer is relayed.
        assert.ok(Number(response.headers.get("x-cortex-prefill-ms")) > 0, "x-cortex-prefill-ms");
        assert.ok(Number(response.headers.get("x-cortex-queue-ms")) >= 0, "x-cortex-queue-ms");
        assert.equal(response.headers.get("x-cortex-cold-load-ms"), "0");
        assert.ok(response.headers.get("x-request-id"));
        const stream = await openai.chat.completions.create({
          model: "small",
          messages: [{ role: "user", content: "Hello" }],
          max_tokens: 6,
          temperature: 0,
          stream: true,
        });
        let text = "";
        let finish: string | null = null;
        let sawUsage = false;
        for await (const chunk of stream) {
          text += chunk.choices[0]?.delta?.content ?? "";
          finish = chunk.choices[0]?.finish_reason ?? finish;
          if (chunk.usage) sawUsage = true;
        }
        assert.equal(
          text,
          data.choices[0].message.content,
          "greedy stream reassembles the non-streamed answer",
        );
        assert.equal(finish, "length");
        assert.equal(sawUsage, false, "the usage chunk the client did not ask for is not forwarded");
      });

      await t.step("openai Responses API, non-streamed and streamed", async () => {
        const response = await openai.responses.create({
          model: "tiny",
          input: "Hello",
          max_output_tokens: 6,
        });
        assert.equal(response.object, "response");
        assert.ok(response.output_text.length > 0);
        assert.equal(response.usage?.output_tokens, 6);
        const events: string[] = [];
        let text = "";
        const stream = await openai.responses.create({
          model: "tiny",
          input: "Hello",
          max_output_tokens: 6,
          stream: true,
        });
        for await (const event of stream) {
          events.push(event.type);
          if (event.type === "response.output_text.delta") text += event.delta;
        }
        assert.equal(events[0], "response.created");
        assert.equal(events[1], "response.in_progress");
        assert.equal(events.filter((e) => /^response\.(completed|incomplete|failed)$/.test(e)).length, 1);
        assert.ok(text.length > 0);
      });

      await t.step("anthropic messages, non-streamed and streamed", async () => {
        const message = await anthropic.messages.create({
          model: "tiny",
          max_tokens: 6,
          system: "Be brief.",
          messages: [{ role: "user", content: "Hello" }],
        });
        assert.equal(message.type, "message");
        assert.equal(message.role, "assistant");
        assert.equal(message.stop_reason, "max_tokens");
        assert.equal(message.usage.output_tokens, 6);
        const stream = anthropic.messages.stream({
          model: "tiny",
          max_tokens: 6,
          system: "Be brief.",
          messages: [{ role: "user", content: "Hello" }],
        });
        const final = await stream.finalMessage();
        assert.equal(final.stop_reason, "max_tokens");
        assert.deepEqual(
          final.content,
          message.content,
          "greedy stream reassembles the non-streamed message",
        );
        assert.equal(final.usage.output_tokens, 6);
      });

      await t.step("legacy completions pass through", async () => {
        const completion = await openai.completions.create({
          model: "tiny",
          prompt: "Once upon",
          max_tokens: 4,
        });
        assert.equal(completion.choices.length, 1);
        assert.equal(completion.usage?.completion_tokens, 4);
      });

      await t.step("count_tokens equals the neuron tokenizer's count of the same conversation", async () => {
        const request = {
          model: "tiny",
          system: "You are terse.",
          messages: [{ role: "user" as const, content: "Count these tokens, please." }],
          tools: [{ name: "get_weather", description: "Weather", input_schema: { type: "object" as const } }],
        };
        const counted = await anthropic.messages.countTokens(request);
        const direct = await (await post(`${neuron.url}/tokenize`, anthropicCountTokensToChat(request)))
          .json();
        assert.equal(counted.input_tokens, direct.count);
        assert.ok(counted.input_tokens > 10);
      });

      await t.step("/v1/models lists the catalogue with where each model is, aliases mirrored", async () => {
        const ids = [];
        for await (const model of openai.models.list()) ids.push(model.id);
        assert.deepEqual(ids, ["other", "small", "tiny"]);
        const one = await openai.models.retrieve("small");
        assert.equal(one.id, "small");
        const body = await (await fetch(`${gateway.url}/v1/models`, { headers: auth })).json();
        const tiny = body.data.find((e: { id: string }) => e.id === "tiny");
        assert.equal(tiny.loaded, true);
        assert.deepEqual(tiny.locations.map((l: { node: string; status: string }) => [l.node, l.status]), [[
          "n1",
          "loaded",
        ]]);
        assert.deepEqual(tiny.cost, { input: 0.1, output: 0.2 });
        assert.equal(tiny.limit.context, 512);
        assert.equal(body.data.find((e: { id: string }) => e.id === "small").alias_of, "tiny");
        const restricted =
          await (await fetch(`${gateway.url}/v1/models`, { headers: { "x-api-key": ZED_KEY } }))
            .json();
        assert.deepEqual(restricted.data.map((e: { id: string }) => e.id), ["small"]);
      });

      await t.step("a client that disconnects mid-stream cancels the upstream request", async () => {
        const controller = new AbortController();
        const res = await fetch(`${gateway.url}/v1/chat/completions`, {
          method: "POST",
          headers: { ...auth, "content-type": "application/json" },
          body: JSON.stringify(chat("tiny", { max_tokens: 400, stream: true })),
          signal: controller.signal,
        });
        const reader = res.body!.getReader();
        await reader.read();
        controller.abort();
        await reader.cancel().catch(() => {});
        await gateway.waitFor(
          async () => {
            const samples = await scrape(gateway.metricsUrl);
            return total(samples, "cortex_requests_total", { model: "tiny", status: "499" }) === 1;
          },
          10_000,
          "the cancelled request to be recorded as 499",
        );
        await gateway.waitFor(
          async () => {
            const health = await (await fetch(`${neuron.url}/health`)).json();
            return health.models.every((m: { in_flight: number }) => m.in_flight === 0);
          },
          10_000,
          "the neuron to have nothing in flight",
        );
      });

      await t.step("bad requests get the right status and envelope in the client's dialect", async () => {
        const url = gateway.url;
        const malformed = await post(`${url}/v1/chat/completions`, "{not json", auth);
        assert.equal(malformed.status, 400);
        assert.equal((await malformed.json()).error.code, "malformed_json");
        const malformedAnthropic = await post(`${url}/v1/messages`, "{not json", auth);
        assert.equal(malformedAnthropic.status, 400);
        const a = await malformedAnthropic.json();
        assert.equal(a.type, "error");
        assert.equal(a.error.type, "invalid_request_error");
        const unknown = await post(`${url}/v1/chat/completions`, chat("no-such-model"), auth);
        assert.equal(unknown.status, 404);
        assert.equal((await unknown.json()).error.code, "model_not_found");
        const badShape = await post(
          `${url}/v1/messages`,
          { model: "tiny", messages: "nope", max_tokens: 5 },
          auth,
        );
        assert.equal(badShape.status, 400);
        assert.match((await badShape.json()).error.message, /messages/);
        const missingKey = await post(`${url}/v1/chat/completions`, chat("tiny"));
        assert.equal(missingKey.status, 401);
        assert.equal((await missingKey.json()).error.code, "invalid_api_key");
        const wrongKey = await post(`${url}/v1/messages`, { model: "tiny", max_tokens: 5, messages: [] }, {
          "x-api-key": "sk-wrong-000000000",
        });
        assert.equal(wrongKey.status, 401);
        assert.equal((await wrongKey.json()).error.type, "authentication_error");
        const forbiddenModel = await post(`${url}/v1/chat/completions`, chat("other"), {
          "x-api-key": ZED_KEY,
        });
        assert.equal(forbiddenModel.status, 403);
        assert.equal((await forbiddenModel.json()).error.code, "permission_denied");
        const allowed = await post(`${url}/v1/chat/completions`, chat("small"), { "x-api-key": ZED_KEY });
        assert.equal(allowed.status, 200);
        await allowed.body?.cancel();
        const notAdmin = await fetch(`${url}/admin/fleet`, { headers: auth });
        assert.equal(notAdmin.status, 403);
        await notAdmin.body?.cancel();
        for (const action of ["load", "unload"]) {
          const outsideItsModels = await post(`${url}/admin/${action}`, { model: "other" }, {
            "x-api-key": SCOPED_ADMIN_KEY,
          });
          assert.equal(outsideItsModels.status, 403, `admin ${action} of a model outside the key's list`);
          assert.equal((await outsideItsModels.json()).error.code, "permission_denied");
        }
        const tooLarge = await post(
          `${url}/v1/chat/completions`,
          chat("tiny", { pad: "x".repeat(1_100_000) }),
          auth,
        );
        assert.equal(tooLarge.status, 413);
        assert.equal((await tooLarge.json()).error.code, "request_too_large");
        // The neuron refuses a prompt longer than the context: its status and code reach the
        // client in the client's dialect.
        const long = "word ".repeat(2000);
        const tooLong = await post(
          `${url}/v1/chat/completions`,
          chat("tiny", {
            messages: [{ role: "user", content: long }],
          }),
          auth,
        );
        assert.equal(tooLong.status, 400);
        assert.equal(tooLong.headers.get("x-cortex-node"), "n1");
        assert.equal((await tooLong.json()).error.code, "context_length_exceeded");
        const tooLongAnthropic = await post(`${url}/v1/messages`, {
          model: "tiny",
          max_tokens: 4,
          messages: [{ role: "user", content: long }],
        }, auth);
        assert.equal(tooLongAnthropic.status, 400);
        const e = await tooLongAnthropic.json();
        assert.equal(e.type, "error");
        assert.equal(e.error.type, "invalid_request_error");
        assert.match(e.error.message, /context/);
        const preflight = await fetch(`${url}/v1/chat/completions`, {
          method: "OPTIONS",
          headers: { origin: "http://localhost:3000", "access-control-request-method": "POST" },
        });
        assert.equal(preflight.status, 204, "CORS preflight is answered before auth");
        assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
        await preflight.body?.cancel();
        const health = await fetch(`${url}/health`);
        assert.equal(health.status, 200, "/health needs no key");
        assert.equal((await health.json()).status, "ok");
      });

      await t.step(
        "a conversation's next turn is served from the prefix cache and says so in every dialect",
        async () => {
          const system = "You are a terse assistant. Answer in one word.";
          const first = [{ role: "user" as const, content: "Name a colour." }];
          const turn1 = await openai.chat.completions.create({
            model: "tiny",
            messages: [{ role: "system", content: system }, ...first],
            max_tokens: 4,
            temperature: 0,
          });
          const answer = turn1.choices[0].message.content ?? "";
          const second = [...first, { role: "assistant" as const, content: answer }, {
            role: "user" as const,
            content: "Another one.",
          }];
          const chatTurn = await openai.chat.completions.create({
            model: "tiny",
            messages: [{ role: "system", content: system }, ...second],
            max_tokens: 4,
            temperature: 0,
          });
          const chatCached = chatTurn.usage?.prompt_tokens_details?.cached_tokens ?? 0;
          assert.ok(
            chatCached > 0 && chatCached < chatTurn.usage!.prompt_tokens,
            `chat cached ${chatCached}`,
          );
          const message = await anthropic.messages.create({
            model: "tiny",
            max_tokens: 4,
            system,
            messages: second,
          });
          assert.ok((message.usage.cache_read_input_tokens ?? 0) > 0, JSON.stringify(message.usage));
          assert.equal(
            message.usage.input_tokens + (message.usage.cache_read_input_tokens ?? 0),
            chatTurn.usage!.prompt_tokens,
            "Anthropic input_tokens exclude the cache reads",
          );
          const response = await openai.responses.create({
            model: "tiny",
            instructions: system,
            input: second.map((m) => ({ role: m.role, content: m.content })),
            max_output_tokens: 4,
          });
          assert.ok(
            (response.usage?.input_tokens_details.cached_tokens ?? 0) > 0,
            JSON.stringify(response.usage),
          );
          const health = await (await fetch(`${neuron.url}/health`)).json();
          const cache = health.models.find((m: { id: string }) => m.id === "tiny").prefix_cache;
          assert.equal(cache.enabled, true);
          assert.ok(
            cache.hits >= 3 && cache.cached_tokens > 0 && cache.held_bytes > 0,
            JSON.stringify(cache),
          );
          const listed = await (await fetch(`${neuron.url}/models`)).json();
          const entry = listed.find((m: { id: string }) => m.id === "tiny");
          assert.deepEqual(entry.prefix_cache, cache, "/models reports the figures /health does");
        },
      );

      await t.step("/metrics exposes request, token, latency and fleet series with values", async () => {
        const s = await scrape(gateway.metricsUrl);
        assert.ok(
          total(s, "cortex_requests_total", { model: "tiny", node: "n1", dialect: "chat", status: "200" }) >=
            3,
        );
        assert.ok(total(s, "cortex_requests_total", { dialect: "responses", status: "200" }) >= 2);
        assert.ok(total(s, "cortex_requests_total", { dialect: "messages", status: "200" }) >= 2);
        assert.equal(total(s, "cortex_requests_total", { model: "unknown", status: "404" }), 1);
        assert.ok(total(s, "cortex_prompt_tokens_total", { model: "tiny" }) > 0);
        assert.ok(total(s, "cortex_completion_tokens_total", { model: "tiny" }) > 0);
        assert.ok(
          total(s, "cortex_time_to_first_token_seconds_count", { model: "tiny", start: "warm" }) >= 3,
        );
        assert.ok(total(s, "cortex_decode_tokens_per_second_count", { model: "tiny" }) >= 1);
        assert.ok(total(s, "cortex_request_duration_seconds_sum", { model: "tiny" }) > 0);
        assert.equal(total(s, "cortex_in_flight_requests", { model: "tiny" }), 0);
        assert.equal(total(s, "cortex_node_healthy", { node: "n1" }), 1);
        assert.ok(total(s, "cortex_device_memory_total_bytes", { node: "n1" }) > 0);
        assert.equal(total(s, "cortex_model_loaded", { node: "n1", model: "tiny" }), 1);
        assert.ok(total(s, "cortex_prefix_cache_cached_tokens", { node: "n1", model: "tiny" }) > 0);
        assert.ok(total(s, "cortex_prefix_cache_hit_rate", { node: "n1", model: "tiny" }) > 0);
        assert.ok(total(s, "cortex_prefix_cache_bytes", { node: "n1", model: "tiny" }) > 0);
        assert.ok(!s.some((x) => x.name.endsWith("_quantile") || "quantile" in x.labels), "no summaries");
        const apiMetrics = await fetch(`${gateway.url}/metrics`, { headers: auth });
        assert.equal(apiMetrics.status, 404, "metrics are only on the metrics listener");
        await apiMetrics.body?.cancel();
      });
    } finally {
      await gateway.stop();
      await neuron.stop();
    }
  },
});
