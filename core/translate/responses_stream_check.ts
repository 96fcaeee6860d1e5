/**
 * Reassembly and structural checks for Responses event streams: the response a client
 * would build from the events, and a list of protocol violations (sequence numbers,
 * item lifecycle, terminal event) found by the stream guard. The neuron's tests run its own
 * streams through {@linkcode checkResponsesStream}.
 *
 * @module
 */
import type { ResponsesOutputItem, ResponsesResponse } from "../responses/response.ts";
import { RESPONSES_TERMINAL_EVENTS, type ResponsesStreamEvent } from "../responses/stream_events.ts";
import { _applyItemEvent } from "./_responses_items.ts";
import { ResponsesStreamGuard } from "./responses_stream_guard.ts";
import { guardViolations } from "./stream_guard.ts";

/**
 * Rebuilds the final response from the events: the terminal event's response object
 * with `output` rebuilt from `output_item.added`, the text / reasoning / argument deltas
 * and each item's `done` status. Returns null without a terminal event.
 */
export function reassembleResponsesStream(events: readonly ResponsesStreamEvent[]): ResponsesResponse | null {
  const items: ResponsesOutputItem[] = [];
  let terminal: ResponsesResponse | null = null;
  for (const event of events) {
    _applyItemEvent(items, event);
    if (RESPONSES_TERMINAL_EVENTS.includes(event.type)) {
      terminal = structuredClone((event as { response: ResponsesResponse }).response);
    }
  }
  if (!terminal) return null;
  terminal.output = items;
  return terminal;
}

/**
 * Lists protocol violations in a Responses event stream as `rule: detail` (empty when
 * well-formed): the events run through a {@linkcode ResponsesStreamGuard}, so the offline
 * check and the gateway's live guard are one grammar (see `RESPONSES_STREAM_RULES`).
 */
export function checkResponsesStream(events: readonly ResponsesStreamEvent[]): string[] {
  return guardViolations(new ResponsesStreamGuard(), events);
}
