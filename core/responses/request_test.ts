import assert from "node:assert/strict";
import { parseWithSchema } from "../errors/zod_issues.ts";
import { ResponsesRequestSchema } from "./request.ts";
import { ResponsesResponseSchema } from "./response.ts";

Deno.test("a Codex-like Responses request parses; unknown items and tools are tolerated", () => {
  const parsed = ResponsesRequestSchema.parse({
    model: "gpt-5-codex",
    instructions: "You are Codex.",
    input: [
      { type: "message", role: "developer", content: [{ type: "input_text", text: "env" }] },
      { role: "user", content: "fix it" },
      { type: "reasoning", id: "rs_1", summary: [], encrypted_content: "xyz" },
      { type: "function_call", call_id: "c", name: "shell", arguments: "{}" },
      { type: "function_call_output", call_id: "c", output: "ok" },
      { type: "local_shell_call", id: "x", action: {} },
    ],
    tools: [
      { type: "function", name: "shell", parameters: { type: "object" }, strict: false },
      { type: "web_search" },
    ],
    tool_choice: "auto",
    parallel_tool_calls: false,
    reasoning: { effort: "medium", summary: "auto" },
    store: false,
    stream: true,
    include: ["reasoning.encrypted_content"],
    prompt_cache_key: "k",
  });
  assert.equal((parsed.input as unknown[]).length, 6);
  assert.equal(parsed.prompt_cache_key, "k");
});

Deno.test("bad Responses requests name the path", () => {
  const cases: [unknown, string][] = [
    [{ model: "m", input: 5 }, "input: expected string | array, got 5"],
    [
      { model: "m", input: [{ type: "function_call", call_id: "c", name: "f", arguments: {} }] },
      "input[0].arguments: expected string, got object",
    ],
    [{ model: "m", input: "x", max_output_tokens: 0 }, "max_output_tokens: expected a number >= 1, got 0"],
  ];
  for (const [body, message] of cases) {
    const result = parseWithSchema(ResponsesRequestSchema, body);
    assert.ok(!result.ok, message);
    assert.equal(result.error.message, message);
  }
});

Deno.test("a response object fills null defaults", () => {
  const parsed = ResponsesResponseSchema.parse({
    id: "resp_1",
    object: "response",
    created_at: 1,
    status: "completed",
    model: "m",
    output: [],
  });
  assert.equal(parsed.usage, null);
  assert.equal(parsed.error, null);
  assert.equal(parsed.incomplete_details, null);
});
