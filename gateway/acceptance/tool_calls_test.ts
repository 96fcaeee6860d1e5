// Acceptance: tool calling end to end with a model that really calls tools (cortex-demo, the
// project's own trained model), through the official OpenAI and Anthropic SDKs, a real gateway and
// a real neuron. Each dialect makes the call, gets it parsed into its own tool-call shape, sends the
// result back, and gets an answer built from it; a request no offered tool fits gets words.
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { DEMO_MODEL, haveDemoModel, spawnNeuron } from "../../neuron/testing/spawn_neuron.ts";
import { spawnGateway } from "../testing/spawn_gateway.ts";
import { anthropicTools, chatTools, responsesTools } from "./_demo_tools.ts";
import { havePlugin } from "./_fixtures.ts";

const [WEATHER] = chatTools(["get_weather"]);
const [BASH] = anthropicTools(["bash"]);
const [ADD] = responsesTools(["add"]);

Deno.test({
  name: "acceptance: cortex-demo calls tools and answers from their results in every dialect",
  ignore: !havePlugin() || !haveDemoModel(),
  async fn(t) {
    const neuron = await spawnNeuron({ models: { "cortex-demo": DEMO_MODEL } });
    const gateway = await spawnGateway({
      neurons: [{ name: "n1", endpoint: neuron.url }],
      models: [{ id: "cortex-demo", vram_mb: 8 }],
    });
    try {
      await gateway.waitFor(async () => (await gateway.fleet()).nodes[0].healthy, 20_000, "node n1 healthy");
      const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 });
      const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: "unused", maxRetries: 0 });
      const model = "cortex-demo";

      await t.step(
        "openai chat: a tool call, streamed the same, then an answer from the result",
        async () => {
          const messages: OpenAI.ChatCompletionMessageParam[] = [
            { role: "user", content: "What's the weather in Lisbon?" },
          ];
          const called = await openai.chat.completions.create({
            model,
            messages,
            tools: [WEATHER],
            temperature: 0,
          });
          const choice = called.choices[0];
          assert.equal(choice.finish_reason, "tool_calls");
          assert.equal(choice.message.content, null);
          const [call] = choice.message.tool_calls ?? [];
          assert.equal(call.type, "function");
          assert.equal(call.function.name, "get_weather");
          assert.deepEqual(JSON.parse(call.function.arguments), { city: "Lisbon" });

          const stream = await openai.chat.completions.create({
            model,
            messages,
            tools: [WEATHER],
            temperature: 0,
            stream: true,
          });
          let name = "";
          let args = "";
          let finish: string | null = null;
          for await (const chunk of stream) {
            for (const delta of chunk.choices[0]?.delta?.tool_calls ?? []) {
              name += delta.function?.name ?? "";
              args += delta.function?.arguments ?? "";
            }
            finish = chunk.choices[0]?.finish_reason ?? finish;
          }
          assert.equal(finish, "tool_calls");
          assert.equal(name, "get_weather");
          assert.deepEqual(JSON.parse(args), { city: "Lisbon" });

          const answer = await openai.chat.completions.create({
            model,
            tools: [WEATHER],
            temperature: 0,
            messages: [
              ...messages,
              choice.message,
              {
                role: "tool",
                tool_call_id: call.id,
                content: JSON.stringify({ city: "Lisbon", temperature: 23, condition: "sunny" }),
              },
            ],
          });
          assert.equal(answer.choices[0].finish_reason, "stop");
          assert.match(answer.choices[0].message.content ?? "", /sunny/);
          assert.match(answer.choices[0].message.content ?? "", /23/);
        },
      );

      await t.step(
        "anthropic messages: tool_use, streamed the same, then an answer from tool_result",
        async () => {
          // No temperature: this SDK's types no longer carry it. The neuron then takes the model's
          // generation_config.json, which asks for greedy decoding (do_sample: false).
          const messages: Anthropic.MessageParam[] = [{ role: "user", content: "Run `ls -la /srv/data`" }];
          const called = await anthropic.messages.create({
            model,
            max_tokens: 64,
            tools: [BASH],
            messages,
          });
          assert.equal(called.stop_reason, "tool_use");
          const use = called.content.find((block) => block.type === "tool_use");
          assert.ok(use, JSON.stringify(called.content));
          assert.equal(use.name, "bash");
          assert.deepEqual(use.input, { command: "ls -la /srv/data" });

          const streamed = await anthropic.messages.stream({
            model,
            max_tokens: 64,
            tools: [BASH],
            messages,
          })
            .finalMessage();
          assert.equal(streamed.stop_reason, "tool_use");
          const streamedUse = streamed.content.find((block) => block.type === "tool_use");
          assert.deepEqual(streamedUse?.input, use.input);

          const answer = await anthropic.messages.create({
            model,
            max_tokens: 64,
            tools: [BASH],
            messages: [
              ...messages,
              { role: "assistant", content: called.content },
              {
                role: "user",
                content: [{ type: "tool_result", tool_use_id: use.id, content: "report.csv notes.md" }],
              },
            ],
          });
          assert.equal(answer.stop_reason, "end_turn");
          const text = answer.content.map((block) => block.type === "text" ? block.text : "").join("");
          assert.match(text, /report\.csv notes\.md/);
        },
      );

      await t.step(
        "openai Responses: a function_call item, then an answer from function_call_output",
        async () => {
          const input: OpenAI.Responses.ResponseInputItem[] = [{
            role: "user",
            content: "What is 412 plus 37?",
          }];
          const called = await openai.responses.create({ model, input, tools: [ADD], temperature: 0 });
          const call = called.output.find((item) => item.type === "function_call");
          assert.ok(call, JSON.stringify(called.output));
          assert.equal(call.name, "add");
          assert.deepEqual(JSON.parse(call.arguments), { a: 412, b: 37 });

          const answer = await openai.responses.create({
            model,
            tools: [ADD],
            temperature: 0,
            input: [...input, call, { type: "function_call_output", call_id: call.call_id, output: "449" }],
          });
          assert.equal(answer.status, "completed");
          assert.match(answer.output_text, /449/);
        },
      );

      await t.step("a request that no offered tool fits gets a plain answer, no call", async () => {
        const reply = await openai.chat.completions.create({
          model,
          messages: [{ role: "user", content: "Read the file /etc/hosts." }],
          tools: [WEATHER],
          temperature: 0,
        });
        assert.equal(reply.choices[0].finish_reason, "stop");
        assert.equal(reply.choices[0].message.tool_calls, undefined);
        assert.ok((reply.choices[0].message.content ?? "").length > 0);
      });
    } finally {
      await gateway.stop();
      await neuron.stop();
    }
  },
});
