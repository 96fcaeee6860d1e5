/**
 * The incremental conformance guard for OpenAI Responses event streams: it checks each event
 * against the grammar (`response.created` then `response.in_progress`; items added at
 * consecutive output indexes, each done exactly once before the end; deltas only into open
 * items and parts, never empty; exactly one terminal event, last, whose status matches its
 * type and whose output equals the items as done) and repairs what is safe to repair, else
 * ends the stream with `response.failed`. The guard numbers the events it emits itself
 * (`sequence_number` 0, 1, 2, …), since repairs insert and drop events.
 *
 * @module
 */
import type { CortexError } from "../errors/cortex_error.ts";
import type { ResponsesOutputItem, ResponsesResponse } from "../responses/response.ts";
import { RESPONSES_TERMINAL_EVENTS, type ResponsesStreamEvent } from "../responses/stream_events.ts";
import { _ViolationLog } from "./_guard_log.ts";
import { _applyItemEvent } from "./_responses_items.ts";
import { responsesShell } from "./responses_response.ts";
import type { ResponsesStreamEventSink } from "./responses_stream.ts";
import {
  type StreamGuard,
  type StreamGuardOptions,
  type StreamGuardState,
  type StreamViolation,
  streamViolationError,
} from "./stream_guard.ts";

/** The rules of the Responses stream grammar, by stable name, with what the guard does. */
export const RESPONSES_STREAM_RULES: Readonly<Record<string, string>> = Object.freeze({
  sequence_number: "sequence numbers are not 0, 1, 2, … → renumbered",
  first_event: "the first event is not response.created → ended",
  in_progress_missing: "the second event is not response.in_progress → inserted",
  lifecycle_twice: "a second response.created or response.in_progress → dropped",
  item_index: "an item added at an output_index other than the next one → ended",
  item_unknown: "an event for an output_index never added → ended",
  item_closed: "a part or delta for an item already done → ended",
  item_id: "an event's item_id differs from its item's id → ended",
  item_done_twice: "a second output_item.done for an item → dropped",
  done_in_progress: "output_item.done with status in_progress → status completed",
  empty_delta: "an empty text, reasoning or arguments delta → dropped",
  delta_outside_part: "a text or reasoning delta outside an open part → ended",
  part_not_open: "a part closed without being opened → dropped",
  item_not_done: "the terminal event arrives while items are open → output_item.done inserted",
  terminal_status: "the terminal response's status differs from its event type → rewritten",
  failed_without_error: "response.failed without an error → error added",
  terminal_output: "the terminal response's output differs from the items as done → replaced",
  event_after_end: "an event after the terminal event → dropped",
  missing_terminal:
    "the stream ends with every item done but no terminal event → response.completed appended",
  truncated: "the stream ends with items open and no terminal event → ended",
});

/** Options of {@linkcode ResponsesStreamGuard}. */
export interface ResponsesStreamGuardOptions extends StreamGuardOptions {
  /** The model named in a response the guard has to make up (a stream that never started). */
  model?: string;
}

interface _Item {
  id: string;
  done: boolean;
  partOpen: boolean;
}

type _Emit = ResponsesStreamEventSink;
type _Unnumbered = ResponsesStreamEvent extends infer E
  ? E extends unknown ? Omit<E, "sequence_number"> : never
  : never;

/** The Responses stream guard (see the module doc and {@linkcode RESPONSES_STREAM_RULES}). */
export class ResponsesStreamGuard implements StreamGuard<ResponsesStreamEvent> {
  readonly #log: _ViolationLog;
  readonly #model: string;
  #state: StreamGuardState = "open";
  #seqIn = 0;
  #seqOut = 0;
  #base: ResponsesResponse | null = null;
  #inProgress = false;
  #items: _Item[] = [];
  #built: ResponsesOutputItem[] = [];
  #done: ResponsesOutputItem[] = [];

  /** Creates a guard for one stream. */
  constructor(options: ResponsesStreamGuardOptions = {}) {
    this.#log = new _ViolationLog(options);
    this.#model = options.model ?? "";
  }

  /** Where the stream stands. */
  get state(): StreamGuardState {
    return this.#state;
  }

  /** Every violation seen so far. */
  get violations(): readonly StreamViolation[] {
    return this.#log.list;
  }

