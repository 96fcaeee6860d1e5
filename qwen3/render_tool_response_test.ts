import assert from "node:assert/strict";
import { renderOfficial } from "./_testing/official_template.ts";
import { renderToolResponse } from "./render_tool_response.ts";
import type { AssistantToolCall } from "./types.ts";

const LS: AssistantToolCall = { type: "function", function: { name: "bash", arguments: { command: "ls" } } };

Deno.test("renderToolResponse: one and several results, byte-identical to the template's tool turn", () => {
  for (const results of [["total 0"], ["", "multi\nline <tool_response>", "third"]]) {
    const viaTool = renderOfficial({
      messages: [{ role: "user", content: "q" }, ...results.map((content) => ({ role: "tool", content }))],
      add_generation_prompt: true,
    });
    const viaUser = renderOfficial({
      messages: [{ role: "user", content: "q" }, { role: "user", content: renderToolResponse(results) }],
      add_generation_prompt: true,
    });
    assert.equal(viaUser, viaTool);
  }
  assert.equal(renderToolResponse("ok"), "<tool_response>\nok\n</tool_response>");
  assert.equal(
    renderToolResponse(["a", "b"]),
    "<tool_response>\na\n</tool_response>\n<tool_response>\nb\n</tool_response>",
  );
});

Deno.test("renderToolResponse in a user turn does not count as a new query (reasoning kept)", () => {
  const messages = [
    { role: "user", content: "q" },
    { role: "assistant", content: "", reasoning_content: "why", tool_calls: [LS] },
  ];
  const viaTool = renderOfficial({
    messages: [...messages, { role: "tool", content: "out" }],
    add_generation_prompt: true,
  });
  const viaUser = renderOfficial({
    messages: [...messages, { role: "user", content: renderToolResponse("out") }],
    add_generation_prompt: true,
  });
  assert.equal(viaUser, viaTool);
  assert.ok(viaUser.includes("<think>\nwhy\n</think>"));
});
