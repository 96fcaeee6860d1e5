import assert from "node:assert/strict";
import { CortexError } from "../errors/cortex_error.ts";
import type { ChatCompletionChunk } from "../openai/chat_chunk.ts";
import { type ResponsesRequest, ResponsesRequestSchema } from "../responses/request.ts";
import { ResponsesResponseSchema } from "../responses/response.ts";
import { ResponsesStreamEventSchema } from "../responses/stream_events.ts";
import { responsesToChatRequest } from "./responses_request.ts";
import { chatToResponsesResponse } from "./responses_response.ts";
import { chatChunksToResponsesEvents } from "./responses_stream.ts";
import { checkResponsesStream, reassembleResponsesStream } from "./responses_stream_check.ts";
import { qualifiedToolName, ResponsesToolNames, responsesToolsToChat } from "./responses_tools.ts";

// The shape Codex sends an MCP server's tools in.
const CODEX_REQUEST = {
  model: "m",
  input: "look up order 7",
  tools: [
    { type: "function", name: "shell", parameters: { type: "object" }, strict: false },
    {
      type: "namespace",
      name: "mcp__orders",
      description: "Tools from the orders server.",
      tools: [
        {
          type: "function",
          name: "lookup",
          description: "Look up an order",
          strict: false,
          parameters: { type: "object", properties: { id: { type: "number" } } },
        },
        { type: "function", name: "cancel", strict: false, parameters: { type: "object" } },
      ],
    },
    { type: "web_search", external_web_access: false },
  ],
} as const;

function request(): ResponsesRequest {
  return ResponsesRequestSchema.parse(CODEX_REQUEST);
}

function refused(tools: unknown[], param: string, pattern: RegExp): void {
  assert.throws(
    () => responsesToChatRequest(ResponsesRequestSchema.parse({ model: "m", input: "x", tools })),
    (error: unknown) =>
      error instanceof CortexError && error.status === 400 && error.param === param &&
      pattern.test(error.message),
    JSON.stringify(tools),
  );
}

Deno.test("namespace tools reach the model as functions named <namespace>__<function>", () => {
  const chat = responsesToChatRequest(request());
  assert.deepEqual(chat.tools, [
    { type: "function", function: { name: "shell", parameters: { type: "object" }, strict: false } },
    {
      type: "function",
      function: {
        name: "mcp__orders__lookup",
        description: "Look up an order",
        parameters: { type: "object", properties: { id: { type: "number" } } },
        strict: false,
      },
    },
    {
      type: "function",
      function: { name: "mcp__orders__cancel", parameters: { type: "object" }, strict: false },
    },
  ]);
  assert.equal(qualifiedToolName("mcp__orders", "lookup"), "mcp__orders__lookup");
  // A namespace that already ends in the delimiter (older Codex) gets no second one.
  assert.equal(qualifiedToolName("mcp__orders__", "lookup"), "mcp__orders__lookup");
});

Deno.test("a namespace function named in tool_choice (plain or allowed_tools) is chosen by its qualified name", () => {
  const named = responsesToChatRequest({
    ...request(),
    tool_choice: { type: "function", name: "lookup", namespace: "mcp__orders" },
  });
  assert.deepEqual(named.tool_choice, { type: "function", function: { name: "mcp__orders__lookup" } });
  const allowed = responsesToChatRequest({
    ...request(),
    tool_choice: {
      type: "allowed_tools",
      mode: "required",
      tools: [{ type: "function", name: "cancel", namespace: "mcp__orders" }],
    },
  });
  assert.deepEqual(allowed.tools?.map((t) => t.function.name), ["mcp__orders__cancel"]);
});

Deno.test("an echoed namespace function_call is the qualified call in the chat history", () => {
  const chat = responsesToChatRequest(ResponsesRequestSchema.parse({
    ...CODEX_REQUEST,
    input: [
      { role: "user", content: "look up order 7" },
      {
        type: "function_call",
        call_id: "c1",
        name: "lookup",
        namespace: "mcp__orders",
        arguments: '{"id":7}',
      },
      { type: "function_call_output", call_id: "c1", output: "shipped" },
    ],
  }));
  assert.deepEqual(chat.messages.slice(1), [
    {
      role: "assistant",
      content: null,
      tool_calls: [{
        id: "c1",
        type: "function",
        function: { name: "mcp__orders__lookup", arguments: '{"id":7}' },
      }],
    },
    { role: "tool", tool_call_id: "c1", content: "shipped" },
  ]);
});

