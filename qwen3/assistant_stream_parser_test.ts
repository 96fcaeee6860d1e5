import assert from "node:assert/strict";
import { callIntegrityError, normalize, reconstruct, runChunks } from "./_testing/events.ts";
import { AssistantStreamParser, type AssistantStreamParserOptions } from "./assistant_stream_parser.ts";
import type { AssistantStreamEvent } from "./events.ts";

function parse(
  input: string,
  options: AssistantStreamParserOptions = {},
  chunks = [input],
): AssistantStreamEvent[] {
  const events = runChunks(new AssistantStreamParser({ generateId: (i) => `call_${i}`, ...options }), chunks);
  assert.equal(callIntegrityError(events), null);
  assert.equal(reconstruct(events, options.startInThink ?? false), input);
  return normalize(events);
}

Deno.test("AssistantStreamParser: reasoning, text and a call", () => {
  const input =
    '<think>\nI will list.\n</think>\n\nSure.\n<tool_call>\n{"name": "bash", "arguments": {"command": "ls"}}\n</tool_call>';
  const events = parse(input);
  assert.deepEqual(events.map((e) => e.type), [
    "think_start",
    "reasoning",
    "think_end",
    "text",
    "tool_call_start",
    "tool_call_delta",
    "tool_call_end",
  ]);
  assert.deepEqual(parse(input, {}, [...input]), events);
});

Deno.test("AssistantStreamParser: a <tool_call> drafted inside reasoning stays reasoning", () => {
  const input = '<think>maybe <tool_call>{"name": "x"}</tool_call>?</think>ok';
  const events = parse(input);
  assert.deepEqual(events, [
    { type: "think_start" },
    { type: "reasoning", text: 'maybe <tool_call>{"name": "x"}</tool_call>?' },
    { type: "think_end", closed: true },
    { type: "text", text: "ok" },
  ]);
});

Deno.test("AssistantStreamParser: <think> inside a call's arguments is argument text", () => {
  const input =
    '<tool_call>{"name": "write_file", "arguments": {"path": "t.md", "content": "<think>x</think>"}}</tool_call>';
  const events = parse(input);
  const end = events.find((e) => e.type === "tool_call_end");
  assert.equal(
    end?.type === "tool_call_end" && end.arguments,
    '{"path":"t.md","content":"<think>x</think>"}',
  );
  assert.equal(events.some((e) => e.type === "reasoning"), false);
});

Deno.test("AssistantStreamParser: startInThink, and text held back across a marker keeps its order", () => {
  const input = "plan</think>a<tool_<think>r</think>b";
  const events = parse(input, { startInThink: true }, [...input]);
  assert.deepEqual(events, [
    { type: "think_start" },
    { type: "reasoning", text: "plan" },
    { type: "think_end", closed: true },
    { type: "text", text: "a<tool_" },
    { type: "think_start" },
    { type: "reasoning", text: "r" },
    { type: "think_end", closed: true },
    { type: "text", text: "b" },
  ]);
});

Deno.test("AssistantStreamParser: finish closes an open reasoning block and reports an open call", () => {
  assert.deepEqual(parse("<think>unfinished"), [
    { type: "think_start" },
    { type: "reasoning", text: "unfinished" },
    { type: "think_end", closed: false },
  ]);
  const events = parse('<tool_call>{"name": "a"');
  assert.deepEqual(events.map((e) => e.type), ["tool_call_start", "malformed"]);
});
