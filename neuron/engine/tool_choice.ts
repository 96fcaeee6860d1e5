/**
 * A chat request's tool policy (`tool_choice`, `parallel_tool_calls`) checked against the tools
 * it offers and resolved to what the engine enforces: `auto` leaves the model free, `none` masks
 * the tool-call opener out, `required` and a named function force a call to one of the allowed
 * names (constrained decoding, `tool_call_constraint.ts`).
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import type { ChatFunctionTool, ChatToolChoice } from "@cortex/core/openai";

/** What the engine enforces for one request. */
export interface ToolChoicePlan {
  /** `auto`: the model decides; `none`: no call; `required`: a call to one of `names`, forced. */
  mode: "auto" | "none" | "required";
  /** The tools a forced call may name: every offered tool, or the one `tool_choice` names. */
  names: string[];
  /** False (`parallel_tool_calls: false`): the turn ends after its first call. */
  parallel: boolean;
}

/** The request fields the policy reads. */
export interface ToolChoiceRequest {
  /** Tools offered. */
  tools?: ChatFunctionTool[] | null;
  /** Tool policy. */
  tool_choice?: ChatToolChoice | null;
  /** Several calls per turn (default true). */
  parallel_tool_calls?: boolean | null;
}

function _choiceError(message: string): CortexError {
  return new CortexError(message, { code: "invalid_request_body", status: 400, param: "tool_choice" });
}

/**
 * Resolves and checks the policy: a named function must be one of `tools`, and a forced call
 * needs tools and a model whose tokenizer has the tool-call markers (`canCallTools`); anything
 * else is a 400 `invalid_request_body` naming `tool_choice`.
 *
 * @example
 * ```ts
 * import { resolveToolChoice } from "./tool_choice.ts";
 * const tools = [{ type: "function" as const, function: { name: "get_weather" } }];
 * resolveToolChoice({ tools, tool_choice: "required" }, true);
 * // { mode: "required", names: ["get_weather"], parallel: true }
 * ```
 */
export function resolveToolChoice(request: ToolChoiceRequest, canCallTools: boolean): ToolChoicePlan {
  const offered = (request.tools ?? []).map((tool) => tool.function.name);
  const parallel = request.parallel_tool_calls !== false;
  const choice = request.tool_choice ?? "auto";
  if (choice === "auto") return { mode: "auto", names: offered, parallel };
  if (choice === "none") return { mode: "none", names: [], parallel };
  let names = offered;
  if (typeof choice === "object") {
    const name = choice.function.name;
    if (!offered.includes(name)) {
      const list = offered.length > 0
        ? offered.map((n) => JSON.stringify(n)).join(", ")
        : "no tools are offered";
      throw _choiceError(
        `tool_choice: function ${JSON.stringify(name)} is not one of the offered tools (${list})`,
      );
    }
    names = [name];
  } else if (offered.length === 0) {
    throw _choiceError(`tool_choice: "required" needs at least one tool in 'tools'; none is offered`);
  }
  if (!canCallTools) {
    throw _choiceError(
      "tool_choice: a tool call cannot be forced on this model: its tokenizer has no <tool_call> and </tool_call> tokens",
    );
  }
  return { mode: "required", names, parallel };
}
