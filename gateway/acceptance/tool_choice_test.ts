// Acceptance: forced tool choice through a real gateway and neuron, with the official SDKs, in
// all three dialects — OpenAI chat (`required`, a named function), Anthropic Messages (`any`,
// `{type: "tool", name}`) and OpenAI Responses (`required`, `{type: "function", name}`) — on the
// random tiny fixture (garbage unless constrained) and on cortex-demo: 200 forced requests per
// model, every one a well-formed call to an offered tool (the named one when named) with JSON
// arguments; `none` gives no call, `parallel_tool_calls: false` / `disable_parallel_tool_use`
// exactly one, and a tool_choice naming a tool that is not offered a 400 in the dialect's envelope.
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { DEMO_MODEL, haveDemoModel, spawnNeuron } from "../../neuron/testing/spawn_neuron.ts";
import { spawnGateway } from "../testing/spawn_gateway.ts";
import { anthropicTools, chatTools, responsesTools, SCHEMAS, type ToolName } from "./_demo_tools.ts";
import { havePlugin, post, TINY } from "./_fixtures.ts";

const FORCED_PER_MODEL = 200;
const SEATS = 4;

const NAMES = Object.keys(SCHEMAS) as ToolName[];
const PROMPTS = ["What's the weather in Lisbon?", "Run `ls -la /srv/data`", "What is 412 plus 37?", "Hello!"];

/** One call as every dialect reports it: a name and parsed arguments. */
interface Call {
  name: string;
  args: unknown;
}

/** One forced request: which dialect, the tools offered, the one named (or null for any). */
interface Case {
  dialect: "chat" | "messages" | "responses";
  offered: ToolName[];
  named: ToolName | null;
  single: boolean;
  stream: boolean;
  maxTokens: number;
  temperature: number;
  prompt: string;
}

function caseOf(i: number): Case {
  const offered = NAMES.slice(0, 1 + (i % 3));
  return {
    dialect: (["chat", "messages", "responses"] as const)[i % 3],
    offered,
    named: (i >> 1) % 2 === 1 ? offered[(i >> 2) % offered.length] : null,
    single: i % 5 === 0,
    stream: (i >> 3) % 2 === 1,
    maxTokens: 96 + (i * 29) % 96,
    temperature: [0, 0.7, 1.2][(i >> 2) % 3],
    prompt: PROMPTS[i % PROMPTS.length],
  };
}

