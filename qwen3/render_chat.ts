/**
 * The whole Qwen3 prompt, rendered as the official chat template renders it, from the pieces in
 * this package.
 * @module
 */

import { _splitAssistantContent } from "./_assistant_content.ts";
import { renderAssistantWithToolCalls } from "./render_assistant.ts";
import { renderSystemWithTools } from "./tools_block.ts";
import type { ChatMessage, ToolDefinition } from "./types.ts";

/** Options for {@link renderChatPrompt}. */
export interface RenderChatOptions {
  /** Tools offered to the model; rendered into the system turn. */
  tools?: readonly ToolDefinition[];
  /** End with `<|im_start|>assistant\n` so the model answers. Default `true`. */
  addGenerationPrompt?: boolean;
  /** `false` appends an empty `<think>\n\n</think>\n\n` to the generation prompt (no reasoning). */
  enableThinking?: boolean;
  /** Parse JSON-string tool-call arguments before rendering; see {@link RenderAssistantOptions}. */
  parseArguments?: boolean;
}

function _isToolResponse(text: string): boolean {
  return text.startsWith("<tool_response>") && text.endsWith("</tool_response>");
}

/** Index of the last user message that is a real query (not wrapped tool results). */
function _lastQueryIndex(messages: readonly ChatMessage[]): number {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (message.role === "user" && !_isToolResponse(message.content ?? "")) return i;
  }
  return messages.length - 1;
}

/**
 * Renders a conversation to the prompt text Qwen3's official chat template produces (ChatML turns,
 * the `# Tools` block, inline `<tool_call>` blocks, grouped `<tool_response>` turns, reasoning kept
 * only after the last real user query). Roles other than system, user, assistant and tool are
 * skipped, as the template skips them; `null` content renders as `""`.
 *
 * String operations follow Python (`strip("\n")` strips newlines only), as transformers and vLLM
 * render the template.
 *
 * @example
 * ```ts
 * import { renderChatPrompt } from "@cortex/qwen3";
 * const prompt = renderChatPrompt([{ role: "user", content: "hi" }]);
 * console.log(prompt); // <|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n
 * ```
 */
export function renderChatPrompt(messages: readonly ChatMessage[], options: RenderChatOptions = {}): string {
  const tools = options.tools ?? [];
  const firstIsSystem = messages.length > 0 && messages[0].role === "system";
  let out = "";
  if (tools.length > 0) {
    const system = firstIsSystem ? messages[0].content ?? "" : null;
    out += "<|im_start|>system\n" + renderSystemWithTools(system, tools) + "<|im_end|>\n";
  } else if (firstIsSystem) {
    out += "<|im_start|>system\n" + (messages[0].content ?? "") + "<|im_end|>\n";
  }
  const lastQuery = _lastQueryIndex(messages);
  messages.forEach((message, i) => {
    const isLast = i === messages.length - 1;
    if (message.role === "user" || (message.role === "system" && i > 0)) {
      out += "<|im_start|>" + message.role + "\n" + (message.content ?? "") + "<|im_end|>\n";
    } else if (message.role === "assistant") {
      const { reasoning } = _splitAssistantContent(message);
      const keepReasoning = i > lastQuery && (isLast || reasoning !== "");
      out += "<|im_start|>assistant\n" +
        renderAssistantWithToolCalls(message, { keepReasoning, parseArguments: options.parseArguments }) +
        "<|im_end|>\n";
    } else if (message.role === "tool") {
      if (i === 0 || messages[i - 1].role !== "tool") out += "<|im_start|>user";
      out += "\n<tool_response>\n" + (message.content ?? "") + "\n</tool_response>";
      if (isLast || messages[i + 1].role !== "tool") out += "<|im_end|>\n";
    }
  });
  if (options.addGenerationPrompt ?? true) {
    out += "<|im_start|>assistant\n";
    if (options.enableThinking === false) out += "<think>\n\n</think>\n\n";
  }
  return out;
}
