import assert from "node:assert/strict";
import { parseWithSchema } from "../errors/zod_issues.ts";
import { CountTokensRequestSchema, MessagesRequestSchema } from "./request.ts";
import { AnthropicMessageSchema } from "./response.ts";
import { AnthropicStreamEventSchema } from "./stream_events.ts";

const valid = {
  model: "claude-sonnet",
  max_tokens: 1024,
  system: [{ type: "text", text: "You are Claude Code.", cache_control: { type: "ephemeral" } }],
  messages: [
    {
      role: "user",
      content: [
        { type: "text", text: "look" },
        { type: "image", source: { type: "base64", media_type: "image/png", data: "AA" } },
        { type: "image", source: { type: "url", url: "https://x/y.png" } },
      ],
    },
    {
      role: "assistant",
      content: [
        { type: "thinking", thinking: "hmm", signature: "sig" },
        { type: "redacted_thinking", data: "xx" },
        { type: "tool_use", id: "toolu_1", name: "Read", input: { file_path: "/a" } },
      ],
    },
    {
      role: "user",
      content: [
        {
          type: "tool_result",
          tool_use_id: "toolu_1",
          content: [{ type: "text", text: "data" }],
          is_error: false,
        },
        { type: "tool_result", tool_use_id: "toolu_2", content: "plain" },
        { type: "document", source: { type: "text", media_type: "text/plain", data: "doc" } },
      ],
    },
  ],
  tools: [
    { name: "Read", description: "read", input_schema: { type: "object" } },
    { type: "web_search_20250305", name: "web_search", max_uses: 3 },
  ],
  tool_choice: { type: "auto", disable_parallel_tool_use: true },
  stop_sequences: ["\n\nHuman:"],
  temperature: 1,
  top_p: 0.9,
  top_k: 40,
  thinking: { type: "enabled", budget_tokens: 2048 },
  stream: true,
  metadata: { user_id: "u" },
  context_management: { edits: [] },
};

Deno.test("a Claude Code-like Messages request parses with every block kind and extras", () => {
  const parsed = MessagesRequestSchema.parse(valid);
  assert.equal(parsed.messages.length, 3);
  assert.deepEqual(parsed.context_management, { edits: [] });
  assert.ok(CountTokensRequestSchema.safeParse({ model: "m", messages: valid.messages }).success);
});

Deno.test("bad Messages requests name the path", () => {
  const cases: [unknown, string][] = [
    [{ ...valid, max_tokens: undefined }, "max_tokens: expected number, got nothing"],
    [{ ...valid, max_tokens: 0 }, "max_tokens: expected a number >= 1, got 0"],
    [
      { ...valid, messages: [{ role: "user", content: [{ type: "text", text: 1 }] }] },
      "messages[0].content[0].text: expected string, got 1",
    ],
    [
      { ...valid, messages: [{ role: "user", content: [{ type: "tool_use", id: "x", name: 3 }] }] },
      "messages[0].content[0].name: expected string, got 3",
    ],
    [
      { ...valid, tool_choice: { type: "sometimes" } },
      'tool_choice.type: expected "auto" | "any" | "tool" | "none", got "sometimes"',
    ],
  ];
  for (const [body, message] of cases) {
    const result = parseWithSchema(MessagesRequestSchema, body);
    assert.ok(!result.ok, message);
    assert.equal(result.error.message, message);
  }
});

Deno.test("responses and every stream event type validate", () => {
  assert.ok(
    AnthropicMessageSchema.safeParse({
      id: "msg_1",
      type: "message",
      role: "assistant",
      content: [{ type: "text", text: "hi" }],
      model: "m",
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { input_tokens: 1, output_tokens: 1 },
    }).success,
  );
  const events = [
    { type: "ping" },
    {
      type: "content_block_start",
      index: 0,
      content_block: { type: "thinking", thinking: "", signature: "" },
    },
    { type: "content_block_delta", index: 0, delta: { type: "signature_delta", signature: "s" } },
    { type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: '{"a"' } },
    { type: "content_block_stop", index: 1 },
    {
      type: "message_delta",
      delta: { stop_reason: "tool_use", stop_sequence: null },
      usage: { output_tokens: 3 },
    },
    { type: "message_stop" },
    { type: "error", error: { type: "overloaded_error", message: "busy" } },
  ];
  for (const event of events) assert.ok(AnthropicStreamEventSchema.safeParse(event).success, event.type);
  assert.ok(
    !AnthropicStreamEventSchema.safeParse({ type: "content_block_delta", index: 0, delta: { type: "x" } })
      .success,
  );
});
