/**
 * Tool results as Qwen3's official chat template wraps them: `<tool_response>` blocks in a user turn.
 * @module
 */

/**
 * Wraps tool results in `<tool_response>\n…\n</tool_response>` blocks, joined by a newline — the
 * text the official template puts in the user turn it makes from consecutive `tool` messages. Send
 * it as the `content` of a `user` message when the server does not accept `tool` messages; the
 * template renders the same bytes and, because the text starts and ends with the wrapper, still
 * treats the turn as a tool result rather than a new user query.
 *
 * @example
 * ```ts
 * import { renderToolResponse } from "@cortex/qwen3";
 * console.log(renderToolResponse("total 0")); // <tool_response>\ntotal 0\n</tool_response>
 * ```
 */
export function renderToolResponse(result: string | readonly string[]): string {
  const results = typeof result === "string" ? [result] : result;
  return results.map((text) => "<tool_response>\n" + text + "\n</tool_response>").join("\n");
}
