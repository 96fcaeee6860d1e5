// Private helpers shared by the stream translators and the chunk accumulator, so that the
// streamed and non-streamed translations make identical decisions.
import type { ChatDelta } from "../openai/chat_chunk.ts";

/** Reasoning text of a delta: `reasoning_content`, or vLLM's newer `reasoning`. */
export function _deltaReasoning(delta: ChatDelta | undefined): string {
  if (!delta) return "";
  if (typeof delta.reasoning_content === "string") return delta.reasoning_content;
  return typeof delta.reasoning === "string" ? delta.reasoning : "";
}

/** The matched stop string reported vLLM-style as `stop_reason` on a choice, if any. */
export function _matchedStop(choice: object): string | null {
  const value = (choice as Record<string, unknown>).stop_reason;
  return typeof value === "string" && value.length > 0 ? value : null;
}

/** Id for a tool call that arrived without one: stable for a given response and index. */
export function _fallbackToolCallId(responseId: string, index: number): string {
  return `call_${responseId.replace(/[^A-Za-z0-9]/g, "").slice(-24)}_${index}`;
}

/**
 * The arguments object of a tool call: `""` (a parameterless call) is `{}`; otherwise
 * the text must be a JSON object. Returns null for anything else (truncated or invalid).
 */
export function _parseToolArguments(text: string): Record<string, unknown> | null {
  if (text.trim() === "") return {};
  try {
    const value = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? value as Record<string, unknown>
      : null;
  } catch {
    return null;
  }
}

/** Reasoning text of a non-streamed message: `reasoning_content`, or vLLM's `reasoning`. */
export function _messageReasoning(
  message: { reasoning_content?: unknown; reasoning?: unknown } | undefined,
): string {
  if (!message) return "";
  if (typeof message.reasoning_content === "string") return message.reasoning_content;
  return typeof message.reasoning === "string" ? message.reasoning : "";
}
