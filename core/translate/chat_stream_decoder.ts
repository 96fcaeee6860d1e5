/**
 * Reading an upstream chat-completions stream: its server-sent events (`@cortex/core/sse`)
 * become chunks, up to `data: [DONE]`.
 *
 * @module
 */
import { ChatCompletionChunkSchema } from "../openai/chat_chunk.ts";
import type { ChatCompletionChunk } from "../openai/chat_chunk.ts";
import { SseDecoderStream } from "../sse/parse.ts";
import type { SseMessage } from "../sse/message.ts";
import { SSE_DONE } from "./chat_stream_guard.ts";

/**
 * Decodes an upstream chat-completions SSE body into chunks, stopping at `data: [DONE]`.
 * Frames that are not valid chunks are skipped (lenient, like the original); comments
 * are dropped here — read the body with `SseDecoderStream` (`@cortex/core/sse`) to forward them.
 *
 * @example
 * ```ts
 * import { decodeChatCompletionStream } from "@cortex/core/translate";
 * const body = new Response('data: {"id":"c","object":"chat.completion.chunk","created":1,' +
 *   '"model":"m","choices":[]}\n\ndata: [DONE]\n\n').body!;
 * for await (const chunk of decodeChatCompletionStream(body)) console.log(chunk.id); // "c"
 * ```
 */
export function decodeChatCompletionStream(
  body: ReadableStream<Uint8Array>,
): ReadableStream<ChatCompletionChunk> {
  let finished = false;
  return body
    .pipeThrough(new SseDecoderStream())
    .pipeThrough(
      new TransformStream<SseMessage, ChatCompletionChunk>({
        transform(message, controller) {
          if (finished || message.data === undefined) return;
          if (message.data.trim() === SSE_DONE) {
            finished = true;
            return;
          }
          try {
            const parsed = ChatCompletionChunkSchema.safeParse(JSON.parse(message.data));
            if (parsed.success) controller.enqueue(parsed.data);
          } catch {
            // not JSON: skipped
          }
        },
      }),
    );
}
