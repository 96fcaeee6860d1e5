/**
 * Server-sent events framing: a decoder that splits a byte/text stream into messages
 * (handling `\n`, `\r\n` and `\r` line ends, multi-line `data:`, comments), a decoder of
 * chat-completions chunk streams (up to `data: [DONE]`), and encoders for named events.
 *
 * @module
 */
import { ChatCompletionChunkSchema } from "../openai/chat_chunk.ts";
import type { ChatCompletionChunk } from "../openai/chat_chunk.ts";

/** One SSE message. A comment line (`: keep-alive`) arrives as a message with `comment` set and no data. */
export interface SseMessage {
  /** `event:` field, or null. */
  event: string | null;
  /** `data:` lines joined by `\n`, or null for a comment-only message. */
  data: string | null;
  /** `id:` field, or null. */
  id: string | null;
  /** Comment text (after the `:`), or null. */
  comment: string | null;
}

/**
 * Splits text into SSE messages. Blank lines end a message; comments are surfaced so a
 * proxy can forward keep-alives.
 */
export class SseDecoderStream extends TransformStream<string, SseMessage> {
  /** Creates the decoder. */
  constructor() {
    let buffer = "";
    let event: string | null = null;
    let id: string | null = null;
    let data: string[] = [];
    const line = (text: string, controller: TransformStreamDefaultController<SseMessage>) => {
      if (text === "") {
        if (data.length > 0) controller.enqueue({ event, data: data.join("\n"), id, comment: null });
        event = null;
        data = [];
        return;
      }
      if (text.startsWith(":")) {
        controller.enqueue({ event: null, data: null, id: null, comment: text.slice(1).trimStart() });
        return;
      }
      const colon = text.indexOf(":");
      const field = colon === -1 ? text : text.slice(0, colon);
      let value = colon === -1 ? "" : text.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") data.push(value);
      else if (field === "event") event = value;
      else if (field === "id") id = value;
    };
    super({
      transform(chunk, controller) {
        buffer += chunk;
        for (;;) {
          const match = /\r\n|\r|\n/.exec(buffer);
          if (!match) break;
          // A lone trailing \r may be the first half of \r\n: wait for more input.
          if (match[0] === "\r" && match.index === buffer.length - 1) break;
          line(buffer.slice(0, match.index), controller);
          buffer = buffer.slice(match.index + match[0].length);
        }
      },
      flush(controller) {
        if (buffer.length > 0) line(buffer.replace(/\r$/, ""), controller);
        line("", controller);
      },
    });
  }
}

/**
 * Decodes an upstream chat-completions SSE body into chunks, stopping at `data: [DONE]`.
 * Frames that are not valid chunks are skipped (lenient, like the original); comments
 * are dropped here — use {@linkcode SseDecoderStream} directly to forward them.
 */
export function decodeChatCompletionStream(
  body: ReadableStream<Uint8Array>,
): ReadableStream<ChatCompletionChunk> {
  let finished = false;
  return body
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new SseDecoderStream())
    .pipeThrough(
      new TransformStream<SseMessage, ChatCompletionChunk>({
        transform(message, controller) {
          if (finished || message.data === null) return;
          if (message.data.trim() === "[DONE]") {
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

/** Encodes a named event: `event: <type>\ndata: <json>\n\n` (Anthropic and Responses framing). */
export function encodeSseEvent(event: { type: string }): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** Encodes an unnamed data frame: `data: <json>\n\n` (chat-completions framing). */
export function encodeSseData(data: unknown): string {
  return `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;
}

/** Encodes a comment frame (keep-alive): `: <text>\n\n`. */
export function encodeSseComment(text = "keep-alive"): string {
  return `: ${text}\n\n`;
}
