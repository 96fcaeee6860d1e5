// tool_choice resolution: every accepted form, and 400s naming tool_choice for the rest.
import assert from "node:assert/strict";
import { CortexError } from "@cortex/core/errors";
import type { ChatFunctionTool } from "@cortex/core/openai";
import { resolveToolChoice } from "./tool_choice.ts";

const tool = (name: string): ChatFunctionTool => ({ type: "function", function: { name } });
const TOOLS = [tool("get_weather"), tool("bash")];

function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof CortexError);
    assert.equal(error.status, 400);
    assert.equal(error.code, "invalid_request_body");
    assert.equal(error.param, "tool_choice");
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("tool_choice: auto, none, required and a named function resolve to what the engine enforces", () => {
  assert.deepEqual(resolveToolChoice({ tools: TOOLS }, true), {
    mode: "auto",
    names: ["get_weather", "bash"],
    parallel: true,
  });
  assert.deepEqual(resolveToolChoice({}, false), { mode: "auto", names: [], parallel: true });
  assert.deepEqual(resolveToolChoice({ tools: TOOLS, tool_choice: "none" }, true).mode, "none");
  assert.deepEqual(resolveToolChoice({ tool_choice: "none" }, false).mode, "none");
  assert.deepEqual(
    resolveToolChoice({ tools: TOOLS, tool_choice: "required", parallel_tool_calls: false }, true),
    {
      mode: "required",
      names: ["get_weather", "bash"],
      parallel: false,
    },
  );
  assert.deepEqual(
    resolveToolChoice({ tools: TOOLS, tool_choice: { type: "function", function: { name: "bash" } } }, true),
    { mode: "required", names: ["bash"], parallel: true },
  );
});

Deno.test("tool_choice: an unknown name, a forced call without tools or on a model without markers are 400s", () => {
  refused(
    () =>
      resolveToolChoice(
        { tools: TOOLS, tool_choice: { type: "function", function: { name: "nope" } } },
        true,
      ),
    /"nope" is not one of the offered tools \("get_weather", "bash"\)/,
  );
  refused(
    () => resolveToolChoice({ tool_choice: { type: "function", function: { name: "bash" } } }, true),
    /no tools are offered/,
  );
  refused(() => resolveToolChoice({ tools: [], tool_choice: "required" }, true), /needs at least one tool/);
  refused(() => resolveToolChoice({ tools: TOOLS, tool_choice: "required" }, false), /no <tool_call>/);
});
