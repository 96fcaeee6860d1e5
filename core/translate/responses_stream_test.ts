import assert from "node:assert/strict";
import { CortexError } from "../errors/cortex_error.ts";
import type { ChatCompletionChunk } from "../openai/chat_chunk.ts";
import type { ResponsesOutputFunctionCall, ResponsesStreamEvent } from "../responses/mod.ts";
import { ResponsesStreamEventSchema } from "../responses/stream_events.ts";
import { ChatCompletionAccumulator } from "./chat_accumulator.ts";
import { chatToResponsesResponse } from "./responses_response.ts";
import { chatChunksToResponsesEvents, ChatToResponsesStream } from "./responses_stream.ts";
import { checkResponsesStream, reassembleResponsesStream } from "./responses_stream_check.ts";
import { randomChunking, randomScenario, Rng } from "./_test_gen.ts";

const CASES = 3000;
const TERMINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);

function accumulate(chunks: ChatCompletionChunk[]) {
  const acc = new ChatCompletionAccumulator();
  for (const chunk of chunks) acc.push(chunk);
  return acc.result();
}

function calls(events: ResponsesStreamEvent[]): ResponsesOutputFunctionCall[] {
  return (reassembleResponsesStream(events)?.output ?? []).filter((i): i is ResponsesOutputFunctionCall =>
    i.type === "function_call"
  );
}

Deno.test(`property: ${CASES} canonical streams, random chunkings → Responses stream equals the non-streamed translation`, () => {
  const rng = new Rng(0xc0de);
  const statuses = new Set<string>();
  for (let n = 0; n < CASES; n++) {
    const scenario = randomScenario(rng, n);
    const chunks = randomChunking(rng, scenario, true);
    const events = chatChunksToResponsesEvents(chunks, { createdAt: 42 });
    const context = `case ${n}: ${JSON.stringify(scenario)}`;
    // Every item added is done; sequence numbers strictly increase; exactly one terminal event, last.
    assert.deepEqual(checkResponsesStream(events), [], context);
    events.forEach((e, i) => assert.equal(e.sequence_number, i, context));
    assert.equal(events.filter((e) => TERMINAL.has(e.type)).length, 1, context);
    assert.ok(TERMINAL.has(events[events.length - 1].type), context);
    // Reassembles to the non-streamed translation.
    const expected = chatToResponsesResponse(accumulate(chunks), { createdAt: 42 });
    assert.deepEqual(reassembleResponsesStream(events), expected, context);
    statuses.add(expected.status);
    // Function-call arguments are the original arguments, byte for byte.
    assert.deepEqual(
      calls(events).map((c) => [c.call_id, c.name, c.arguments]),
      scenario.tools.map((t) => [t.id, t.name, t.args]),
      context,
    );
    for (const event of events) {
      const parsed = ResponsesStreamEventSchema.safeParse(event);
      assert.ok(parsed.success, `${context}: ${JSON.stringify(event)}`);
    }
  }
  assert.deepEqual([...statuses].sort(), ["completed", "incomplete"]);
});

Deno.test(`property: ${CASES} interleaved parallel tool calls keep every argument and the event order`, () => {
  const rng = new Rng(0xf00d);
  for (let n = 0; n < CASES; n++) {
    const scenario = randomScenario(rng, n);
    const chunks = randomChunking(rng, scenario, false);
    const events = chatChunksToResponsesEvents(chunks);
    const context = `case ${n}: ${JSON.stringify(scenario)}`;
    assert.deepEqual(checkResponsesStream(events), [], context);
    const byId = new Map(calls(events).map((c) => [c.call_id, c.arguments]));
    assert.equal(byId.size, scenario.tools.length, context);
    for (const tool of scenario.tools) assert.equal(byId.get(tool.id), tool.args, context);
    const expected = chatToResponsesResponse(accumulate(chunks));
    const message = reassembleResponsesStream(events)!.output.find((i) => i.type === "message");
    assert.deepEqual(message, expected.output.find((i) => i.type === "message"), context);
  }
});

Deno.test("property: a failed or truncated upstream ends with response.failed, never response.completed", () => {
  const rng = new Rng(11);
  for (let n = 0; n < 1000; n++) {
    const chunks = randomChunking(rng, randomScenario(rng, n), rng.bool());
    const cut = chunks.slice(0, rng.int(0, chunks.length - 2)).filter((c) =>
      !c.choices.some((choice) => choice.finish_reason)
    );
    const failure = rng.bool()
      ? [{
        type: "error" as const,
        error: new CortexError("neuron went away", { code: "upstream_error", status: 502 }),
      }]
      : [];
    const events = chatChunksToResponsesEvents([...cut, ...failure]);
    assert.deepEqual(checkResponsesStream(events), [], `case ${n}`);
    const last = events[events.length - 1];
    assert.equal(last.type, "response.failed");
    assert.ok(!events.some((e) => e.type === "response.completed"));
    assert.ok(last.type === "response.failed" && last.response.error?.code === "upstream_error");
  }
});

