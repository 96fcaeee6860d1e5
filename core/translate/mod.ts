/**
 * Pure translation between dialects, with no I/O: Anthropic Messages and OpenAI
 * Responses requests → chat-completions requests; chat-completions responses and streams
 * → Anthropic messages / events and Responses objects / events; stop reasons and usage
 * in every direction; reasoning ⇄ thinking blocks ⇄ reasoning items. Also a chat-stream
 * decoder (over `@cortex/core/sse`), a chunk accumulator, and the stream-conformance guards
 * of the three dialects (the gateway runs every outgoing stream through one; the property
 * tests use them as checkers).
 *
 * @example
 * ```ts
 * import { anthropicToChatRequest, ChatToAnthropicStream, decodeChatCompletionStream } from "@cortex/core/translate";
 * import { encodeSse } from "@cortex/core/sse";
 * import type { MessagesRequest } from "@cortex/core/anthropic";
 * declare const request: MessagesRequest;
 * const upstream = await fetch("http://127.0.0.1:13131/v1/chat/completions", {
 *   method: "POST",
 *   headers: { "content-type": "application/json" },
 *   body: JSON.stringify(anthropicToChatRequest({ ...request, stream: true })),
 * });
 * const sse = decodeChatCompletionStream(upstream.body!)
 *   .pipeThrough(new ChatToAnthropicStream())
 *   .pipeThrough(new TransformStream({
 *     transform: (e, c) => c.enqueue(encodeSse({ event: e.type, data: JSON.stringify(e) })),
 *   }));
 * ```
 * @module
 */
export * from "./stop_reason.ts";
export * from "./usage.ts";
export * from "./stream_input.ts";
export * from "./chat_accumulator.ts";
export * from "./anthropic_request.ts";
export * from "./chat_to_anthropic_request.ts";
export * from "./anthropic_response.ts";
export * from "./anthropic_stream.ts";
export * from "./anthropic_stream_check.ts";
export * from "./responses_request.ts";
export * from "./responses_tools.ts";
export * from "./responses_response.ts";
export * from "./responses_stream.ts";
export * from "./responses_stream_check.ts";
export * from "./stream_guard.ts";
export * from "./anthropic_stream_guard.ts";
export * from "./responses_stream_guard.ts";
export * from "./chat_stream_guard.ts";
export * from "./chat_stream_decoder.ts";
export * from "../schema.ts";
