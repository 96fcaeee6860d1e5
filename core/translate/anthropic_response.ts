/**
 * Chat-completions response → Anthropic Messages response: reasoning becomes a thinking
 * block, text a text block, tool calls tool_use blocks with `toolu_…` ids (the original
 * dropped them), with the stop reason and usage mapped.
 *
 * @module
 */
import type { AnthropicMessage, AnthropicResponseBlock } from "../anthropic/response.ts";
import type { ChatCompletion } from "../openai/chat_response.ts";
import { chatContentText } from "../openai/chat_message.ts";
import { _matchedStop, _messageReasoning, _parseToolArguments } from "./_delta.ts";
import { chatFinishToAnthropicStop } from "./stop_reason.ts";
import { chatUsageToAnthropic } from "./usage.ts";

/** The Anthropic message id for an upstream chat id (`msg_` + id, unless already prefixed). */
export function anthropicMessageId(chatId: string): string {
  return chatId.startsWith("msg_") ? chatId : `msg_${chatId}`;
}

/**
 * The Anthropic tool-use id for a chat tool-call id: `toolu_…`, as Anthropic clients expect
 * (`call_x` → `toolu_x`; an id already `toolu_…` is kept; other characters than
 * `[A-Za-z0-9_-]` are dropped). Stable, so a streamed and a whole answer agree.
 *
 * @example
 * ```ts
 * import { anthropicToolUseId } from "@cortex/core/translate";
 * anthropicToolUseId("call_9f2c_0"); // "toolu_9f2c_0"
 * ```
 */
export function anthropicToolUseId(chatId: string): string {
  if (/^toolu_[A-Za-z0-9_-]+$/.test(chatId)) return chatId;
  const rest = chatId.replace(/^call_/, "").replace(/[^A-Za-z0-9_-]/g, "");
  return `toolu_${rest || "0"}`;
}

/** Options of {@linkcode chatToAnthropicResponse}. */
export interface AnthropicResponseOptions {
  /** Model name to report (default: the upstream's). */
  model?: string;
}

/**
 * Chat completion → Anthropic message (pure). Uses choice 0. Blocks in order: thinking,
 * text, tool_use. `stop_reason` is `tool_use` exactly when a complete tool call exists.
 *
 * @example
 * ```ts
 * import { chatToAnthropicResponse } from "@cortex/core/translate";
 * const message = chatToAnthropicResponse({
 *   id: "c1", object: "chat.completion", created: 0, model: "m",
 *   choices: [{ index: 0, finish_reason: "tool_calls", message: { role: "assistant", content: null,
 *     tool_calls: [{ id: "call_1", type: "function", function: { name: "ls", arguments: '{"path":"."}' } }] } }],
 * });
 * message.content; // [{type: "tool_use", id: "toolu_1", name: "ls", input: {path: "."}}]
 * message.stop_reason; // "tool_use"
 * ```
 */
export function chatToAnthropicResponse(
  completion: ChatCompletion,
  options: AnthropicResponseOptions = {},
): AnthropicMessage {
  const choice = completion.choices[0];
  const content: AnthropicResponseBlock[] = [];
  let allToolsComplete = true;
  let toolCount = 0;
  if (choice) {
    const message = choice.message;
    const reasoning = _messageReasoning(message);
    if (reasoning.length > 0) content.push({ type: "thinking", thinking: reasoning, signature: "" });
    const text = chatContentText(message.content);
    if (text.length > 0) content.push({ type: "text", text });
    for (const call of message.tool_calls ?? []) {
      if (!call.function.name) continue;
      const input = _parseToolArguments(call.function.arguments);
      if (input === null) allToolsComplete = false;
      toolCount++;
      content.push({
        type: "tool_use",
        id: anthropicToolUseId(call.id),
        name: call.function.name,
        input: input ?? {},
      });
    }
  }
  const matched = choice ? _matchedStop(choice) : null;
  const stopReason = chatFinishToAnthropicStop(choice?.finish_reason, {
    hasToolCalls: toolCount > 0 && allToolsComplete,
    matchedStopSequence: matched,
  });
  return {
    id: anthropicMessageId(completion.id),
    type: "message",
    role: "assistant",
    content,
    model: options.model ?? completion.model,
    stop_reason: stopReason,
    stop_sequence: stopReason === "stop_sequence" ? matched : null,
    usage: chatUsageToAnthropic(completion.usage),
  };
}
