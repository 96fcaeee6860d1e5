/**
 * Reassembly and structural checks for Responses event streams: the response a client
 * would build from the events, and a list of protocol violations (sequence numbers,
 * item lifecycle, terminal event). The neuron's tests run its own streams through
 * {@linkcode checkResponsesStream}.
 *
 * @module
 */
import type { ResponsesOutputItem, ResponsesResponse } from "../responses/response.ts";
import { RESPONSES_TERMINAL_EVENTS, type ResponsesStreamEvent } from "../responses/stream_events.ts";

/**
 * Rebuilds the final response from the events: the terminal event's response object
 * with `output` rebuilt from `output_item.added`, the text / reasoning / argument deltas
 * and each item's `done` status. Returns null without a terminal event.
 */
export function reassembleResponsesStream(events: readonly ResponsesStreamEvent[]): ResponsesResponse | null {
  const items: ResponsesOutputItem[] = [];
  let terminal: ResponsesResponse | null = null;
  for (const event of events) {
    switch (event.type) {
      case "response.output_item.added":
        items[event.output_index] = structuredClone(event.item);
        break;
      case "response.output_item.done": {
        const item = items[event.output_index];
        if (item && event.item.status) item.status = event.item.status as never;
        break;
      }
      case "response.content_part.added": {
        const item = items[event.output_index];
        if (item?.type === "message") item.content[event.content_index] = structuredClone(event.part);
        break;
      }
      case "response.output_text.delta": {
        const item = items[event.output_index];
        const part = item?.type === "message" ? item.content[event.content_index] : undefined;
        if (part?.type === "output_text") part.text += event.delta;
        break;
      }
      case "response.reasoning_summary_part.added": {
        const item = items[event.output_index];
        if (item?.type === "reasoning") item.summary[event.summary_index] = structuredClone(event.part);
        break;
      }
      case "response.reasoning_summary_text.delta": {
        const item = items[event.output_index];
        if (item?.type === "reasoning") item.summary[event.summary_index].text += event.delta;
        break;
      }
      case "response.function_call_arguments.delta": {
        const item = items[event.output_index];
        if (item?.type === "function_call") item.arguments += event.delta;
        break;
      }
      case "response.completed":
      case "response.incomplete":
      case "response.failed":
        terminal = structuredClone(event.response);
        break;
    }
  }
  if (!terminal) return null;
  terminal.output = items;
  return terminal;
}

interface _ItemState {
  id: string;
  type: string;
  done: boolean;
  partOpen: boolean;
}

/**
 * Lists protocol violations in a Responses event stream (empty when well-formed):
 * sequence numbers 0, 1, 2, …; `response.created` then `response.in_progress` first;
 * items added at consecutive output indexes, each done exactly once and before the end;
 * deltas only into open items and never empty; exactly one terminal event, last, whose
 * status matches its type and whose output equals the items' final state.
 */
export function checkResponsesStream(events: readonly ResponsesStreamEvent[]): string[] {
  const problems: string[] = [];
  const at = (i: number, text: string) => problems.push(`event ${i} (${events[i]?.type}): ${text}`);
  if (events.length === 0) return ["no events"];
  if (events[0].type !== "response.created") at(0, "the first event is not response.created");
  if (events[1]?.type !== "response.in_progress") at(1, "the second event is not response.in_progress");
  const items: _ItemState[] = [];
  const doneItems: ResponsesOutputItem[] = [];
  let terminals = 0;
  events.forEach((event, i) => {
    if (event.sequence_number !== i) at(i, `sequence_number ${event.sequence_number}, expected ${i}`);
    if (terminals > 0) at(i, "event after the terminal event");
    const open = (outputIndex: number, itemId?: string): _ItemState | null => {
      const item = items[outputIndex];
      if (!item) {
        at(i, `output_index ${outputIndex} was never added`);
        return null;
      }
      if (item.done) at(i, `output_index ${outputIndex} is already done`);
      if (itemId !== undefined && itemId !== item.id) at(i, `item_id ${itemId} does not match ${item.id}`);
      return item;
    };
    switch (event.type) {
      case "response.output_item.added":
        if (event.output_index !== items.length) {
          at(i, `output_index ${event.output_index}, expected ${items.length}`);
        }
        items[event.output_index] = {
          id: event.item.id,
          type: event.item.type,
          done: false,
          partOpen: false,
        };
        break;
      case "response.output_item.done": {
        const item = open(event.output_index, event.item.id);
        if (item) item.done = true;
        if (event.item.status === "in_progress") at(i, "done item still in_progress");
        doneItems[event.output_index] = event.item;
        break;
      }
      case "response.content_part.added":
      case "response.reasoning_summary_part.added": {
        const item = open(event.output_index, event.item_id);
        if (item) item.partOpen = true;
        break;
      }
      case "response.content_part.done":
      case "response.reasoning_summary_part.done": {
        const item = open(event.output_index, event.item_id);
        if (item && !item.partOpen) at(i, "part closed without being opened");
        if (item) item.partOpen = false;
        break;
      }
      case "response.output_text.delta":
      case "response.reasoning_summary_text.delta":
      case "response.function_call_arguments.delta": {
        const item = open(event.output_index, event.item_id);
        if (event.delta.length === 0) at(i, "empty delta");
        if (item && event.type !== "response.function_call_arguments.delta" && !item.partOpen) {
          at(i, "delta outside an open part");
        }
        break;
      }
      case "response.output_text.done":
      case "response.reasoning_summary_text.done":
      case "response.function_call_arguments.done":
        open(event.output_index, event.item_id);
        break;
      default:
        if (RESPONSES_TERMINAL_EVENTS.includes(event.type)) {
          terminals++;
          const want = event.type.slice("response.".length);
          if (event.response.status !== want) at(i, `status ${event.response.status} in ${event.type}`);
          if (event.type === "response.failed" && !event.response.error) at(i, "failed without error");
          if (JSON.stringify(event.response.output) !== JSON.stringify(doneItems)) {
            at(i, "terminal output differs from the items as done");
          }
        }
    }
  });
  if (terminals !== 1) problems.push(`${terminals} terminal events, expected exactly one`);
  else if (!RESPONSES_TERMINAL_EVENTS.includes(events[events.length - 1].type)) {
    problems.push("the terminal event is not last");
  }
  items.forEach((item, index) => {
    if (!item.done) problems.push(`output_index ${index} (${item.type}) was added but never done`);
  });
  return problems;
}
