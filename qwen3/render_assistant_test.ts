import assert from "node:assert/strict";
import { renderOfficial } from "./_testing/official_template.ts";
import { renderAssistantWithToolCalls } from "./render_assistant.ts";
import type { AssistantMessage, AssistantToolCall } from "./types.ts";

const LS: AssistantToolCall = {
  id: "call_1",
  type: "function",
  function: {
    name: "bash",
    arguments: { command: "mkdir -p doc/plan/{01-discovery,02-design}", cwd: "/tmp" },
  },
};
const READ: AssistantToolCall = {
  id: "call_2",
  type: "function",
  function: {
    name: "read_file",
    arguments: { path: 'a "quoted" é.txt', line: 3, limit: null, tags: ["x", 2, false] },
  },
};
const EMPTY: AssistantToolCall = { type: "function", function: { name: "now", arguments: {} } };
const STRING_ARGS: AssistantToolCall = {
  type: "function",
  function: { name: "bash", arguments: '{"command":"pwd"}' },
};

/** The official rendering of `[user, assistant]` without a generation prompt, minus the user turn. */
function officialAssistantTurn(message: AssistantMessage): string {
  const rendered = renderOfficial({
    messages: [{ role: "user", content: "q" }, { ...message, role: "assistant" }, {
      role: "user",
      content: "next",
    }],
    add_generation_prompt: false,
  });
  const start = rendered.indexOf("<|im_start|>assistant\n") + "<|im_start|>assistant\n".length;
  return rendered.slice(start, rendered.indexOf("<|im_end|>", start));
}

Deno.test("renderAssistantWithToolCalls: one call, byte-identical to the official template", () => {
  for (const content of ["", "Creating the plan folders.", "trailing newline\n"]) {
    const message: AssistantMessage = { content, tool_calls: [LS] };
    assert.equal(
      renderAssistantWithToolCalls(message),
      officialAssistantTurn(message),
      JSON.stringify(content),
    );
  }
  assert.equal(
    renderAssistantWithToolCalls({ content: "", tool_calls: [LS] }),
    '<tool_call>\n{"name": "bash", "arguments": {"command": "mkdir -p doc/plan/{01-discovery,02-design}", "cwd": "/tmp"}}\n</tool_call>',
  );
});

Deno.test("renderAssistantWithToolCalls: several calls, string and bare-shape arguments", () => {
  const bare: AssistantToolCall = { name: "now", arguments: { tz: "UTC" } };
  for (const calls of [[LS, READ], [LS, READ, EMPTY, STRING_ARGS], [STRING_ARGS, bare]]) {
    for (const content of ["", "Several things at once:"]) {
      const message: AssistantMessage = { content, tool_calls: calls };
      assert.equal(renderAssistantWithToolCalls(message), officialAssistantTurn(message));
    }
  }
  const text = renderAssistantWithToolCalls({ content: "A", tool_calls: [EMPTY, EMPTY] });
  assert.equal(text.split("<tool_call>").length - 1, 2);
  assert.ok(text.startsWith("A\n<tool_call>\n"));
  assert.ok(text.includes("</tool_call>\n<tool_call>"));
});

Deno.test("renderAssistantWithToolCalls: sent as plain content it renders like structured tool_calls", () => {
  const message: AssistantMessage = { content: "Checking.", tool_calls: [LS, READ] };
  const structured = renderOfficial({
    messages: [{ role: "user", content: "q" }, { role: "assistant", ...message }, {
      role: "user",
      content: "r",
    }],
    add_generation_prompt: true,
  });
  const inline = renderOfficial({
    messages: [
      { role: "user", content: "q" },
      { role: "assistant", content: renderAssistantWithToolCalls(message) },
      { role: "user", content: "r" },
    ],
    add_generation_prompt: true,
  });
  assert.equal(inline, structured);
});

Deno.test("renderAssistantWithToolCalls: keepReasoning writes the think block as the template does after the last query", () => {
  const message: AssistantMessage = {
    content: "\n\nDone.",
    reasoning_content: "\nneed ls\n",
    tool_calls: [LS],
  };
  const rendered = renderOfficial({
    messages: [{ role: "user", content: "q" }, { role: "assistant", ...message }],
    add_generation_prompt: false,
  });
  assert.equal(
    rendered,
    "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n" +
      renderAssistantWithToolCalls(message, { keepReasoning: true }) + "<|im_end|>\n",
  );
  assert.ok(
    renderAssistantWithToolCalls(message, { keepReasoning: true }).startsWith(
      "<think>\nneed ls\n</think>\n\nDone.\n",
    ),
  );
  assert.equal(renderAssistantWithToolCalls(message).startsWith("\n\nDone.\n<tool_call>"), true);
});

Deno.test("renderAssistantWithToolCalls: inline <think> in content is split off like the template does", () => {
  const message: AssistantMessage = { content: "<think>\nplan\n</think>\n\nAnswer", tool_calls: [EMPTY] };
  assert.equal(renderAssistantWithToolCalls(message), officialAssistantTurn(message));
  assert.equal(
    renderAssistantWithToolCalls(message),
    'Answer\n<tool_call>\n{"name": "now", "arguments": {}}\n</tool_call>',
  );
});

Deno.test("renderAssistantWithToolCalls: parseArguments only parses JSON-object strings", () => {
  const parsed = renderAssistantWithToolCalls({ content: "", tool_calls: [STRING_ARGS] }, {
    parseArguments: true,
  });
  assert.equal(parsed, '<tool_call>\n{"name": "bash", "arguments": {"command": "pwd"}}\n</tool_call>');
  const notJson: AssistantToolCall = { function: { name: "x", arguments: "not json" } };
  assert.ok(
    renderAssistantWithToolCalls({ tool_calls: [notJson] }, { parseArguments: true }).includes(
      '"arguments": not json}',
    ),
  );
  const array: AssistantToolCall = { function: { name: "x", arguments: "[1, 2]" } };
  assert.ok(
    renderAssistantWithToolCalls({ tool_calls: [array] }, { parseArguments: true }).includes(
      '"arguments": [1, 2]}',
    ),
  );
  assert.equal(renderAssistantWithToolCalls({ content: null }), "");
});