Deno.test("the TransformStream emits exactly what the synchronous translator does", async () => {
  const rng = new Rng(5);
  for (let n = 0; n < 150; n++) {
    const chunks = randomChunking(rng, randomScenario(rng, n), rng.bool());
    const streamed: ResponsesStreamEvent[] = [];
    for await (const event of ReadableStream.from(chunks).pipeThrough(new ChatToResponsesStream())) {
      streamed.push(event);
    }
    assert.deepEqual(streamed, chatChunksToResponsesEvents(chunks));
  }
});

Deno.test("reasoning, text and a tool call follow the reference event order", () => {
  const base = { id: "chatcmpl-abc", object: "chat.completion.chunk" as const, created: 7, model: "m" };
  const events = chatChunksToResponsesEvents([
    { ...base, choices: [{ index: 0, delta: { role: "assistant" }, finish_reason: null }] },
    { ...base, choices: [{ index: 0, delta: { reasoning_content: "think" }, finish_reason: null }] },
    { ...base, choices: [{ index: 0, delta: { content: "ok" }, finish_reason: null }] },
    {
      ...base,
      choices: [{
        index: 0,
        delta: {
          tool_calls: [{
            index: 0,
            id: "call_x",
            type: "function",
            function: { name: "f", arguments: "{}" },
          }],
        },
        finish_reason: "tool_calls",
      }],
    },
    { ...base, choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } },
  ]);
  assert.deepEqual(events.map((e) => e.type), [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.reasoning_summary_part.added",
    "response.reasoning_summary_text.delta",
    "response.reasoning_summary_text.done",
    "response.reasoning_summary_part.done",
    "response.output_item.done",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_item.added",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.output_item.done",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
  ]);
  const done = events[events.length - 1];
  assert.ok(done.type === "response.completed");
  assert.equal(done.response.id, "resp_abc");
  assert.deepEqual(done.response.output.map((i) => [i.type, i.id]), [
    ["reasoning", "rs_abc"],
    ["message", "msg_abc"],
    ["function_call", "fc_abc_0"],
  ]);
  assert.deepEqual(done.response.usage, {
    input_tokens: 3,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: 2,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 5,
  });
});

Deno.test("a length finish ends with response.incomplete and max_output_tokens", () => {
  const base = { id: "c", object: "chat.completion.chunk" as const, created: 1, model: "m" };
  const events = chatChunksToResponsesEvents([
    { ...base, choices: [{ index: 0, delta: { content: "trunc" }, finish_reason: "length" }] },
  ]);
  const last = events[events.length - 1];
  assert.ok(last.type === "response.incomplete");
  assert.equal(last.response.status, "incomplete");
  assert.deepEqual(last.response.incomplete_details, { reason: "max_output_tokens" });
  assert.equal(last.response.output[0].status, "incomplete");
});

Deno.test("regression: a turn of function calls alone has no message item, streamed or not", () => {
  const base = { id: "chatcmpl-fc", object: "chat.completion.chunk" as const, created: 1, model: "m" };
  const call = {
    id: "call_1",
    type: "function" as const,
    function: { name: "shell", arguments: '{"cmd":"ls"}' },
  };
  const events = chatChunksToResponsesEvents([
    // The neuron's role chunk carries an empty content string.
    { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] },
    { ...base, choices: [{ index: 0, delta: { reasoning_content: "list it" }, finish_reason: null }] },
    { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, ...call }] }, finish_reason: null }] },
    { ...base, choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] },
  ]);
  assert.deepEqual(checkResponsesStream(events), []);
  assert.ok(
    !events.some((e) =>
      e.type.startsWith("response.content_part") || e.type.startsWith("response.output_text")
    ),
  );
  const added = events.filter((e) => e.type === "response.output_item.added");
  assert.deepEqual(added.map((e) => e.type === "response.output_item.added" && e.item.type), [
    "reasoning",
    "function_call",
  ]);
  const streamed = reassembleResponsesStream(events)!;
  assert.deepEqual(streamed.output.map((i) => i.type), ["reasoning", "function_call"]);
  const whole = chatToResponsesResponse({
    id: "chatcmpl-fc",
    object: "chat.completion",
    created: 1,
    model: "m",
    choices: [{
      index: 0,
      finish_reason: "tool_calls",
      message: { role: "assistant", content: "", reasoning_content: "list it", tool_calls: [call] },
    }],
  });
  assert.deepEqual(whole, streamed);
  // With neither text nor a call, the (empty) message item is still there.
  const empty = chatChunksToResponsesEvents([
    { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: "stop" }] },
  ]);
  assert.deepEqual(reassembleResponsesStream(empty)!.output.map((i) => i.type), ["message"]);
});