Deno.test("a call to a namespace function comes back with its name and namespace (non-streamed and streamed)", () => {
  const base = { id: "chatcmpl-ns", created: 1, model: "m" };
  const calls = [
    {
      id: "call_a",
      type: "function" as const,
      function: { name: "mcp__orders__lookup", arguments: '{"id":7}' },
    },
    { id: "call_b", type: "function" as const, function: { name: "shell", arguments: "{}" } },
  ];
  const whole = chatToResponsesResponse({
    ...base,
    object: "chat.completion",
    choices: [{
      index: 0,
      finish_reason: "tool_calls",
      message: { role: "assistant", content: null, tool_calls: calls },
    }],
  }, { request: request() });
  assert.ok(ResponsesResponseSchema.safeParse(whole).success);
  const expected = [
    {
      type: "function_call",
      id: "fc_ns_0",
      call_id: "call_a",
      name: "lookup",
      namespace: "mcp__orders",
      arguments: '{"id":7}',
      status: "completed",
    },
    {
      type: "function_call",
      id: "fc_ns_1",
      call_id: "call_b",
      name: "shell",
      arguments: "{}",
      status: "completed",
    },
  ];
  assert.deepEqual(whole.output, expected);

  const chunk = (
    delta: ChatCompletionChunk["choices"][number]["delta"],
    finish: "tool_calls" | null = null,
  ) => ({
    ...base,
    object: "chat.completion.chunk" as const,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  const events = chatChunksToResponsesEvents([
    chunk({ role: "assistant", content: "" }),
    chunk({ tool_calls: calls.map((c, index) => ({ index, ...c })) }),
    chunk({}, "tool_calls"),
  ], { request: request() });
  assert.deepEqual(checkResponsesStream(events), []);
  for (const event of events) assert.ok(ResponsesStreamEventSchema.safeParse(event).success, event.type);
  assert.deepEqual(reassembleResponsesStream(events)?.output, expected);
  const done = events.filter((e) => e.type === "response.function_call_arguments.done");
  assert.deepEqual(done.map((e) => e.type === "response.function_call_arguments.done" && e.name), [
    "lookup",
    "shell",
  ]);
  // A name the request did not offer in a namespace stays as the model said it.
  assert.deepEqual(new ResponsesToolNames(request().tools).split("mcp__other__x"), { name: "mcp__other__x" });
});

Deno.test("tool kinds cortex neither translates nor knows to drop are a 400 naming the field, never dropped", () => {
  refused([{ type: "custom", name: "apply_patch" }], "tools[0].type", /tool type "custom" is not supported/);
  refused(
    [{ type: "function", name: "f" }, { type: "local_shell" }],
    "tools[1].type",
    /tool type "local_shell" is not supported/,
  );
  refused(
    [{ type: "namespace", name: "mcp__x", tools: [{ type: "custom", name: "y" }] }],
    "tools[0].tools[0].type",
    /a namespace holds function tools only/,
  );
  refused(
    [{ type: "function", name: "mcp__x__y" }, {
      type: "namespace",
      name: "mcp__x",
      tools: [{ type: "function", name: "y" }],
    }],
    "tools[1].tools[0].name",
    /tool name 'mcp__x__y' is used twice \(tools\[0\]\.name and tools\[1\]\.tools\[0\]\.name\)/,
  );
  refused(
    [{ type: "namespace", name: "mcp__" + "s".repeat(60), tools: [{ type: "function", name: "y" }] }],
    "tools[0].tools[0].name",
    /must be 1-64 characters/,
  );
  // The hosted tools OpenAI runs (web search by default in Codex) are left out on purpose.
  assert.deepEqual(
    responsesToolsToChat([{ type: "web_search" }, { type: "file_search" }, { type: "image_generation" }]),
    [],
  );
});
