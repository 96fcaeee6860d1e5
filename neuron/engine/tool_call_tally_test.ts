// `cortex_tool_calls_total` at its source: every `<tool_call>` block the pipeline reads is
// counted once by form and outcome, with the tiny fixture's real tokenizer and the real parsers.
import assert from "node:assert/strict";
import type { ToolDefinition } from "@cortex/qwen3";
import { OutputPipeline, type ToolCallTally } from "./output_pipeline.ts";
import { ModelTokenizer } from "./tokenizer.ts";

const tokenizer = await ModelTokenizer.fromFolder(
  new URL("../testdata/models/tiny-qwen3-f32", import.meta.url).pathname,
);
const tools = [{
  type: "function",
  function: {
    name: "get_weather",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
}] as unknown as ToolDefinition[];

function tallies(text: string): ToolCallTally[] {
  const pipeline = new OutputPipeline(tokenizer, {
    parsing: { reasoning: false, startInThink: false, tools },
  });
  for (const id of tokenizer.encode(text)) pipeline.push(id);
  pipeline.finish();
  return pipeline.toolCallTallies;
}

const call = (body: string): string => `<tool_call>\n${body}\n</tool_call>`;

Deno.test("tool-call tallies: each block counted once by form (json | xml) and outcome", () => {
  const cases: [string, string, ToolCallTally[]][] = [
    ["json ok", call('{"name": "get_weather", "arguments": {"city": "Paris"}}'), [{
      format: "json",
      outcome: "ok",
    }]],
    ["json nameless, name inferred", call('{"arguments": {"city": "Paris"}}'), [{
      format: "json",
      outcome: "repaired",
    }]],
    ["unoffered name, renamed by its keys", call('{"name": "weather", "arguments": {"city": "Paris"}}'), [{
      format: "json",
      outcome: "repaired",
    }]],
    ["unoffered name that fits no tool", call('{"name": "rm", "arguments": {"path": "/"}}'), [{
      format: "json",
      outcome: "unknown_tool",
    }]],
    ["unreadable json", call('{"name": "get_weather", "arguments": '), [{
      format: "json",
      outcome: "failed",
    }]],
    [
      "xml ok",
      call("<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>"),
      [{ format: "xml", outcome: "ok" }],
    ],
    ["unterminated xml", "<tool_call>\n<function=get_weather>\n<parameter=city>\nPar", [{
      format: "xml",
      outcome: "failed",
    }]],
    ["no call at all", "Just text.", []],
  ];
  for (const [name, text, expected] of cases) assert.deepEqual(tallies(text), expected, name);
  const two = tallies(`${call('{"name": "get_weather", "arguments": {"city": "A"}}')}\n${call("{")}`);
  assert.deepEqual(two, [{ format: "json", outcome: "ok" }, { format: "json", outcome: "failed" }]);
});
