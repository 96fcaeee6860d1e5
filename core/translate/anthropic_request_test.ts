import assert from "node:assert/strict";
import type { AnthropicContentBlock, AnthropicMessageParam, MessagesRequest } from "../anthropic/mod.ts";
import { MessagesRequestSchema } from "../anthropic/request.ts";
import { ChatCompletionRequestSchema } from "../openai/chat_request.ts";
import {
  anthropicCountTokensToChat,
  anthropicSystemText,
  anthropicToChatRequest,
} from "./anthropic_request.ts";
import { chatToAnthropicRequest } from "./chat_to_anthropic_request.ts";
import { randomObject, randomText, Rng } from "./_test_gen.ts";

function randomImage(rng: Rng): AnthropicContentBlock {
  return rng.bool()
    ? {
      type: "image",
      source: {
        type: "base64",
        media_type: rng.pick(["image/png", "image/jpeg"]),
        data: btoa(String(rng.int(0, 1e9))),
      },
    }
    : { type: "image", source: { type: "url", url: `https://example.com/${rng.int(0, 999)}.png` } };
}

function randomUserBlocks(rng: Rng): AnthropicContentBlock[] {
  return Array.from(
    { length: rng.int(1, 3) },
    () => rng.bool(0.3) ? randomImage(rng) : { type: "text" as const, text: randomText(rng, 20) || "x" },
  );
}

/** A valid Anthropic conversation: user/assistant alternate; every tool_use is answered next turn. */
function randomRequest(rng: Rng, n: number): MessagesRequest {
  const messages: AnthropicMessageParam[] = [];
  const turns = rng.int(1, 4);
  let pendingIds: string[] = [];
  for (let t = 0; t < turns; t++) {
    const user: AnthropicContentBlock[] = pendingIds.map((id) => {
      const block: AnthropicContentBlock = {
        type: "tool_result",
        tool_use_id: id,
        content: rng.bool()
          ? randomText(rng, 20)
          : [{ type: "text", text: randomText(rng, 10) }, ...(rng.bool(0.3) ? [randomImage(rng)] : [])],
      };
      if (rng.bool(0.2)) block.is_error = true;
      return block;
    });
    if (pendingIds.length === 0 || rng.bool(0.4)) user.push(...randomUserBlocks(rng));
    messages.push({
      role: "user",
      content: user.length === 1 && user[0].type === "text" && rng.bool() ? user[0].text as string : user,
    });
    const assistant: AnthropicContentBlock[] = [];
    if (rng.bool(0.3)) {
      assistant.push({ type: "thinking", thinking: randomText(rng, 20) || "hmm", signature: "" });
    }
    if (rng.bool(0.7)) assistant.push({ type: "text", text: randomText(rng, 20) || "ok" });
    pendingIds = [];
    if (t < turns - 1 && rng.bool(0.6)) {
      for (let i = rng.int(1, 2); i > 0; i--) {
        const id = `toolu_${n}_${t}_${i}`;
        pendingIds.push(id);
        assistant.push({ type: "tool_use", id, name: rng.pick(["bash", "read"]), input: randomObject(rng) });
      }
    }
    if (assistant.length === 0) assistant.push({ type: "text", text: "done" });
    if (t < turns - 1) messages.push({ role: "assistant", content: assistant });
  }
  const request: MessagesRequest = { model: "m", max_tokens: rng.int(1, 8000), messages };
  if (rng.bool(0.7)) {
    request.system = rng.bool()
      ? randomText(rng, 30)
      : [{ type: "text", text: randomText(rng, 20) }, { type: "text", text: randomText(rng, 20) }];
  }
  if (rng.bool(0.6)) {
    request.tools = Array.from({ length: rng.int(1, 3) }, (_, i) => ({
      name: `tool_${i}`,
      ...(rng.bool() ? { description: randomText(rng, 20) } : {}),
      input_schema: { type: "object", properties: randomObject(rng) },
    }));
  }
  return request;
}

/** Compares conversations modulo representation: strings as text blocks, adjacent texts merged. */
function normalise(content: string | AnthropicContentBlock[]): unknown[] {
  const blocks = typeof content === "string" ? [{ type: "text", text: content }] : content;
  const out: Record<string, unknown>[] = [];
  for (const block of blocks as Record<string, unknown>[]) {
    let b = { ...block };
    if (b.type === "thinking") b = { type: "thinking", thinking: b.thinking };
    if (b.type === "tool_result") {
      b = { ...b, content: normalise((b.content ?? "") as string | AnthropicContentBlock[]) };
    }
    const last = out[out.length - 1];
    if (b.type === "text" && last?.type === "text") last.text = `${last.text}${b.text}`;
    else out.push(b);
  }
  return out.filter((b) => !(b.type === "text" && b.text === ""));
}

