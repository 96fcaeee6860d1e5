// tool_choice enforced by constrained decoding, through a real neuron's chat and Responses routes
// on the random tiny fixture (which writes garbage unless constrained): forced calls are
// well-formed calls to an offered tool, `none` gives no call, `parallel_tool_calls: false` one
// call, and a tool_choice naming a tool that is not offered is a 400 naming the field.
import assert from "node:assert/strict";
import { type ChatCompletion, ChatCompletionChunkSchema, ChatCompletionSchema } from "@cortex/core/openai";
import { type ResponsesResponse, ResponsesResponseSchema } from "@cortex/core/responses";
import { ChatCompletionAccumulator } from "@cortex/core/translate";
import { modelHealth, postForJson, postJson } from "./testing/http.ts";
import { readSse, sseJson } from "./testing/sse_client.ts";
import { killOnUnload, spawnNeuron, TINY_QWEN3 } from "./testing/spawn_neuron.ts";

const neuron = await spawnNeuron({
  models: { tiny: TINY_QWEN3 },
  admission: { max_in_flight: 4, max_queue: 16 },
});
killOnUnload(neuron);
const opts = { sanitizeResources: false, sanitizeOps: false };

const TOOLS = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Get the current weather in a city.",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
  },
  {
    type: "function",
    function: {
      name: "bash",
      description: "Run a shell command.",
      parameters: { type: "object", properties: { command: { type: "string" } }, required: ["command"] },
    },
  },
];
const NAMES = TOOLS.map((tool) => tool.function.name);
const MESSAGES = [{ role: "user", content: "What's the weather in Lisbon?" }];

async function chat(body: Record<string, unknown>): Promise<ChatCompletion> {
  const request = { model: "tiny", messages: MESSAGES, tools: TOOLS, max_tokens: 96, ...body };
  if (body.stream !== true) {
    const { status, body: json } = await postForJson(`${neuron.url}/v1/chat/completions`, request);
    assert.equal(status, 200, JSON.stringify(json));
    return ChatCompletionSchema.parse(json);
  }
  const response = await postJson(`${neuron.url}/v1/chat/completions`, request);
  assert.equal(response.status, 200);
  const accumulator = new ChatCompletionAccumulator();
  for (const chunk of sseJson(await readSse(response))) {
    accumulator.push(ChatCompletionChunkSchema.parse(chunk));
  }
  return accumulator.result();
}

/** Runs `fn(0 .. count - 1)`, `width` at a time (the neuron's seats). */
async function inBatches(count: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < count; start += width) {
    await Promise.all(Array.from({ length: Math.min(width, count - start) }, (_, k) => fn(start + k)));
  }
}

function assertCalls(completion: ChatCompletion, allowed: string[], label: string): number {
  const choice = completion.choices[0];
  const calls = choice.message.tool_calls ?? [];
  assert.ok(calls.length >= 1, `${label}: ${JSON.stringify(choice)}`);
  for (const call of calls) {
    assert.ok(allowed.includes(call.function.name), `${label}: ${call.function.name}`);
    const args = JSON.parse(call.function.arguments);
    assert.ok(args !== null && typeof args === "object" && !Array.isArray(args), label);
  }
  assert.equal(choice.finish_reason, "tool_calls", label);
  assert.equal((choice.message.content ?? "").trim(), "", label);
  return calls.length;
}

Deno.test({
  ...opts,
  name:
    "chat: 48 forced requests (required, named, streamed, parallel off, sampled) are all well-formed calls",
  fn: async () => {
    await inBatches(48, 4, async (i) => {
      const named = i % 2 === 1;
      const parallel = i % 3 !== 0;
      const body = {
        tool_choice: named ? { type: "function", function: { name: NAMES[i % 2] } } : "required",
        parallel_tool_calls: parallel,
        stream: i % 4 >= 2,
        temperature: [0, 0.8, 1.5][i % 3],
        seed: i,
        max_tokens: 64 + (i * 13) % 96,
      };
      const completion = await chat(body);
      const count = assertCalls(completion, named ? [NAMES[i % 2]] : NAMES, `request ${i}`);
      if (!parallel) assert.equal(count, 1, `request ${i}: parallel_tool_calls false`);
    });
  },
});