async function runCase(openai: OpenAI, anthropic: Anthropic, model: string, c: Case): Promise<Call[]> {
  const parse = (text: string): unknown => JSON.parse(text);
  if (c.dialect === "chat") {
    const request = {
      model,
      messages: [{ role: "user" as const, content: c.prompt }],
      tools: chatTools(c.offered),
      tool_choice: c.named ? { type: "function" as const, function: { name: c.named } } : "required" as const,
      ...(c.single ? { parallel_tool_calls: false } : {}),
      max_tokens: c.maxTokens,
      temperature: c.temperature,
    };
    let calls: { name: string; args: string }[] = [];
    let finish: string | null = null;
    if (c.stream) {
      for await (const chunk of await openai.chat.completions.create({ ...request, stream: true })) {
        for (const delta of chunk.choices[0]?.delta?.tool_calls ?? []) {
          calls[delta.index] ??= { name: "", args: "" };
          calls[delta.index].name += delta.function?.name ?? "";
          calls[delta.index].args += delta.function?.arguments ?? "";
        }
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
    } else {
      const reply = await openai.chat.completions.create(request);
      finish = reply.choices[0].finish_reason;
      calls = (reply.choices[0].message.tool_calls ?? []).map((call) => {
        assert.equal(call.type, "function");
        return { name: call.function.name, args: call.function.arguments };
      });
    }
    assert.equal(finish, "tool_calls");
    return calls.map((call) => ({ name: call.name, args: parse(call.args) }));
  }
  if (c.dialect === "messages") {
    const request: Anthropic.MessageCreateParamsNonStreaming = {
      model,
      max_tokens: c.maxTokens,
      messages: [{ role: "user", content: c.prompt }],
      tools: anthropicTools(c.offered),
      tool_choice: c.named
        ? { type: "tool", name: c.named, disable_parallel_tool_use: c.single }
        : { type: "any", disable_parallel_tool_use: c.single },
    };
    const message = c.stream
      ? await anthropic.messages.stream(request).finalMessage()
      : await anthropic.messages.create(request);
    assert.equal(message.stop_reason, "tool_use");
    return message.content.flatMap((block) =>
      block.type === "tool_use" ? [{ name: block.name, args: block.input }] : []
    );
  }
  const request = {
    model,
    input: c.prompt,
    tools: responsesTools(c.offered),
    tool_choice: c.named ? { type: "function" as const, name: c.named } : "required" as const,
    ...(c.single ? { parallel_tool_calls: false } : {}),
    max_output_tokens: c.maxTokens,
    temperature: c.temperature,
  };
  const response = c.stream
    ? await openai.responses.stream(request).finalResponse()
    : await openai.responses.create(request);
  assert.equal(response.status, "completed");
  return response.output.flatMap((item) =>
    item.type === "function_call" ? [{ name: item.name, args: parse(item.arguments) }] : []
  );
}

for (
  const [label, folder, present] of [["tiny random", TINY.f32, true], [
    "cortex-demo",
    DEMO_MODEL,
    haveDemoModel(),
  ]] as const
) {
  Deno.test({
    name:
      `acceptance (${label}): forced tool choice in chat, Messages and Responses is always a well-formed call`,
    ignore: !havePlugin() || !present,
    async fn(t) {
      const neuron = await spawnNeuron({
        models: { m: folder },
        admission: { max_in_flight: SEATS, max_queue: 16 },
      });
      const gateway = await spawnGateway({
        neurons: [{ name: "n1", endpoint: neuron.url }],
        models: [{ id: "m", vram_mb: 8 }],
      });
      try {
        await gateway.waitFor(
          async () => (await gateway.fleet()).nodes[0].healthy,
          20_000,
          "node n1 healthy",
        );
        const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 });
        const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: "unused", maxRetries: 0 });

        await t.step(
          `${FORCED_PER_MODEL} forced requests: 100% well-formed calls to offered (named) tools`,
          async () => {
            const failures: string[] = [];
            let calls = 0;
            for (let start = 0; start < FORCED_PER_MODEL; start += SEATS) {
              await Promise.all(Array.from({ length: SEATS }, async (_, k) => {
                const c = caseOf(start + k);
                try {
                  const made = await runCase(openai, anthropic, "m", c);
                  assert.ok(made.length >= 1, "no call");
                  if (c.single) assert.equal(made.length, 1, "parallel calls were turned off");
                  for (const call of made) {
                    assert.ok((c.named ? [c.named] : c.offered).includes(call.name as ToolName), call.name);
                    assert.ok(
                      call.args !== null && typeof call.args === "object" && !Array.isArray(call.args),
                    );
                  }
                  calls += made.length;
                } catch (error) {
                  failures.push(`${JSON.stringify(c)}: ${(error as Error).message}`);
                }
              }));
            }
            console.log(
              `${label}: ${
                FORCED_PER_MODEL - failures.length
              }/${FORCED_PER_MODEL} forced requests made ${calls} calls`,
            );
            assert.deepEqual(failures, []);
          },
        );

        if (label === "cortex-demo") {
          await t.step(
            "where the model calls by itself, forcing the same tool gives the very same call",
            async () => {
              for (
                const [prompt, name] of [[PROMPTS[0], "get_weather"], [PROMPTS[1], "bash"], [
                  PROMPTS[2],
                  "add",
                ]] as const
              ) {
                const ask = async (choice: OpenAI.ChatCompletionToolChoiceOption) => {
                  const reply = await openai.chat.completions.create({
                    model: "m",
                    messages: [{ role: "user", content: prompt }],
                    tools: chatTools(NAMES),
                    tool_choice: choice,
                    temperature: 0,
                    max_tokens: 96,
                  });
                  return (reply.choices[0].message.tool_calls ?? []).map((c) =>
                    c.type === "function" ? [c.function.name, c.function.arguments] : [c.type]
                  );
                };
                const free = await ask("auto");
                assert.equal(free[0]?.[0], name, prompt);
                assert.deepEqual(await ask("required"), free, prompt);
                assert.deepEqual(await ask({ type: "function", function: { name } }), free, prompt);
              }
            },
          );
        }

        await t.step("tool_choice none: no call in any dialect", async () => {
          const chat = await openai.chat.completions.create({
            model: "m",
            messages: [{ role: "user", content: PROMPTS[0] }],
            tools: chatTools(NAMES),
            tool_choice: "none",
            max_tokens: 32,
            temperature: 0,
          });
          assert.equal(chat.choices[0].message.tool_calls, undefined);
          assert.notEqual(chat.choices[0].finish_reason, "tool_calls");
          const message = await anthropic.messages.create({
            model: "m",
            max_tokens: 32,
            messages: [{ role: "user", content: PROMPTS[1] }],
            tools: anthropicTools(NAMES),
            tool_choice: { type: "none" },
          });
          assert.ok(message.content.every((block) => block.type !== "tool_use"));
          assert.notEqual(message.stop_reason, "tool_use");
          const response = await openai.responses.create({
            model: "m",
            input: PROMPTS[2],
            tools: responsesTools(NAMES),
            tool_choice: "none",
            max_output_tokens: 32,
            temperature: 0,
          });
          assert.ok(response.output.every((item) => item.type !== "function_call"));
        });

        await t.step(
          "a tool_choice naming a tool not offered is a 400 in each dialect's envelope",
          async () => {
            const chat = await post(`${gateway.url}/v1/chat/completions`, {
              model: "m",
              messages: [{ role: "user", content: "hi" }],
              tools: chatTools(["bash"]),
              tool_choice: { type: "function", function: { name: "get_weather" } },
            });
            assert.equal(chat.status, 400);
            const chatError = (await chat.json()).error;
            assert.equal(chatError.param, "tool_choice");
            assert.match(chatError.message, /"get_weather" is not one of the offered tools/);

            const messages = await post(`${gateway.url}/v1/messages`, {
              model: "m",
              max_tokens: 16,
              messages: [{ role: "user", content: "hi" }],
              tools: anthropicTools(["bash"]),
              tool_choice: { type: "tool", name: "get_weather" },
            });
            assert.equal(messages.status, 400);
            const anthropicError = await messages.json();
            assert.equal(anthropicError.type, "error");
            assert.equal(anthropicError.error.type, "invalid_request_error");
            assert.match(anthropicError.error.message, /tool_choice/);

            const responses = await post(`${gateway.url}/v1/responses`, {
              model: "m",
              input: "hi",
              tools: responsesTools(["bash"]),
              tool_choice: { type: "function", name: "get_weather" },
            });
            assert.equal(responses.status, 400);
            const responsesError = (await responses.json()).error;
            assert.equal(responsesError.param, "tool_choice");
          },
        );
      } finally {
        await gateway.stop();
        await neuron.stop();
      }
    },
  });
}
