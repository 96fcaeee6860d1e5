import assert from "node:assert/strict";
import type { AnthropicStreamEvent, AnthropicToolUseBlock } from "../anthropic/mod.ts";
import { AnthropicStreamEventSchema } from "../anthropic/stream_events.ts";
import { CortexError } from "../errors/cortex_error.ts";
import type { ChatCompletionChunk } from "../openai/chat_chunk.ts";
import { ChatCompletionAccumulator } from "./chat_accumulator.ts";
import { anthropicToolUseId, chatToAnthropicResponse } from "./anthropic_response.ts";
import { chatChunksToAnthropicEvents, ChatToAnthropicStream } from "./anthropic_stream.ts";
import { checkAnthropicStream, reassembleAnthropicStream } from "./anthropic_stream_check.ts";
import { randomChunking, randomScenario, Rng } from "./_test_gen.ts";

const CASES = 3000;

function accumulate(chunks: ChatCompletionChunk[]) {
  const acc = new ChatCompletionAccumulator();
  for (const chunk of chunks) acc.push(chunk);
  return acc.result();
}

function toolBlocks(events: AnthropicStreamEvent[]): AnthropicToolUseBlock[] {
  return (reassembleAnthropicStream(events)?.content ?? []).filter((b): b is AnthropicToolUseBlock =>
    b.type === "tool_use"
  );
}

Deno.test(`property: ${CASES} canonical streams, random chunkings → Anthropic stream equals the non-streamed translation`, () => {
  const rng = new Rng(0xa11ce);
  let withTools = 0;
  let withThinking = 0;
  for (let n = 0; n < CASES; n++) {
    const scenario = randomScenario(rng, n);
    const chunks = randomChunking(rng, scenario, true);
    const events = chatChunksToAnthropicEvents(chunks);
    const context = `case ${n}: ${JSON.stringify(scenario)}`;
    // (d) + (e): structure, no empty deltas, stop reason vs tool_use.
    assert.deepEqual(checkAnthropicStream(events), [], context);
    // (a): reassembles to the same message as translating the non-streamed response.
    const expected = chatToAnthropicResponse(accumulate(chunks));
    assert.deepEqual(reassembleAnthropicStream(events), expected, context);
    // (b): tool_use input equals the JSON of the original arguments.
    const tools = toolBlocks(events);
    assert.equal(tools.length, scenario.tools.length, context);
    tools.forEach((block, i) => {
      const source = scenario.tools[i];
      assert.equal(block.id, anthropicToolUseId(source.id), context);
      assert.equal(block.name, source.name, context);
      assert.deepEqual(block.input, source.args === "" ? {} : JSON.parse(source.args), context);
    });
    // (c): stop_reason tool_use exactly when a tool_use block exists.
    const delta = events.find((e) => e.type === "message_delta");
    assert.ok(delta && delta.type === "message_delta", context);
    assert.equal(delta.delta.stop_reason === "tool_use", tools.length > 0, context);
    if (tools.length === 0 && scenario.matchedStop) {
      assert.equal(delta.delta.stop_reason, "stop_sequence", context);
      assert.equal(delta.delta.stop_sequence, scenario.matchedStop, context);
    }
    // Every event is a valid Anthropic event.
    for (const event of events) assert.ok(AnthropicStreamEventSchema.safeParse(event).success, context);
    if (tools.length > 0) withTools++;
    if (scenario.reasoning) withThinking++;
  }
  assert.ok(withTools > CASES / 4 && withThinking > CASES / 4, "the generator covers tools and thinking");
});

