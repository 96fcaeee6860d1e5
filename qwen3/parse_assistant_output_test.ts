import assert from "node:assert/strict";
import { parseAssistantOutput } from "./parse_assistant_output.ts";

Deno.test("parseAssistantOutput: splits a complete turn", () => {
  const out = parseAssistantOutput(
    '<think>\nhm\n</think>\n\nOK.\n<tool_call>\n{"name": "bash", "arguments": {"command": "ls"}}\n</tool_call>' +
      "<tool_call>oops</tool_call> end",
    { generateId: (i) => `id${i}` },
  );
  assert.equal(out.reasoning, "\nhm\n");
  assert.equal(out.content, "\n\nOK.\n<tool_call>oops</tool_call> end");
  assert.deepEqual(out.toolCalls, [{ id: "id0", name: "bash", arguments: '{"command":"ls"}' }]);
  assert.deepEqual(out.malformed.map((m) => [m.code, m.raw]), [[
    "invalid_json",
    "<tool_call>oops</tool_call>",
  ]]);
});

Deno.test("parseAssistantOutput: startInThink treats an unclosed output as all reasoning", () => {
  const out = parseAssistantOutput("still thinking", { startInThink: true });
  assert.equal(out.reasoning, "still thinking");
  assert.equal(out.content, "");
});
