/**
 * Re-serialises an assistant turn (reasoning, text and tool calls) the way Qwen3's official chat
 * template writes it into the prompt.
 * @module
 */

import { _pyJson } from "./_py_json.ts";
import { _isPlainObject, _tryParseJson } from "./_json_text.ts";
import { _splitAssistantContent, _stripChar } from "./_assistant_content.ts";
import type { AssistantMessage, AssistantToolCall } from "./types.ts";

/** Options for {@link renderAssistantWithToolCalls}. */
export interface RenderAssistantOptions {
  /**
   * Render the reasoning as `<think>\n…\n</think>\n\n` before the content. The official template
   * does this only for assistant turns after the last real user query (see
   * {@link renderChatPrompt}); earlier turns drop their reasoning. Default `false`.
   */
  keepReasoning?: boolean;
  /**
   * Parse string `arguments` that hold a JSON object and render the object with the template's
   * `tojson` spacing (`{"a": 1}`), as servers do before applying the template. Default `false`:
   * strings are written verbatim, exactly as the template writes a string.
   */
  parseArguments?: boolean;
}

function _renderArguments(args: AssistantToolCall["arguments"], parse: boolean): string {
  if (typeof args === "string") {
    if (!parse) return args;
    // Not a JSON object: the template writes the string as it is.
    const parsed = _tryParseJson(args);
    return parsed !== undefined && _isPlainObject(parsed.value) ? _pyJson(parsed.value) : args;
  }
  return _pyJson(args ?? null);
}

/** One `<tool_call>` block as the official template writes it. */
function _renderToolCall(call: AssistantToolCall, parseArguments: boolean): string {
  const name = call.function ? call.function.name : call.name ?? "";
  const args = call.function ? call.function.arguments : call.arguments;
  return '<tool_call>\n{"name": "' + name + '", "arguments": ' + _renderArguments(args, parseArguments) +
    "}\n</tool_call>";
}

/**
 * Renders an assistant turn as Qwen3's official template writes it between
 * `<|im_start|>assistant\n` and `<|im_end|>`: optional `<think>` block, the content, then each tool
 * call as an inline `<tool_call>\n{"name": "…", "arguments": …}\n</tool_call>` block (a newline
 * before each block unless it is first and the content is empty).
 *
 * Use the result as the `content` of a plain assistant message when the server does not accept
 * `tool_calls`: the template then renders the same bytes. `null` content renders as `""`; a
 * content holding `</think>` with no `reasoning_content` is split as the template splits it.
 *
 * @example
 * ```ts
 * import { renderAssistantWithToolCalls } from "@cortex/qwen3";
 * const text = renderAssistantWithToolCalls({
 *   content: "Listing.",
 *   tool_calls: [{ type: "function", function: { name: "bash", arguments: { command: "ls" } } }],
 * });
 * console.log(text); // Listing.\n<tool_call>\n{"name": "bash", "arguments": {"command": "ls"}}\n</tool_call>
 * ```
 */
export function renderAssistantWithToolCalls(
  message: AssistantMessage,
  options: RenderAssistantOptions = {},
): string {
  const { content, reasoning } = _splitAssistantContent(message);
  let out = options.keepReasoning
    ? "<think>\n" + _stripChar(reasoning, "\n", true, true) + "\n</think>\n\n" +
      _stripChar(content, "\n", true, false)
    : content;
  const calls = message.tool_calls ?? [];
  calls.forEach((call, i) => {
    if (i > 0 || content !== "") out += "\n";
    out += _renderToolCall(call, options.parseArguments ?? false);
  });
  return out;
}
