import assert from "node:assert/strict";
import { CortexError } from "../errors/cortex_error.ts";
import { type ResponsesRequest, ResponsesRequestSchema } from "../responses/request.ts";
import { ChatCompletionRequestSchema } from "../openai/chat_request.ts";
import { chatErrorToResponses, responsesToChatRequest } from "./responses_request.ts";

Deno.test("instructions lead, string input is one user message, max_output_tokens → max_tokens", () => {
  const chat = responsesToChatRequest({
    model: "m",
    instructions: "Be brief.",
    input: "hi",
    max_output_tokens: 50,
    stream: true,
    temperature: 0.5,
  });
  assert.deepEqual(chat.messages, [{ role: "system", content: "Be brief." }, {
    role: "user",
    content: "hi",
  }]);
  assert.equal(chat.max_tokens, 50);
  assert.equal(chat.temperature, 0.5);
  assert.deepEqual(chat.stream_options, { include_usage: true });
  assert.ok(ChatCompletionRequestSchema.safeParse(chat).success);
});

Deno.test("items: reasoning, message and function calls merge into one assistant turn; outputs become tool messages", () => {
  const request = ResponsesRequestSchema.parse({
    model: "m",
    input: [
      { role: "developer", content: "rules" },
      { type: "message", role: "user", content: [{ type: "input_text", text: "weather?" }] },
      { type: "reasoning", id: "rs_1", summary: [{ type: "summary_text", text: "need tool" }] },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "Checking." }] },
      { type: "function_call", call_id: "c1", name: "weather", arguments: '{"city":"Oslo"}' },
      { type: "function_call", call_id: "c2", name: "weather", arguments: '{"city":"Rome"}' },
      { type: "function_call_output", call_id: "c1", output: "rain" },
      { type: "function_call_output", call_id: "c2", output: { temp: 20 } },
      { type: "item_reference", id: "x" },
      { role: "user", content: null },
    ],
  });
  const chat = responsesToChatRequest(request);
  assert.deepEqual(chat.messages, [
    { role: "system", content: "rules" },
    { role: "user", content: "weather?" },
    {
      role: "assistant",
      content: "Checking.",
      reasoning_content: "need tool",
      tool_calls: [
        { id: "c1", type: "function", function: { name: "weather", arguments: '{"city":"Oslo"}' } },
        { id: "c2", type: "function", function: { name: "weather", arguments: '{"city":"Rome"}' } },
      ],
    },
    { role: "tool", tool_call_id: "c1", content: "rain" },
    { role: "tool", tool_call_id: "c2", content: '{"temp":20}' },
    { role: "user", content: "" },
  ]);
});

Deno.test("images and mixed parts become chat parts", () => {
  const chat = responsesToChatRequest({
    model: "m",
    input: [{
      role: "user",
      content: [
        { type: "input_text", text: "what is it?" },
        { type: "input_image", image_url: "data:image/png;base64,AA", detail: "low" },
      ],
    }],
  });
  assert.deepEqual(chat.messages[0].content, [
    { type: "text", text: "what is it?" },
    { type: "image_url", image_url: { url: "data:image/png;base64,AA", detail: "low" } },
  ]);
});

Deno.test("tools: flat function tools are wrapped, hosted tools dropped, tool_choice mapped", () => {
  const chat = responsesToChatRequest({
    model: "m",
    input: "x",
    tools: [
      { type: "function", name: "f", description: "d", parameters: { type: "object" }, strict: true },
      { type: "web_search_preview" },
    ],
    tool_choice: { type: "function", name: "f" },
    reasoning: { effort: "high" },
    text: { format: { type: "json_schema", name: "out", schema: { type: "object" }, strict: true } },
  });
  assert.deepEqual(chat.tools, [{
    type: "function",
    function: { name: "f", description: "d", parameters: { type: "object" }, strict: true },
  }]);
  assert.deepEqual(chat.tool_choice, { type: "function", function: { name: "f" } });
  assert.equal(chat.reasoning_effort, "high");
  assert.deepEqual(chat.chat_template_kwargs, { enable_thinking: true });
  assert.deepEqual(chat.response_format, {
    type: "json_schema",
    json_schema: { name: "out", schema: { type: "object" }, strict: true },
  });
  assert.equal(
    responsesToChatRequest({ model: "m", input: "x", tool_choice: "required" }).tool_choice,
    "required",
  );
  // Forcing a hosted tool cortex does not run is refused, not dropped into "auto".
  assert.throws(
    () => responsesToChatRequest({ model: "m", input: "x", tool_choice: { type: "file_search" } }),
    (error: unknown) =>
      error instanceof CortexError && error.status === 400 && error.param === "tool_choice" &&
      /type 'file_search' is not supported/.test(error.message),
  );
});

