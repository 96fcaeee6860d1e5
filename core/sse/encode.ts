/**
 * Writing server-sent events: one {@linkcode SseMessage} becomes its field lines and a
 * blank line. Every cortex server (gateway relays, neuron streams, test doubles) writes
 * its events here, so the framing exists once.
 *
 * @module
 */
import type { SseMessage } from "./message.ts";

const _LINE_BREAK = /\r\n|\r|\n/;

/**
 * Encodes one message: comment lines (`: …`), then `event:`, `data:` (one line per line of
 * the payload), `id:` and `retry:`, then a blank line. A line break in `data` or `comment`
 * starts a new line of that field (and is read back as `\n`).
 *
 * @throws {TypeError} When the message has no field, `event` or `id` holds a line break, or
 * `retry` is not a non-negative integer: such a message has no faithful encoding.
 *
 * @example
 * ```ts
 * import { encodeSse } from "@cortex/core/sse";
 * encodeSse({ data: "[DONE]" }); // "data: [DONE]\n\n"
 * encodeSse({ event: "ping", data: '{"type":"ping"}' }); // 'event: ping\ndata: {"type":"ping"}\n\n'
 * encodeSse({ comment: "keep-alive" }); // ": keep-alive\n\n"
 * ```
 */
export function encodeSse(message: SseMessage): string {
  const { comment, event, data, id, retry } = message;
  let out = "";
  if (comment !== undefined) { for (const line of comment.split(_LINE_BREAK)) out += `: ${line}\n`; }
  if (event !== undefined) out += `event: ${_singleLine(event, "event")}\n`;
  if (data !== undefined) { for (const line of data.split(_LINE_BREAK)) out += `data: ${line}\n`; }
  if (id !== undefined) out += `id: ${_singleLine(id, "id")}\n`;
  if (retry !== undefined) {
    if (!Number.isSafeInteger(retry) || retry < 0) {
      throw new TypeError(`SSE retry must be a non-negative integer, got ${retry}`);
    }
    out += `retry: ${retry}\n`;
  }
  if (out === "") throw new TypeError("an SSE message needs at least one field");
  return out + "\n";
}

function _singleLine(value: string, field: string): string {
  if (_LINE_BREAK.test(value)) {
    throw new TypeError(`SSE ${field} cannot hold a line break: ${JSON.stringify(value)}`);
  }
  return value;
}
