/**
 * How Qwen3's official template splits an assistant message into content and reasoning.
 * @module
 */

import type { AssistantMessage } from "./types.ts";

/** Python's `str.strip(chars)` family for a single character. */
export function _stripChar(text: string, char: string, left: boolean, right: boolean): string {
  let start = 0;
  let end = text.length;
  if (left) { while (start < end && text[start] === char) start++; }
  if (right) { while (end > start && text[end - 1] === char) end--; }
  return text.slice(start, end);
}

/** The template's `content` / `reasoning_content` split of an assistant message. */
export function _splitAssistantContent(message: AssistantMessage): { content: string; reasoning: string } {
  let content = message.content ?? "";
  let reasoning = "";
  if (message.reasoning_content !== undefined && message.reasoning_content !== null) {
    reasoning = message.reasoning_content;
  } else if (content.includes("</think>")) {
    const parts = content.split("</think>");
    const beforeClose = _stripChar(parts[0], "\n", false, true).split("<think>");
    reasoning = _stripChar(beforeClose[beforeClose.length - 1], "\n", true, false);
    content = _stripChar(parts[parts.length - 1], "\n", true, false);
  }
  return { content, reasoning };
}