Deno.test({
  ...opts,
  name: "chat: tool_choice none never calls, even with the opener pushed by logit_bias; auto stays free",
  fn: async () => {
    const push = { "1018": 100 }; // <tool_call> in the tiny fixture's vocabulary
    const free = await chat({ tool_choice: "auto", logit_bias: push, max_tokens: 24, temperature: 0 });
    assert.ok(
      (free.choices[0].message.tool_calls?.length ?? 0) > 0 ||
        /<tool_call>/.test(free.choices[0].message.content ?? ""),
      "auto: the bias does push the opener",
    );
    for (let seed = 0; seed < 6; seed++) {
      const none = await chat({
        tool_choice: "none",
        logit_bias: push,
        max_tokens: 24,
        temperature: 1,
        seed,
      });
      assert.equal(none.choices[0].message.tool_calls, undefined);
      assert.doesNotMatch(none.choices[0].message.content ?? "", /<tool_call>/);
      assert.notEqual(none.choices[0].finish_reason, "tool_calls");
    }
  },
});

Deno.test({
  ...opts,
  name:
    "chat: a tool_choice naming a tool not offered, or forcing a call with no tools, is a 400 naming tool_choice",
  fn: async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { tool_choice: { type: "function", function: { name: "rm" } } },
        /"rm" is not one of the offered tools/,
      ],
      [
        { tools: undefined, tool_choice: { type: "function", function: { name: "bash" } } },
        /no tools are offered/,
      ],
      [{ tools: [], tool_choice: "required" }, /needs at least one tool/],
    ];
    for (const [extra, pattern] of cases) {
      const { status, body } = await postForJson<{ error: { param: string; message: string; code: string } }>(
        `${neuron.url}/v1/chat/completions`,
        { model: "tiny", messages: MESSAGES, tools: TOOLS, ...extra },
      );
      assert.equal(status, 400, JSON.stringify(body));
      assert.equal(body.error.param, "tool_choice");
      assert.equal(body.error.code, "invalid_request_body");
      assert.match(body.error.message, pattern);
    }
  },
});

Deno.test({
  ...opts,
  name: "responses: required and a named function give function_call items; an unknown name is a 400",
  fn: async () => {
    const tools = TOOLS.map((tool) => ({ type: "function", ...tool.function }));
    for (let i = 0; i < 8; i++) {
      const named = i % 2 === 1;
      const { status, body } = await postForJson(`${neuron.url}/v1/responses`, {
        model: "tiny",
        input: "What's the weather in Lisbon?",
        tools,
        tool_choice: named ? { type: "function", name: "bash" } : "required",
        parallel_tool_calls: i % 4 < 2,
        max_output_tokens: 160,
        temperature: 1,
        seed: i,
      });
      assert.equal(status, 200, JSON.stringify(body));
      const response: ResponsesResponse = ResponsesResponseSchema.parse(body);
      const calls = response.output.filter((item) => item.type === "function_call") as {
        name: string;
        arguments: string;
      }[];
      assert.ok(calls.length >= 1, JSON.stringify(response.output));
      if (i % 4 < 2) assert.equal(calls.length, 1);
      for (const call of calls) {
        assert.ok((named ? ["bash"] : NAMES).includes(call.name), call.name);
        assert.equal(typeof JSON.parse(call.arguments), "object");
      }
    }
    const { status, body } = await postForJson<{ error: { param: string } }>(`${neuron.url}/v1/responses`, {
      model: "tiny",
      input: "hi",
      tools,
      tool_choice: { type: "function", name: "nope" },
    });
    assert.equal(status, 400);
    assert.equal(body.error.param, "tool_choice");
  },
});

Deno.test({
  ...opts,
  name: "health: the per-model counters of calls to tools not offered are reported",
  fn: async () => {
    const health = await modelHealth(neuron.url, "tiny");
    assert.equal(typeof health?.tool_calls_unoffered, "number");
    assert.equal(typeof health?.tool_calls_repaired, "number");
  },
});
