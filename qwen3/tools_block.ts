/**
 * The `# Tools` section that Qwen3's official chat template puts in the system turn.
 * @module
 */

import { _pyJson } from "./_py_json.ts";
import type { ToolDefinition } from "./types.ts";

const _TOOLS_HEADER = "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
  "You are provided with function signatures within <tools></tools> XML tags:\n<tools>";
const _TOOLS_FOOTER = "\n</tools>\n\nFor each function call, return a json object with function name and " +
  "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n" +
  '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>';

/**
 * Renders the `# Tools` block exactly as Qwen3's official chat template does: the `<tools>` list
 * with one JSON signature per line (keys in the order given, Python `json.dumps` spacing), then the
 * instruction to answer with `<tool_call>{"name": …, "arguments": …}</tool_call>`.
 *
 * It has no leading or trailing newline; an empty list gives the empty string. The official
 * template places it in the system turn after the first system message's text and a blank line —
 * {@link renderSystemWithTools} does that join.
 *
 * @example
 * ```ts
 * import { renderToolsBlock } from "@cortex/qwen3";
 * const block = renderToolsBlock([{
 *   type: "function",
 *   function: { name: "bash", parameters: { type: "object", properties: { command: { type: "string" } } } },
 * }]);
 * console.log(block.startsWith("# Tools\n\n")); // true
 * ```
 */
export function renderToolsBlock(tools: readonly ToolDefinition[]): string {
  if (tools.length === 0) return "";
  let lines = "";
  for (const tool of tools) lines += "\n" + _pyJson(tool);
  return _TOOLS_HEADER + lines + _TOOLS_FOOTER;
}

/**
 * The system message text that makes a template-less request carry the tools: the first system
 * message's text, a blank line, then {@link renderToolsBlock}. Sent as the content of a plain
 * system message (with no `tools` field), it renders to the same bytes as the official template
 * given the original system message and `tools`. Without tools it returns `system` unchanged.
 *
 * @example
 * ```ts
 * import { renderSystemWithTools } from "@cortex/qwen3";
 * const system = renderSystemWithTools("You are a coding agent.", []);
 * console.log(system); // "You are a coding agent."
 * ```
 */
export function renderSystemWithTools(
  system: string | null | undefined,
  tools: readonly ToolDefinition[],
): string {
  const text = system ?? "";
  if (tools.length === 0) return text;
  return system == null ? renderToolsBlock(tools) : text + "\n\n" + renderToolsBlock(tools);
}