Deno.test("property: Anthropic → chat → Anthropic keeps system, tools, tool_use/tool_result pairing and images", () => {
  const rng = new Rng(2024);
  for (let n = 0; n < 1500; n++) {
    const request = randomRequest(rng, n);
    assert.ok(MessagesRequestSchema.safeParse(request).success, `generated request ${n} is valid`);
    const chat = anthropicToChatRequest(request);
    assert.ok(ChatCompletionRequestSchema.safeParse(chat).success, `case ${n}: chat request is valid`);
    const back = chatToAnthropicRequest(chat);
    const context = `case ${n}: ${JSON.stringify(request)}`;
    assert.equal(back.system ?? "", anthropicSystemText(request.system), context);
    assert.deepEqual(back.tools, request.tools, context);
    assert.equal(back.max_tokens, request.max_tokens, context);
    assert.deepEqual(
      back.messages.map((m) => [m.role, normalise(m.content)]),
      request.messages.map((m) => [m.role, normalise(m.content)]),
      context,
    );
  }
});

Deno.test("system string, system blocks and role:system entries merge into one leading system message", () => {
  const chat = anthropicToChatRequest({
    model: "m",
    max_tokens: 10,
    system: [{ type: "text", text: "A" }, { type: "text", text: "B" }],
    messages: [{ role: "system", content: "C" }, { role: "user", content: "hi" }],
  });
  assert.deepEqual(chat.messages, [{ role: "system", content: "A\nB\n\nC" }, {
    role: "user",
    content: "hi",
  }]);
});

Deno.test("tool_use → tool_calls with JSON-string arguments; tool_result → tool message before the user text", () => {
  const chat = anthropicToChatRequest({
    model: "m",
    max_tokens: 10,
    messages: [
      { role: "user", content: "list files" },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Sure." },
          { type: "tool_use", id: "toolu_1", name: "ls", input: { path: "." } },
        ],
      },
      {
        role: "user",
        content: [
          {
            type: "tool_result",
            tool_use_id: "toolu_1",
            content: [{ type: "text", text: "a.txt" }],
            is_error: true,
          },
          { type: "text", text: "thanks" },
        ],
      },
    ],
  });
  assert.deepEqual(chat.messages.slice(1), [
    {
      role: "assistant",
      content: "Sure.",
      tool_calls: [{ id: "toolu_1", type: "function", function: { name: "ls", arguments: '{"path":"."}' } }],
    },
    { role: "tool", tool_call_id: "toolu_1", content: "a.txt", is_error: true },
    { role: "user", content: "thanks" },
  ]);
});

Deno.test("images: base64 becomes a data URI, url stays a URL", () => {
  const chat = anthropicToChatRequest({
    model: "m",
    max_tokens: 10,
    messages: [{
      role: "user",
      content: [
        { type: "image", source: { type: "base64", media_type: "image/jpeg", data: "AAAA" } },
        { type: "image", source: { type: "url", url: "https://x/y.png" } },
        { type: "text", text: "what is this?" },
      ],
    }],
  });
  assert.deepEqual(chat.messages[0].content, [
    { type: "image_url", image_url: { url: "data:image/jpeg;base64,AAAA" } },
    { type: "image_url", image_url: { url: "https://x/y.png" } },
    { type: "text", text: "what is this?" },
  ]);
});

Deno.test("parameters: stop_sequences → stop, thinking → enable_thinking, tool_choice, streaming usage", () => {
  const base = { model: "m", max_tokens: 64, messages: [{ role: "user" as const, content: "x" }] };
  const chat = anthropicToChatRequest({
    ...base,
    stop_sequences: ["END"],
    thinking: { type: "enabled", budget_tokens: 1000 },
    tool_choice: { type: "any", disable_parallel_tool_use: true },
    tools: [{ name: "f", input_schema: { type: "object" } }, {
      type: "web_search_20250305",
      name: "web_search",
    }],
    temperature: 0.2,
    top_k: 20,
    stream: true,
    metadata: { user_id: "u1" },
  });
  assert.deepEqual(chat.stop, ["END"]);
  assert.deepEqual(chat.chat_template_kwargs, { enable_thinking: true });
  assert.equal(chat.tool_choice, "required");
  assert.equal(chat.parallel_tool_calls, false);
  assert.deepEqual(chat.tools, [{
    type: "function",
    function: { name: "f", parameters: { type: "object" } },
  }]);
  assert.deepEqual(chat.stream_options, { include_usage: true, include_prompt_usage: true });
  assert.equal(chat.max_tokens, 64);
  assert.equal(chat.temperature, 0.2);
  assert.equal(chat.top_k, 20);
  assert.equal(chat.user, "u1");
  assert.deepEqual(
    anthropicToChatRequest({ ...base, tool_choice: { type: "tool", name: "f" } }).tool_choice,
    {
      type: "function",
      function: { name: "f" },
    },
  );
  assert.equal(anthropicToChatRequest({ ...base, tool_choice: { type: "none" } }).tool_choice, "none");
  assert.deepEqual(anthropicToChatRequest({ ...base, thinking: { type: "disabled" } }).chat_template_kwargs, {
    enable_thinking: false,
  });
});

