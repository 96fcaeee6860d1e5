// Acceptance: each architecture of Engine IV (tiny random-weight fixtures in neuron/testdata/models:
// Llama with llama3 rope scaling, Qwen3 with YaRN, linear rope and a sliding window, Qwen3-MoE, and the
// Qwen3.5 / Qwen3-Next hybrids of Gated DeltaNet + gated attention, qwen3_5 in the
// conditional-generation layout with its vision tower and MTP head) loaded with /models/load on a real
// neuron and streamed through a real gateway in all three dialects, with usage; for the hybrids an
// image part is a 400 naming its field, since the vision tower is not served.
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { spawnNeuron } from "../../neuron/testing/spawn_neuron.ts";
import { spawnGateway } from "../testing/spawn_gateway.ts";
import { havePlugin, post, TINY } from "./_fixtures.ts";

const MODELS = TINY.f32.replace(/tiny-qwen3-f32$/, "");
/** qwen3_5 dense (vision tower in the file), qwen3_next (fused projections, experts), qwen3_5_moe. */
const HYBRIDS = ["tiny-qwen3_5-f32", "tiny-qwen3-next-f32", "tiny-qwen3_5-moe-f32"];
/** llama3 rope scaling, YaRN, linear rope, sliding window, and a Qwen3-MoE with a dense layer. */
const ROPE_AND_MOE = [
  "tiny-llama31-f32",
  "tiny-qwen3-yarn-f32",
  "tiny-qwen3-linear-rope-f32",
  "tiny-qwen3-swa-f32",
  "tiny-qwen3-moe-f32",
];

for (const folder of [...ROPE_AND_MOE, ...HYBRIDS]) {
  Deno.test({
    name: `acceptance: ${folder} loads with /models/load and streams chat, Responses and Messages with usage`,
    ignore: !havePlugin(),
    async fn(t) {
      const neuron = await spawnNeuron({ models: { served: `${MODELS}${folder}` }, defaultModels: [] });
      const gateway = await spawnGateway({
        neurons: [{ name: "n1", endpoint: neuron.url }],
        models: [{ id: "served", vram_mb: 64 }],
      });
      try {
        const loaded = await post(`${neuron.url}/models/load`, { model_id: "served" });
        assert.equal(loaded.status, 200, await loaded.text());
        // The gateway routes only to a node its poller has seen healthy (on a busy CI machine that can
        // take a few polls).
        await gateway.waitFor(
          async () => (await gateway.fleet()).nodes[0].healthy,
          20_000,
          "node n1 healthy",
        );
        const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 });
        const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: "unused", maxRetries: 0 });

        await t.step("chat completions, streamed, equal the non-streamed answer, with usage", async () => {
          const request = {
            model: "served",
            messages: [{ role: "user" as const, content: "Hello" }],
            max_tokens: 6,
          };
          const whole = await openai.chat.completions.create({ ...request, temperature: 0 });
          assert.equal(whole.usage?.completion_tokens, 6);
          assert.ok((whole.usage?.prompt_tokens ?? 0) > 1);
          let text = "";
          let completionTokens = 0;
          const stream = await openai.chat.completions.create({
            ...request,
            temperature: 0,
            stream: true,
            stream_options: { include_usage: true },
          });
          for await (const chunk of stream) {
            text += chunk.choices[0]?.delta?.content ?? "";
            if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
          }
          assert.equal(text, whole.choices[0].message.content);
          assert.equal(completionTokens, 6);
        });

        await t.step("Responses API, streamed", async () => {
          let text = "";
          let outputTokens = 0;
          const stream = await openai.responses.create({
            model: "served",
            input: "Hello",
            max_output_tokens: 5,
            stream: true,
          });
          for await (const event of stream) {
            if (event.type === "response.output_text.delta") text += event.delta;
            if (event.type === "response.completed" || event.type === "response.incomplete") {
              outputTokens = event.response.usage?.output_tokens ?? 0;
            }
          }
          assert.ok(text.length > 0);
          assert.equal(outputTokens, 5);
        });

        await t.step("Anthropic Messages, streamed", async () => {
          const final = await anthropic.messages.stream({
            model: "served",
            max_tokens: 5,
            messages: [{ role: "user", content: "Hello" }],
          }).finalMessage();
          assert.equal(final.stop_reason, "max_tokens");
          assert.equal(final.usage.output_tokens, 5);
        });

        if (!HYBRIDS.includes(folder)) return;
        await t.step("an image part is a 400 naming its field", async () => {
          const response = await post(`${gateway.url}/v1/chat/completions`, {
            model: "served",
            messages: [{
              role: "user",
              content: [{ type: "text", text: "What is this?" }, {
                type: "image_url",
                image_url: { url: "data:image/png;base64,AAAA" },
              }],
            }],
            max_tokens: 4,
          });
          const body = await response.text();
          assert.equal(response.status, 400, body);
          assert.match(body, /messages\[0\]\.content\[1\]/);
        });
      } finally {
        await gateway.stop();
        await neuron.stop();
      }
    },
  });
}
