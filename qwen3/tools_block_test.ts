import assert from "node:assert/strict";
import { renderOfficial } from "./_testing/official_template.ts";
import { renderSystemWithTools, renderToolsBlock } from "./tools_block.ts";
import type { ToolDefinition } from "./types.ts";

const TOOLS: ToolDefinition[] = [
  {
    type: "function",
    function: {
      name: "write_file",
      description: 'Write "content" to a file — unicode é, 日本, 😀, backslash \\ and a\nnewline',
      parameters: {
        type: "object",
        properties: {
          path: { type: "string" },
          content: { type: "string" },
          mode: { type: ["integer", "null"], default: 420 },
        },
        required: ["path", "content"],
        additionalProperties: false,
      },
    },
  },
  {
    type: "function",
    function: { name: "now", description: "", parameters: { type: "object", properties: {} } },
  },
  { type: "function", function: { name: "bare" } },
];

/** The system turn of the official rendering, between `<|im_start|>system\n` and `<|im_end|>`. */
function officialSystemTurn(system: string | null, tools: readonly ToolDefinition[]): string {
  const messages = system === null ? [] : [{ role: "system", content: system }];
  const rendered = renderOfficial({
    messages: [...messages, { role: "user", content: "u" }],
    tools,
    add_generation_prompt: false,
  });
  const start = "<|im_start|>system\n";
  assert.ok(rendered.startsWith(start));
  return rendered.slice(start.length, rendered.indexOf("<|im_end|>"));
}

Deno.test("renderToolsBlock is byte-identical to the official template's tools section", () => {
  for (let n = 1; n <= TOOLS.length; n++) {
    const tools = TOOLS.slice(0, n);
    assert.equal(renderToolsBlock(tools), officialSystemTurn(null, tools));
  }
});

Deno.test("renderToolsBlock layout: one tojson line per tool, official instructions, no trailing newline", () => {
  const block = renderToolsBlock(TOOLS.slice(1, 2));
  assert.equal(
    block,
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
      "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" +
      '{"type": "function", "function": {"name": "now", "description": "", "parameters": {"type": "object", "properties": {}}}}\n' +
      "</tools>\n\nFor each function call, return a json object with function name and arguments within " +
      '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>',
  );
});

Deno.test("renderToolsBlock: no tools gives the empty string; undefined fields are left out", () => {
  assert.equal(renderToolsBlock([]), "");
  const withUndefined = renderToolsBlock([{
    type: "function",
    function: { name: "x", description: undefined },
  }]);
  assert.ok(withUndefined.includes('{"type": "function", "function": {"name": "x"}}'));
});

Deno.test("renderSystemWithTools as a plain system message renders like the template given tools", () => {
  for (const system of ["You are a coding agent.", "", null]) {
    const viaTools = renderOfficial({
      messages: [...(system === null ? [] : [{ role: "system", content: system }]), {
        role: "user",
        content: "hi",
      }],
      tools: TOOLS,
      add_generation_prompt: true,
    });
    const viaContent = renderOfficial({
      messages: [{ role: "system", content: renderSystemWithTools(system, TOOLS) }, {
        role: "user",
        content: "hi",
      }],
      add_generation_prompt: true,
    });
    assert.equal(viaContent, viaTools, `system ${JSON.stringify(system)}`);
  }
  assert.equal(renderSystemWithTools("plain", []), "plain");
  assert.equal(renderSystemWithTools(null, []), "");
});