Deno.test("tool_choice allowed_tools: the offered tools narrowed to the listed ones, mode as the choice; bad lists are 400s", () => {
  const fn = (name: string) => ({ type: "function" as const, name, parameters: { type: "object" } });
  const tools = [fn("a"), fn("b"), fn("c")];
  const allowed = (mode: string, names: string[]) => ({
    type: "allowed_tools",
    mode,
    tools: names.map((name) => ({ type: "function", name })),
  });
  const chat = responsesToChatRequest({
    model: "m",
    input: "x",
    tools,
    tool_choice: allowed("required", ["c", "a"]),
  });
  assert.deepEqual(chat.tools?.map((t) => t.function.name), ["a", "c"]);
  assert.equal(chat.tool_choice, "required");
  assert.equal(
    responsesToChatRequest({ model: "m", input: "x", tools, tool_choice: allowed("auto", ["b"]) })
      .tool_choice,
    "auto",
  );
  for (
    const [choice, pattern] of [
      [allowed("required", ["z"]), /tool_choice.tools\[0\] names 'z', which is not in tools/],
      [allowed("sometimes", ["a"]), /tool_choice.mode must be "auto" or "required"/],
      [allowed("auto", []), /must list at least one tool/],
      [
        { type: "allowed_tools", mode: "auto", tools: [{ type: "web_search" }] },
        /tools\[0\] must be a function tool/,
      ],
    ] as const
  ) {
    assert.throws(
      () => responsesToChatRequest({ model: "m", input: "x", tools, tool_choice: choice }),
      (error: unknown) =>
        error instanceof CortexError && error.status === 400 && error.param === "tool_choice" &&
        pattern.test(error.message),
      JSON.stringify(choice),
    );
  }
});

Deno.test("previous_response_id is a 400 chained_conversation_not_supported", () => {
  assert.throws(
    () => responsesToChatRequest({ model: "m", input: "x", previous_response_id: "resp_1" }),
    (error: unknown) =>
      error instanceof CortexError && error.status === 400 &&
      error.code === "chained_conversation_not_supported" &&
      error.param === "previous_response_id",
  );
});

Deno.test("tool_choice: every Responses form becomes the chat tool_choice and parallel_tool_calls the neuron enforces", () => {
  const tools = [{ type: "function" as const, name: "f", parameters: { type: "object" } }];
  const cases: [ResponsesRequest["tool_choice"], boolean | undefined, unknown, boolean | undefined][] = [
    [undefined, undefined, undefined, undefined],
    ["auto", undefined, "auto", undefined],
    ["none", undefined, "none", undefined],
    ["required", undefined, "required", undefined],
    ["required", false, "required", false],
    [{ type: "function", name: "f" }, true, { type: "function", function: { name: "f" } }, true],
    [{ type: "function", name: "f" }, false, { type: "function", function: { name: "f" } }, false],
  ];
  for (const [choice, parallel, expected, expectedParallel] of cases) {
    const chat = responsesToChatRequest({
      model: "m",
      input: "x",
      tools,
      ...(choice !== undefined ? { tool_choice: choice } : {}),
      ...(parallel !== undefined ? { parallel_tool_calls: parallel } : {}),
    });
    assert.deepEqual(chat.tool_choice, expected, JSON.stringify(choice));
    assert.equal(chat.parallel_tool_calls, expectedParallel, JSON.stringify(choice));
  }
});

Deno.test("regression: an empty assistant message Codex echoes between a call and its output is dropped", () => {
  const request = ResponsesRequestSchema.parse({
    model: "m",
    input: [
      { role: "user", content: "list files" },
      { type: "reasoning", id: "rs_1", summary: [{ type: "summary_text", text: "use shell" }] },
      { type: "function_call", call_id: "c1", name: "shell", arguments: '{"cmd":"ls"}' },
      {
        type: "message",
        role: "assistant",
        id: "msg_1",
        content: [{ type: "output_text", text: "", annotations: [] }],
      },
      { type: "function_call_output", call_id: "c1", output: "a.txt" },
      { type: "message", role: "assistant", content: "" },
      { type: "message", role: "assistant", content: [] },
    ],
  });
  assert.deepEqual(responsesToChatRequest(request).messages, [
    { role: "user", content: "list files" },
    {
      role: "assistant",
      content: null,
      reasoning_content: "use shell",
      tool_calls: [{ id: "c1", type: "function", function: { name: "shell", arguments: '{"cmd":"ls"}' } }],
    },
    { role: "tool", tool_call_id: "c1", content: "a.txt" },
  ]);
});

Deno.test("regression: a chat-side error names the Responses field (input, not messages)", () => {
  const error = (param: string | null) =>
    new CortexError("this model's maximum prompt length is 8 tokens", {
      code: "context_length_exceeded",
      status: 400,
      param,
      extras: { prompt_tokens: 9, max: 8 },
      retryAfter: null,
    });
  const mapped = chatErrorToResponses(error("messages"));
  assert.equal(mapped.param, "input");
  assert.equal(mapped.code, "context_length_exceeded");
  assert.equal(mapped.status, 400);
  assert.equal(mapped.message, "this model's maximum prompt length is 8 tokens");
  assert.deepEqual(mapped.extras, { prompt_tokens: 9, max: 8 });
  for (
    const [from, to] of [
      ["messages[2].content", "input"],
      ["max_tokens", "max_output_tokens"],
      ["max_completion_tokens", "max_output_tokens"],
      ["tools[3].function.name", "tools"],
      ["tool_choice", "tool_choice"],
      ["input", "input"],
      ["messagesX", "messagesX"],
    ]
  ) assert.equal(chatErrorToResponses(error(from)).param, to, from);
  const none = error(null);
  assert.equal(chatErrorToResponses(none), none);
});