Deno.test(`property: ${CASES} interleaved parallel tool calls keep every argument and every block well formed`, () => {
  const rng = new Rng(0xbeef);
  for (let n = 0; n < CASES; n++) {
    const scenario = randomScenario(rng, n);
    const chunks = randomChunking(rng, scenario, false);
    const events = chatChunksToAnthropicEvents(chunks);
    const context = `case ${n}: ${JSON.stringify(scenario)}`;
    assert.deepEqual(checkAnthropicStream(events), [], context);
    const byId = new Map(toolBlocks(events).map((b) => [b.id, b]));
    assert.equal(byId.size, scenario.tools.length, context);
    for (const tool of scenario.tools) {
      const input = byId.get(anthropicToolUseId(tool.id))?.input;
      assert.deepEqual(input, tool.args === "" ? {} : JSON.parse(tool.args), context);
    }
    const message = reassembleAnthropicStream(events)!;
    assert.equal(message.stop_reason === "tool_use", scenario.tools.length > 0, context);
    const text = message.content.filter((b) => b.type === "text").map((b) => (b as { text: string }).text)
      .join("");
    assert.equal(
      text,
      chatToAnthropicResponse(accumulate(chunks)).content
        .filter((b) => b.type === "text").map((b) => (b as { text: string }).text).join(""),
      context,
    );
  }
});

Deno.test("property: a stream cut short ends with one error event and every opened block closed", () => {
  const rng = new Rng(7);
  for (let n = 0; n < 1000; n++) {
    const scenario = randomScenario(rng, n);
    const chunks = randomChunking(rng, scenario, rng.bool());
    const cut = chunks.slice(0, rng.int(0, chunks.length - 2)).filter((c) =>
      !c.choices.some((choice) => choice.finish_reason)
    );
    const failure = rng.bool()
      ? [{
        type: "error" as const,
        error: new CortexError("neuron went away", { code: "upstream_error", status: 502 }),
      }]
      : [];
    const events = chatChunksToAnthropicEvents([...cut, ...failure]);
    assert.deepEqual(checkAnthropicStream(events), [], `case ${n}`);
    const last = events[events.length - 1];
    assert.equal(last.type, "error");
    assert.equal(events.filter((e) => e.type === "error").length, 1);
    assert.ok(!events.some((e) => e.type === "message_stop"), "no message_stop after a failure");
  }
});

Deno.test("the TransformStream emits exactly what the synchronous translator does", async () => {
  const rng = new Rng(99);
  for (let n = 0; n < 150; n++) {
    const chunks = randomChunking(rng, randomScenario(rng, n), rng.bool());
    const streamed: AnthropicStreamEvent[] = [];
    const readable = ReadableStream.from(chunks).pipeThrough(new ChatToAnthropicStream({ model: "alias" }));
    for await (const event of readable) streamed.push(event);
    assert.deepEqual(streamed, chatChunksToAnthropicEvents(chunks, { model: "alias" }));
    assert.equal(streamed[0].type === "message_start" && streamed[0].message.model, "alias");
  }
});

Deno.test("canonical text-then-tool sequence matches the original's event order", () => {
  const base = { id: "c9", object: "chat.completion.chunk" as const, created: 1, model: "m" };
  const events = chatChunksToAnthropicEvents([
    { ...base, choices: [{ index: 0, delta: { role: "assistant" }, finish_reason: null }] },
    { ...base, choices: [{ index: 0, delta: { content: "Let me look." }, finish_reason: null }] },
    {
      ...base,
      choices: [{
        index: 0,
        delta: {
          tool_calls: [{
            index: 0,
            id: "call_1",
            type: "function",
            function: { name: "ls", arguments: '{"p":"."}' },
          }],
        },
        finish_reason: null,
      }],
    },
    { ...base, choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] },
    {
      ...base,
      choices: [],
      usage: {
        prompt_tokens: 10,
        completion_tokens: 5,
        total_tokens: 15,
        prompt_tokens_details: { cached_tokens: 4 },
      },
    },
  ], { ping: false });
  assert.deepEqual(events.map((e) => e.type), [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
  ]);
  const start = events[0];
  assert.ok(start.type === "message_start");
  assert.equal(start.message.id, "msg_c9");
  const delta = events[7];
  assert.ok(delta.type === "message_delta");
  assert.deepEqual(delta.delta, { stop_reason: "tool_use", stop_sequence: null });
  assert.deepEqual(delta.usage, {
    output_tokens: 5,
    input_tokens: 6,
    cache_read_input_tokens: 4,
    cache_creation_input_tokens: 0,
  });
});