Deno.test("assistant thinking becomes reasoning_content; unknown blocks travel as raw parts", () => {
  const chat = anthropicToChatRequest({
    model: "m",
    max_tokens: 5,
    messages: [
      {
        role: "user",
        content: [{ type: "document", source: { type: "text", data: "doc" } }, { type: "text", text: "sum" }],
      },
      {
        role: "assistant",
        content: [{ type: "thinking", thinking: "t", signature: "s" }, { type: "text", text: "a" }],
      },
    ],
  });
  assert.deepEqual(chat.messages[0].content, [
    { type: "document", source: { type: "text", data: "doc" } },
    { type: "text", text: "sum" },
  ]);
  assert.deepEqual(chat.messages[1], { role: "assistant", content: "a", reasoning_content: "t" });
});

Deno.test("count_tokens renders to the same messages and tools as the request would", () => {
  const request = {
    model: "m",
    system: "sys",
    messages: [{ role: "user" as const, content: "hello" }],
    tools: [{ name: "f", input_schema: { type: "object" } }],
  };
  const counted = anthropicCountTokensToChat(request);
  const full = anthropicToChatRequest({ ...request, max_tokens: 1 });
  assert.deepEqual(counted.messages, full.messages);
  assert.deepEqual(counted.tools, full.tools);
});

Deno.test("tool_choice: every Anthropic form becomes the chat tool_choice and parallel_tool_calls the neuron enforces", () => {
  const base = {
    model: "m",
    max_tokens: 64,
    messages: [{ role: "user" as const, content: "x" }],
    tools: [{ name: "f", input_schema: { type: "object" as const } }],
  };
  const cases: [MessagesRequest["tool_choice"], unknown, boolean | undefined][] = [
    [undefined, undefined, undefined],
    [{ type: "auto" }, "auto", undefined],
    [{ type: "auto", disable_parallel_tool_use: true }, "auto", false],
    [{ type: "any" }, "required", undefined],
    [{ type: "any", disable_parallel_tool_use: true }, "required", false],
    [{ type: "tool", name: "f" }, { type: "function", function: { name: "f" } }, undefined],
    [{ type: "tool", name: "f", disable_parallel_tool_use: true }, {
      type: "function",
      function: { name: "f" },
    }, false],
    [{ type: "tool", name: "f", disable_parallel_tool_use: false }, {
      type: "function",
      function: { name: "f" },
    }, undefined],
    [{ type: "none" }, "none", undefined],
  ];
  for (const [choice, expected, parallel] of cases) {
    const chat = anthropicToChatRequest({ ...base, ...(choice ? { tool_choice: choice } : {}) });
    assert.deepEqual(chat.tool_choice, expected, JSON.stringify(choice));
    assert.equal(chat.parallel_tool_calls, parallel, JSON.stringify(choice));
    assert.ok(ChatCompletionRequestSchema.safeParse(chat).success, JSON.stringify(choice));
  }
});

Deno.test("regression: thinking {type: adaptive} turns thinking on (was ignored)", () => {
  const request = MessagesRequestSchema.parse({
    model: "m",
    max_tokens: 64,
    thinking: { type: "adaptive" },
    messages: [{ role: "user", content: "hi" }],
  });
  assert.deepEqual(anthropicToChatRequest(request).chat_template_kwargs, { enable_thinking: true });
  // `disabled` still turns it off.
  assert.deepEqual(
    anthropicToChatRequest({ ...request, thinking: { type: "disabled" } }).chat_template_kwargs,
    { enable_thinking: false },
  );
});

Deno.test("defer_loading tools are offered like any other tool; the tool search server tool is left out", () => {
  const request = MessagesRequestSchema.parse({
    model: "m",
    max_tokens: 64,
    messages: [{ role: "user", content: "hi" }],
    tools: [
      { type: "tool_search_tool_regex_20251119", name: "tool_search_tool_regex" },
      { name: "read", input_schema: { type: "object" } },
      {
        name: "mcp__db__query",
        description: "Run SQL",
        input_schema: { type: "object" },
        defer_loading: true,
      },
    ],
  });
  const chat = anthropicToChatRequest(request);
  assert.deepEqual(chat.tools, [
    { type: "function", function: { name: "read", parameters: { type: "object" } } },
    {
      type: "function",
      function: { name: "mcp__db__query", parameters: { type: "object" }, description: "Run SQL" },
    },
  ]);
  assert.ok(ChatCompletionRequestSchema.safeParse(chat).success);
  // A defer_loading that is not a boolean is a 400 naming it.
  const bad = MessagesRequestSchema.safeParse({
    ...request,
    tools: [{ ...request.tools![2], defer_loading: "yes" }],
  });
  assert.ok(!bad.success);
  assert.deepEqual(bad.error.issues.map((i) => i.path.join(".")).some((p) => p.startsWith("tools.0")), true);
});
