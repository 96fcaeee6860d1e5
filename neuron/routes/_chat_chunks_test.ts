import assert from "node:assert/strict";
import { ChatCompletionChunkSchema } from "@cortex/core/openai";
import type { ResponsesStreamEvent } from "@cortex/core/responses";
import {
  ChatCompletionAccumulator,
  chatToResponsesResponse,
  checkResponsesStream,
  reassembleResponsesStream,
  ResponsesStreamTranslator,
} from "@cortex/core/translate";
import type { GenerationDelta } from "../engine/generation.ts";
import { chatChunks } from "./_chat_chunks.ts";

const finish: GenerationDelta = {
  type: "finish",
  finishReason: "tool_calls",
  promptTokens: 20,
  cachedTokens: 0,
  completionTokens: 12,
  reasoningTokens: 4,
  matchedStop: null,
  unofferedToolCalls: 0,
  repairedToolCalls: 0,
  toolCalls: [],
  prefillMs: 1,
  prefillEngineMs: 1,
  decodeMs: 2,
};
const turn: GenerationDelta[] = [
  { type: "reasoning", text: "need weather" },
  { type: "text", text: "Checking." },
  { type: "tool_call", index: 0, id: "call_a", name: "get_weather", arguments: '{"city":"Paris"}' },
  finish,
];

async function* _from(deltas: GenerationDelta[]): AsyncGenerator<GenerationDelta> {
  for (const delta of deltas) yield delta;
}

async function _chunks(inlineThinking: boolean) {
  const out = [];
  for await (
    const chunk of chatChunks(_from(turn), { id: "chatcmpl-x1", created: 5, model: "m", inlineThinking })
  ) {
    out.push(ChatCompletionChunkSchema.parse(chunk));
  }
  return out;
}

Deno.test("chat chunks: role, reasoning, text, tool call (id+name then arguments), finish, usage", async () => {
  const chunks = await _chunks(false);
  assert.deepEqual(chunks[0].choices[0].delta, { role: "assistant", content: "" });
  assert.deepEqual(chunks[3].choices[0].delta.tool_calls, [
    { index: 0, id: "call_a", type: "function", function: { name: "get_weather", arguments: "" } },
  ]);
  const accumulator = new ChatCompletionAccumulator();
  chunks.forEach((c) => accumulator.push(c));
  const completion = accumulator.result();
  assert.deepEqual(completion.choices[0].message, {
    role: "assistant",
    content: "Checking.",
    reasoning_content: "need weather",
    tool_calls: [{
      id: "call_a",
      type: "function",
      function: { name: "get_weather", arguments: '{"city":"Paris"}' },
    }],
  });
  assert.equal(completion.choices[0].finish_reason, "tool_calls");
  assert.deepEqual(completion.usage, {
    prompt_tokens: 20,
    completion_tokens: 12,
    total_tokens: 32,
    prompt_tokens_details: { cached_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 4 },
  });
});

Deno.test("chat chunks: x-include-thinking puts reasoning inline between <think> markers", async () => {
  const accumulator = new ChatCompletionAccumulator();
  (await _chunks(true)).forEach((c) => accumulator.push(c));
  const message = accumulator.result().choices[0].message;
  assert.equal(message.content, "<think>need weather</think>Checking.");
  assert.equal(message.reasoning_content, undefined);
});

Deno.test("chat chunks → Responses: reasoning item, message, function_call item; stream and whole agree", async () => {
  const chunks = await _chunks(false);
  const events: ResponsesStreamEvent[] = [];
  const translator = new ResponsesStreamTranslator({ responseId: "resp_x1" });
  for (const chunk of chunks) translator.push(chunk, (e) => events.push(e));
  translator.finish((e) => events.push(e));
  assert.deepEqual(checkResponsesStream(events), []);
  const accumulator = new ChatCompletionAccumulator();
  chunks.forEach((c) => accumulator.push(c));
  const whole = chatToResponsesResponse(accumulator.result(), { responseId: "resp_x1" });
  assert.deepEqual(whole.output.map((item) => item.type), ["reasoning", "message", "function_call"]);
  const call = whole.output[2] as { call_id: string; name: string; arguments: string };
  assert.deepEqual([call.call_id, call.name, call.arguments], ["call_a", "get_weather", '{"city":"Paris"}']);
  assert.deepEqual(reassembleResponsesStream(events)!.output, whole.output);
});

Deno.test("chat chunks: promptUsage puts the prompt count on the first chunk (only when asked)", async () => {
  const collect = async (promptUsage?: number) => {
    const out = [];
    const options = { id: "chatcmpl-x2", created: 5, model: "m", inlineThinking: false, promptUsage };
    for await (const chunk of chatChunks(_from(turn), options)) {
      out.push(ChatCompletionChunkSchema.parse(chunk));
    }
    return out;
  };
  const asked = await collect(20);
  assert.deepEqual(asked[0].usage, { prompt_tokens: 20, completion_tokens: 0, total_tokens: 20 });
  assert.deepEqual(asked[0].choices[0].delta, { role: "assistant", content: "" });
  // The final usage chunk is unchanged, so the last usage seen is the whole answer's.
  assert.equal(asked[asked.length - 1].usage?.completion_tokens, 12);
  assert.equal((await collect())[0].usage, undefined);
});
