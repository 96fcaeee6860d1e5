/**
 * What the stream translators consume: chat-completions chunks, plus an explicit failure
 * marker the gateway writes when the upstream dies mid-stream, so that the client gets a
 * dialect-correct error instead of a silently truncated stream.
 *
 * @module
 */
import type { CortexError } from "../errors/cortex_error.ts";
import type { ChatCompletionChunk } from "../openai/chat_chunk.ts";

/** The upstream failed; the translator emits the dialect's error and ends. */
export interface ChatStreamFailure {
  /** Marker. */
  type: "error";
  /** What went wrong. */
  error: CortexError;
}

/** One item written into a stream translator. */
export type ChatStreamInput = ChatCompletionChunk | ChatStreamFailure;

/** True for the failure marker. */
export function isChatStreamFailure(item: ChatStreamInput): item is ChatStreamFailure {
  return (item as { type?: unknown }).type === "error" && "error" in item;
}