Deno.test("a parameterless tool call emits no input_json_delta and reassembles to {}", () => {
  const base = { id: "c1", object: "chat.completion.chunk" as const, created: 1, model: "m" };
  const events = chatChunksToAnthropicEvents([
    {
      ...base,
      choices: [{
        index: 0,
        delta: {
          tool_calls: [{ index: 0, id: "t", type: "function", function: { name: "now", arguments: "" } }],
        },
        finish_reason: "tool_calls",
      }],
    },
  ]);
  assert.ok(!events.some((e) => e.type === "content_block_delta"));
  assert.deepEqual(reassembleAnthropicStream(events)?.content, [{
    type: "tool_use",
    id: "toolu_t",
    name: "now",
    input: {},
  }]);
});

Deno.test("reasoning_content becomes a thinking block before the text", () => {
  const base = { id: "c2", object: "chat.completion.chunk" as const, created: 1, model: "m" };
  const events = chatChunksToAnthropicEvents([
    { ...base, choices: [{ index: 0, delta: { reasoning_content: "hmm" }, finish_reason: null }] },
    { ...base, choices: [{ index: 0, delta: { content: "4" }, finish_reason: "stop" }] },
  ]);
  assert.deepEqual(reassembleAnthropicStream(events)?.content, [
    { type: "thinking", thinking: "hmm", signature: "" },
    { type: "text", text: "4" },
  ]);
});

Deno.test("an empty upstream stream yields an Anthropic error event, not an empty 200", () => {
  const events = chatChunksToAnthropicEvents([]);
  assert.equal(events.length, 1);
  assert.equal(events[0].type, "error");
});

Deno.test("regression: tool_use ids are toolu_…, streamed and not, the same for both", () => {
  assert.equal(anthropicToolUseId("call_9f2c_0"), "toolu_9f2c_0");
  assert.equal(anthropicToolUseId("toolu_01A"), "toolu_01A");
  assert.equal(anthropicToolUseId("chatcmpl-1:x"), "toolu_chatcmpl-1x");
  const base = { id: "c5", object: "chat.completion.chunk" as const, created: 1, model: "m" };
  const call = { id: "call_abc_0", type: "function" as const, function: { name: "ls", arguments: "{}" } };
  const chunks = [
    { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, ...call }] }, finish_reason: null }] },
    // A call the upstream sent without an id gets a stable one, also toolu_.
    {
      ...base,
      choices: [{
        index: 0,
        delta: {
          tool_calls: [{ index: 1, type: "function" as const, function: { name: "pwd", arguments: "{}" } }],
        },
        finish_reason: "tool_calls" as const,
      }],
    },
  ];
  const streamed = reassembleAnthropicStream(chatChunksToAnthropicEvents(chunks))!;
  const ids = streamed.content.map((b) => (b as { id: string }).id);
  assert.equal(ids[0], "toolu_abc_0");
  assert.match(ids[1], /^toolu_[A-Za-z0-9_-]+$/);
  assert.deepEqual(streamed, chatToAnthropicResponse(accumulate(chunks)));
});

Deno.test("regression: message_start reports the prompt tokens the first chunk carries (was always 0)", () => {
  const base = { id: "c6", object: "chat.completion.chunk" as const, created: 1, model: "m" };
  const events = chatChunksToAnthropicEvents([
    {
      ...base,
      choices: [{ index: 0, delta: { role: "assistant" as const, content: "" }, finish_reason: null }],
      usage: { prompt_tokens: 1234, completion_tokens: 0, total_tokens: 1234 },
    },
    { ...base, choices: [{ index: 0, delta: { content: "hi" }, finish_reason: "stop" as const }] },
    {
      ...base,
      choices: [],
      usage: {
        prompt_tokens: 1234,
        completion_tokens: 1,
        total_tokens: 1235,
        prompt_tokens_details: { cached_tokens: 1000 },
      },
    },
  ]);
  const start = events[0];
  assert.ok(start.type === "message_start");
  assert.deepEqual(start.message.usage, { input_tokens: 1234, output_tokens: 0 });
  const delta = events.find((e) => e.type === "message_delta");
  assert.ok(delta?.type === "message_delta");
  // The final figures, with the cache reads known only at the end, still come in message_delta.
  assert.deepEqual(delta.usage, {
    output_tokens: 1,
    input_tokens: 234,
    cache_read_input_tokens: 1000,
    cache_creation_input_tokens: 0,
  });
});
