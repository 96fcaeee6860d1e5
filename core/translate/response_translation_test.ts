import assert from "node:assert/strict";
import { AnthropicMessageSchema } from "../anthropic/response.ts";
import type { ChatCompletion } from "../openai/chat_response.ts";
import { ResponsesResponseSchema } from "../responses/response.ts";
import { chatToAnthropicResponse } from "./anthropic_response.ts";
import { chatToResponsesResponse } from "./responses_response.ts";

const completion: ChatCompletion = {
  id: "chatcmpl-7",
  object: "chat.completion",
  created: 100,
  model: "qwen",
  choices: [{
    index: 0,
    finish_reason: "tool_calls",
    message: {
      role: "assistant",
      content: "Let me check.",
      reasoning_content: "The user wants files.",
      tool_calls: [{ id: "call_a", type: "function", function: { name: "ls", arguments: '{"dir":"/tmp"}' } }],
    },
  }],
  usage: {
    prompt_tokens: 100,
    completion_tokens: 20,
    total_tokens: 120,
    prompt_tokens_details: { cached_tokens: 64 },
    completion_tokens_details: { reasoning_tokens: 5 },
  },
};

Deno.test("chat → Anthropic keeps thinking, text and tool calls (the original dropped tool calls)", () => {
  const message = chatToAnthropicResponse(completion, { model: "alias" });
  assert.deepEqual(message, {
    id: "msg_chatcmpl-7",
    type: "message",
    role: "assistant",
    content: [
      { type: "thinking", thinking: "The user wants files.", signature: "" },
      { type: "text", text: "Let me check." },
      { type: "tool_use", id: "toolu_a", name: "ls", input: { dir: "/tmp" } },
    ],
    model: "alias",
    stop_reason: "tool_use",
    stop_sequence: null,
    usage: {
      input_tokens: 36,
      output_tokens: 20,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 64,
    },
  });
  assert.ok(AnthropicMessageSchema.safeParse(message).success);
});

Deno.test("chat → Anthropic stop reasons: stop, stop sequence, length, content filter", () => {
  const of = (finish: "stop" | "length" | "content_filter", extra: Record<string, unknown> = {}) =>
    chatToAnthropicResponse({
      ...completion,
      choices: [{ index: 0, finish_reason: finish, message: { role: "assistant", content: "x" }, ...extra }],
    });
  assert.equal(of("stop").stop_reason, "end_turn");
  assert.equal(of("length").stop_reason, "max_tokens");
  assert.equal(of("content_filter").stop_reason, "refusal");
  const matched = of("stop", { stop_reason: "###" });
  assert.equal(matched.stop_reason, "stop_sequence");
  assert.equal(matched.stop_sequence, "###");
});

Deno.test("chat → Responses keeps reasoning and function calls (the original kept only text)", () => {
  const response = chatToResponsesResponse(completion, {
    request: { model: "qwen", input: "x", instructions: "i" },
  });
  assert.equal(response.id, "resp_7");
  assert.equal(response.status, "completed");
  assert.deepEqual(response.output, [
    {
      type: "reasoning",
      id: "rs_7",
      summary: [{ type: "summary_text", text: "The user wants files." }],
      status: "completed",
    },
    {
      type: "message",
      id: "msg_7",
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text: "Let me check.", annotations: [] }],
    },
    {
      type: "function_call",
      id: "fc_7_0",
      call_id: "call_a",
      name: "ls",
      arguments: '{"dir":"/tmp"}',
      status: "completed",
    },
  ]);
  assert.deepEqual(response.usage, {
    input_tokens: 100,
    input_tokens_details: { cached_tokens: 64 },
    output_tokens: 20,
    output_tokens_details: { reasoning_tokens: 5 },
    total_tokens: 120,
  });
  assert.equal(response.instructions, "i");
  assert.ok(ResponsesResponseSchema.safeParse(response).success);
});

Deno.test("chat → Responses status: length is incomplete/max_output_tokens", () => {
  const response = chatToResponsesResponse({
    ...completion,
    choices: [{ index: 0, finish_reason: "length", message: { role: "assistant", content: "cut" } }],
  });
  assert.equal(response.status, "incomplete");
  assert.deepEqual(response.incomplete_details, { reason: "max_output_tokens" });
  assert.equal(response.output[0].status, "incomplete");
});