  /** Checks one event and emits what the client should get for it (renumbered). */
  push(event: ResponsesStreamEvent, emit: ResponsesStreamEventSink): void {
    if (this.#state === "cut") return;
    if (this.#state === "closed") {
      this.#log.add("event_after_end", `${event.type} after the terminal event`, "repaired");
      return;
    }
    if (event.sequence_number !== this.#seqIn) {
      this.#log.add(
        "sequence_number",
        `sequence_number ${event.sequence_number}, expected ${this.#seqIn}`,
        "repaired",
      );
    }
    this.#seqIn = event.sequence_number + 1;
    if (this.#base === null) {
      if (event.type !== "response.created") {
        this.#cut("first_event", `the stream starts with ${event.type}`, emit);
        return;
      }
      this.#base = structuredClone(event.response);
      this.#emit(emit, event);
      return;
    }
    if (!this.#inProgress) {
      this.#inProgress = true;
      if (event.type === "response.in_progress") {
        this.#emit(emit, event);
        return;
      }
      this.#log.add("in_progress_missing", `${event.type} where response.in_progress belongs`, "repaired");
      this.#emit(emit, { type: "response.in_progress", response: structuredClone(this.#base) });
    }
    if (event.type === "response.created" || event.type === "response.in_progress") {
      this.#log.add("lifecycle_twice", `a second ${event.type}`, "repaired");
      return;
    }
    if (RESPONSES_TERMINAL_EVENTS.includes(event.type)) {
      this.#terminal(event as Extract<ResponsesStreamEvent, { response: ResponsesResponse }>, emit);
      return;
    }
    switch (event.type) {
      case "response.output_item.added":
        if (event.output_index !== this.#items.length) {
          this.#cut("item_index", `output_index ${event.output_index}, expected ${this.#items.length}`, emit);
          return;
        }
        this.#items.push({ id: event.item.id, done: false, partOpen: false });
        break;
      case "response.output_item.done": {
        const item = this.#items[event.output_index];
        if (item?.done) {
          this.#log.add("item_done_twice", `output_index ${event.output_index} done twice`, "repaired");
          return;
        }
        const open = this.#item(event.output_index, event.item.id, emit);
        if (!open) return;
        if (event.item.status === "in_progress") {
          this.#log.add(
            "done_in_progress",
            `output_index ${event.output_index} done while in_progress`,
            "repaired",
          );
          event = { ...event, item: { ...event.item, status: "completed" } };
        }
        open.done = true;
        this.#done[event.output_index] = event.item;
        break;
      }
      case "response.content_part.added":
      case "response.reasoning_summary_part.added": {
        const item = this.#item(event.output_index, event.item_id, emit);
        if (!item) return;
        item.partOpen = true;
        break;
      }
      case "response.content_part.done":
      case "response.reasoning_summary_part.done": {
        const item = this.#item(event.output_index, event.item_id, emit);
        if (!item) return;
        if (!item.partOpen) {
          this.#log.add("part_not_open", `${event.type} for a part never opened`, "repaired");
          return;
        }
        item.partOpen = false;
        break;
      }
      case "response.output_text.delta":
      case "response.reasoning_summary_text.delta":
      case "response.function_call_arguments.delta": {
        const item = this.#item(event.output_index, event.item_id, emit);
        if (!item) return;
        if (event.delta.length === 0) {
          this.#log.add("empty_delta", `empty ${event.type}`, "repaired");
          return;
        }
        if (event.type !== "response.function_call_arguments.delta" && !item.partOpen) {
          this.#cut("delta_outside_part", `${event.type} outside an open part`, emit);
          return;
        }
        break;
      }
      case "response.output_text.done":
      case "response.reasoning_summary_text.done":
      case "response.function_call_arguments.done":
        if (!this.#item(event.output_index, event.item_id, emit)) return;
        break;
    }
    _applyItemEvent(this.#built, event);
    this.#emit(emit, event);
  }

  /** The producer ended: appends a missing `response.completed` when every item is done, else ends with `response.failed`. */
  end(emit: ResponsesStreamEventSink): void {
    if (this.#state !== "open") return;
    if (this.#base === null) {
      this.#cut("truncated", "no events", emit);
      return;
    }
    const open = this.#items.findIndex((item) => !item.done);
    if (open !== -1) {
      this.#cut("truncated", `the stream ended with output_index ${open} open`, emit);
      return;
    }
    this.#log.add("missing_terminal", "the stream ended without a terminal event", "repaired");
    if (!this.#inProgress) {
      this.#inProgress = true;
      this.#emit(emit, { type: "response.in_progress", response: structuredClone(this.#base) });
    }
    this.#state = "closed";
    this.#emit(emit, {
      type: "response.completed",
      response: { ...structuredClone(this.#base), status: "completed", output: structuredClone(this.#done) },
    });
  }

  /** The producer failed: closes open items and emits `response.failed` unless the stream is over. */
  fail(error: CortexError, emit: ResponsesStreamEventSink): void {
    if (this.#state !== "open") return;
    this.#failWith(error, emit);
    this.#state = "closed";
  }

  #terminal(event: Extract<ResponsesStreamEvent, { response: ResponsesResponse }>, emit: _Emit): void {
    const status = event.type.slice("response.".length);
    this.#closeOpenItems(status === "completed" ? "completed" : "incomplete", emit, true);
    const response = structuredClone(event.response);
    if (response.status !== status) {
      this.#log.add("terminal_status", `status ${response.status} in ${event.type}`, "repaired");
      response.status = status as ResponsesResponse["status"];
    }
    if (event.type === "response.failed" && !response.error) {
      this.#log.add("failed_without_error", "response.failed without an error", "repaired");
      response.error = { code: "server_error", message: "the response failed" };
    }
    if (JSON.stringify(response.output) !== JSON.stringify(this.#done)) {
      this.#log.add("terminal_output", "the terminal output differs from the items as done", "repaired");
      response.output = structuredClone(this.#done);
    }
    this.#state = "closed";
    this.#emit(emit, { ...event, response });
  }

  // The open item at `index` (checking its id), or null after ending the stream.
  #item(index: number, itemId: string | undefined, emit: _Emit): _Item | null {
    const item = this.#items[index];
    if (!item) {
      this.#cut("item_unknown", `output_index ${index} was never added`, emit);
      return null;
    }
    if (item.done) {
      this.#cut("item_closed", `output_index ${index} is already done`, emit);
      return null;
    }
    if (itemId !== undefined && itemId !== item.id) {
      this.#cut("item_id", `item_id ${itemId} does not match ${item.id}`, emit);
      return null;
    }
    return item;
  }

  // Emits output_item.done for every open item, as the client has built it so far.
  #closeOpenItems(status: "completed" | "incomplete", emit: _Emit, violation: boolean): void {
    this.#items.forEach((item, index) => {
      if (item.done) return;
      if (violation) this.#log.add("item_not_done", `output_index ${index} was never done`, "repaired");
      item.done = true;
      const built = structuredClone(this.#built[index]);
      built.status = status;
      this.#done[index] = built;
      this.#emit(emit, { type: "response.output_item.done", output_index: index, item: built });
    });
  }

  #cut(rule: string, detail: string, emit: _Emit): void {
    const violation = this.#log.add(rule, detail, "ended");
    this.#failWith(streamViolationError("Responses", violation), emit);
    this.#state = "cut";
  }

  #failWith(error: CortexError, emit: _Emit): void {
    if (this.#base === null) {
      this.#base = responsesShell(
        { id: "resp_failed", createdAt: Math.floor(Date.now() / 1000), model: this.#model },
        "in_progress",
        [],
      );
      this.#emit(emit, { type: "response.created", response: structuredClone(this.#base) });
    }
    if (!this.#inProgress) {
      this.#inProgress = true;
      this.#emit(emit, { type: "response.in_progress", response: structuredClone(this.#base) });
    }
    this.#closeOpenItems("incomplete", emit, false);
    const response: ResponsesResponse = {
      ...structuredClone(this.#base),
      status: "failed",
      output: structuredClone(this.#done),
      error: { code: String(error.code), message: error.message },
    };
    this.#emit(emit, { type: "response.failed", response });
  }

  #emit(emit: _Emit, event: _Unnumbered | ResponsesStreamEvent): void {
    emit({ ...event, sequence_number: this.#seqOut++ } as ResponsesStreamEvent);
  }
}
