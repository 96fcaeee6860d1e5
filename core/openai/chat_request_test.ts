import assert from "node:assert/strict";
import { parseWithSchema } from "../errors/zod_issues.ts";
import { ChatCompletionChunkSchema } from "./chat_chunk.ts";
import { ChatCompletionRequestSchema, requestedMaxTokens, stopSequences } from "./chat_request.ts";
import { ChatCompletionSchema } from "./chat_response.ts";

const valid = {
  model: "Qwen/Qwen3-0.6B",
  messages: [
    { role: "system", content: "sys" },
    {
      role: "user",
      content: [
        { type: "text", text: "what is this" },
        { type: "image_url", image_url: { url: "data:image/png;base64,AA", detail: "low" } },
      ],
    },
    {
      role: "assistant",
      content: null,
      reasoning_content: "thinking",
      tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }],
    },
    { role: "tool", tool_call_id: "c1", content: "result" },
  ],
  tools: [{ type: "function", function: { name: "f", description: "d", parameters: { type: "object" } } }],
  tool_choice: { type: "function", function: { name: "f" } },
  response_format: {
    type: "json_schema",
    json_schema: { name: "x", schema: { type: "object" }, strict: true },
  },
  stream: true,
  stream_options: { include_usage: true },
  max_tokens: 10,
  max_completion_tokens: 20,
  stop: "END",
  temperature: 0.7,
  top_p: 0.9,
  top_k: 20,
  min_p: 0.05,
  seed: 42,
  presence_penalty: 0.1,
  frequency_penalty: 0.2,
  repetition_penalty: 1.1,
  reasoning_effort: "low",
  parallel_tool_calls: false,
  user: "u",
  metadata: { k: "v" },
  some_future_field: { x: 1 },
};

Deno.test("a full chat request parses, keeping unknown fields", () => {
  const parsed = ChatCompletionRequestSchema.parse(valid);
  assert.equal(parsed.messages.length, 4);
  assert.deepEqual(parsed.some_future_field, { x: 1 });
  assert.equal(requestedMaxTokens(parsed), 20);
  assert.deepEqual(stopSequences(parsed), ["END"]);
});

Deno.test("object tool-call arguments from lenient clients are serialised to a JSON string", () => {
  const parsed = ChatCompletionRequestSchema.parse({
    model: "m",
    messages: [{
      role: "assistant",
      tool_calls: [{ id: "a", function: { name: "f", arguments: { x: 1 } } }],
    }],
  });
  const message = parsed.messages[0];
  assert.ok(message.role === "assistant");
  assert.deepEqual(message.tool_calls, [{
    id: "a",
    type: "function",
    function: { name: "f", arguments: '{"x":1}' },
  }]);
});

Deno.test("bad requests name the JSON path", () => {
  const cases: [unknown, string][] = [
    [{ ...valid, model: 5 }, "model: expected string, got 5"],
    [{ ...valid, messages: "hi" }, 'messages: expected array, got "hi"'],
    [
      { model: "m", messages: [{ role: "user", content: 5 }] },
      "messages[0].content: expected string | array, got 5",
    ],
    [
      { model: "m", messages: [{ role: "user", content: [{ type: "text", text: 3 }] }] },
      "messages[0].content[0].text: expected string, got 3",
    ],
    [
      { model: "m", messages: [{ role: "wizard", content: "x" }] },
      'messages[0].role: expected "system" | "developer" | "user" | "assistant" | "tool", got "wizard"',
    ],
    [
      { model: "m", messages: [{ role: "tool", content: "x" }] },
      "messages[0].tool_call_id: expected string, got nothing",
    ],
    [{ ...valid, temperature: "hot" }, 'temperature: expected number, got "hot"'],
    [{ ...valid, max_tokens: -1 }, "max_tokens: expected a number >= 0, got -1"],
    [{ ...valid, stream: "yes" }, 'stream: expected boolean, got "yes"'],
  ];
  for (const [body, message] of cases) {
    const result = parseWithSchema(ChatCompletionRequestSchema, body);
    assert.ok(!result.ok, message);
    assert.equal(result.error.message, message);
  }
});

Deno.test("nulls for optional fields are tolerated; unknown content parts pass", () => {
  const parsed = ChatCompletionRequestSchema.parse({
    model: "m",
    messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: "x" } }] }],
    temperature: null,
    tools: null,
    stop: null,
  });
  assert.equal(parsed.temperature, null);
});

Deno.test("responses and chunks parse, including usage details and extension fields", () => {
  const completion = ChatCompletionSchema.parse({
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1,
    model: "m",
    choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }],
    usage: {
      prompt_tokens: 5,
      completion_tokens: 1,
      total_tokens: 6,
      prompt_tokens_details: { cached_tokens: 4 },
      cortex_timing: { prefill_ms: 3 },
    },
  });
  assert.equal(completion.usage?.prompt_tokens_details?.cached_tokens, 4);
  assert.deepEqual(completion.usage?.cortex_timing, { prefill_ms: 3 });
  const chunk = ChatCompletionChunkSchema.parse({
    id: "c",
    created: 1,
    model: "m",
    choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"a' } }] } }],
  });
  assert.equal(chunk.object, "chat.completion.chunk");
  assert.equal(chunk.choices[0].finish_reason, null);
  assert.ok(
    !ChatCompletionChunkSchema.safeParse({ ...chunk, choices: [{ index: 0, finish_reason: "bored" }] })
      .success,
  );
});
