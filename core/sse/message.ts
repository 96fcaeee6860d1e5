/**
 * The one server-sent-events message type, shared by {@linkcode encodeSse} and
 * {@linkcode SseParser} so that what one writes the other reads back unchanged.
 *
 * @module
 */

/**
 * One SSE message (a block of field lines ended by a blank line). Absent fields are left
 * out, not set to `undefined`: `parse(encode(m))` deep-equals `m`.
 *
 * @example
 * ```ts
 * import type { SseMessage } from "@cortex/core/sse";
 * const keepAlive: SseMessage = { comment: "keep-alive" };
 * const chunk: SseMessage = { data: '{"choices":[]}' };
 * const named: SseMessage = { event: "message_stop", data: '{"type":"message_stop"}' };
 * ```
 */
export interface SseMessage {
  /** Comment lines (`: text`) joined with `\n`; proxies forward them as keep-alives. */
  comment?: string;
  /** The `event:` name (no line breaks). */
  event?: string;
  /** The `data:` lines joined with `\n`. */
  data?: string;
  /** The `id:` value (no line breaks). */
  id?: string;
  /** The `retry:` reconnection delay in ms (a non-negative integer). */
  retry?: number;
}
