/**
 * The incremental conformance guard for Anthropic Messages event streams: it checks each event
 * against the grammar (`message_start` first; blocks 0, 1, 2, … opened one at a time, each
 * closed once; deltas that match their block and are never empty; `message_delta` then
 * `message_stop`, or one final `error`; `stop_reason` `tool_use` exactly when a tool_use block
 * exists) and repairs what is safe to repair, else ends the stream with an `error` event.
 *
 * @module
 */
import type { AnthropicStreamEvent, ContentBlockStartEvent } from "../anthropic/stream_events.ts";
import type { CortexError } from "../errors/cortex_error.ts";
import { toAnthropicErrorBody } from "../errors/envelopes.ts";
import { _parseToolArguments } from "./_delta.ts";
import { _ViolationLog } from "./_guard_log.ts";
import {
  type StreamGuard,
  type StreamGuardOptions,
  type StreamGuardState,
  type StreamViolation,
  streamViolationError,
} from "./stream_guard.ts";

/** The rules of the Messages stream grammar, by stable name, with what the guard does. */
export const ANTHROPIC_STREAM_RULES: Readonly<Record<string, string>> = Object.freeze({
  first_event: "the first event is not message_start (or error) → ended",
  message_start_twice: "a second message_start → dropped",
  block_index: "a block opened with an index other than the next one → ended",
  block_not_closed:
    "a block still open at content_block_start, message_delta or error → content_block_stop inserted",
  block_after_message_delta: "a block opened after message_delta → ended",
  tool_input_not_empty: "a tool_use block starts with a non-empty input → ended",
  delta_outside_block: "a delta for a block that is not open → ended",
  delta_type: "a delta of the wrong kind for its block → ended",
  empty_delta: "an empty text, thinking or input_json delta → dropped",
  stop_outside_block: "content_block_stop for a block that is not open → dropped",
  tool_input_json: "a tool_use block's input is not a JSON object at message_delta → ended",
  message_delta_twice: "a second message_delta → dropped",
  stop_reason: "stop_reason is tool_use without a tool_use block, or not tool_use with one → rewritten",
  message_stop_without_delta: "message_stop before message_delta → ended",
  event_after_end: "an event after message_stop or error → dropped",
  missing_message_stop: "the stream ends after message_delta without message_stop → message_stop appended",
  truncated: "the stream ends before message_delta → ended",
});

/** The Messages stream guard (see the module doc and {@linkcode ANTHROPIC_STREAM_RULES}). */
export class AnthropicStreamGuard implements StreamGuard<AnthropicStreamEvent> {
  readonly #log: _ViolationLog;
  #state: StreamGuardState = "open";
  #started = false;
  #open: { index: number; type: string; json: string } | null = null;
  #nextIndex = 0;
  #toolBlocks = 0;
  #brokenTool: number | null = null;
  #sawMessageDelta = false;

  /** Creates a guard for one stream. */
  constructor(options: StreamGuardOptions = {}) {
    this.#log = new _ViolationLog(options);
  }

  /** Where the stream stands. */
  get state(): StreamGuardState {
    return this.#state;
  }

  /** Every violation seen so far. */
  get violations(): readonly StreamViolation[] {
    return this.#log.list;
  }

  /** Checks one event and emits what the client should get for it. */
  push(event: AnthropicStreamEvent, emit: (event: AnthropicStreamEvent) => void): void {
    if (this.#state === "cut") return;
    if (this.#state === "closed") {
      this.#log.add("event_after_end", `${event.type} after the end`, "repaired");
      return;
    }
    if (!this.#started && event.type !== "message_start" && event.type !== "error") {
      this.#cut("first_event", `the stream starts with ${event.type}`, emit);
      return;
    }
    switch (event.type) {
      case "message_start":
        if (this.#started) {
          this.#log.add("message_start_twice", "a second message_start", "repaired");
          return;
        }
        this.#started = true;
        emit(event);
        return;
      case "content_block_start":
        this.#blockStart(event, emit);
        return;
      case "content_block_delta": {
        const open = this.#open;
        if (!open || open.index !== event.index) {
          this.#cut("delta_outside_block", `delta for block ${event.index}, which is not open`, emit);
          return;
        }
        const d = event.delta;
        if (!(_deltaFor[open.type] ?? []).includes(d.type)) {
          this.#cut("delta_type", `${d.type} inside a ${open.type} block`, emit);
          return;
        }
        const payload = d.type === "text_delta"
          ? d.text
          : d.type === "thinking_delta"
          ? d.thinking
          : d.type === "input_json_delta"
          ? d.partial_json
          : null;
        if (payload !== null && payload.length === 0) {
          this.#log.add("empty_delta", `empty ${d.type} in block ${event.index}`, "repaired");
          return;
        }
        if (d.type === "input_json_delta") open.json += d.partial_json;
        emit(event);
        return;
      }
      case "content_block_stop":
        if (!this.#open || this.#open.index !== event.index) {
          this.#log.add("stop_outside_block", `stop for block ${event.index}, which is not open`, "repaired");
          return;
        }
        this.#closeBlock(emit);
        return;
      case "message_delta": {
        if (this.#sawMessageDelta) {
          this.#log.add("message_delta_twice", "a second message_delta", "repaired");
          return;
        }
        if (this.#open) {
          this.#log.add(
            "block_not_closed",
            `message_delta while block ${this.#open.index} is open`,
            "repaired",
          );
          this.#closeBlock(emit);
        }
        if (this.#brokenTool !== null) {
          this.#cut("tool_input_json", `tool_use block ${this.#brokenTool} input is not a JSON object`, emit);
          return;
        }
        this.#sawMessageDelta = true;
        const reason = event.delta.stop_reason;
        const want = this.#toolBlocks > 0 ? "tool_use" : reason === "tool_use" ? "end_turn" : reason;
        if (want !== reason) {
          this.#log.add(
            "stop_reason",
            `stop_reason ${reason} with ${this.#toolBlocks} tool_use blocks`,
            "repaired",
          );
          emit({ ...event, delta: { stop_reason: want, stop_sequence: null } });
          return;
        }
        emit(event);
        return;
      }
      case "message_stop":
        if (!this.#sawMessageDelta) {
          this.#cut("message_stop_without_delta", "message_stop before message_delta", emit);
          return;
        }
        this.#state = "closed";
        emit(event);
        return;
      case "error":
        if (this.#open) {
          this.#log.add("block_not_closed", `error while block ${this.#open.index} is open`, "repaired");
          emit({ type: "content_block_stop", index: this.#open.index });
          this.#open = null;
        }
        this.#state = "closed";
        emit(event);
        return;
      default:
        // ping, and event types this grammar does not know: clients ignore what they do not know.
        emit(event);
    }
  }

  /** The producer ended: appends a missing `message_stop`, or ends a stream cut short with `error`. */
  end(emit: (event: AnthropicStreamEvent) => void): void {
    if (this.#state !== "open") return;
    if (this.#sawMessageDelta) {
      this.#log.add("missing_message_stop", "the stream ended without message_stop", "repaired");
      this.#state = "closed";
      emit({ type: "message_stop" });
      return;
    }
    this.#cut("truncated", this.#started ? "the stream ended before message_delta" : "no events", emit);
  }

  /** The producer failed: closes the open block and emits `error` unless the stream is over. */
  fail(error: CortexError, emit: (event: AnthropicStreamEvent) => void): void {
    if (this.#state !== "open") return;
    this.#finishWithError(error, emit);
    this.#state = "closed";
  }

  #blockStart(event: ContentBlockStartEvent, emit: (event: AnthropicStreamEvent) => void): void {
    if (this.#sawMessageDelta) {
      this.#cut("block_after_message_delta", `block ${event.index} opened after message_delta`, emit);
      return;
    }
    if (this.#open) {
      this.#log.add(
        "block_not_closed",
        `block ${event.index} opened while block ${this.#open.index} is open`,
        "repaired",
      );
      this.#closeBlock(emit);
    }
    if (event.index !== this.#nextIndex) {
      this.#cut("block_index", `block index ${event.index}, expected ${this.#nextIndex}`, emit);
      return;
    }
    const block = event.content_block;
    if (block.type === "tool_use" && Object.keys(block.input ?? {}).length > 0) {
      this.#cut("tool_input_not_empty", `tool_use block ${event.index} starts with an input`, emit);
      return;
    }
    this.#nextIndex = event.index + 1;
    this.#open = { index: event.index, type: block.type, json: "" };
    emit(event);
  }

  // Emits the open block's content_block_stop, noting whether a tool_use block's input is
  // a JSON object (judged at message_delta: a stream that ends in an error may cut one short).
  #closeBlock(emit: (event: AnthropicStreamEvent) => void): void {
    const open = this.#open!;
    if (open.type === "tool_use") {
      if (_parseToolArguments(open.json) === null) this.#brokenTool ??= open.index;
      this.#toolBlocks++;
    }
    this.#open = null;
    emit({ type: "content_block_stop", index: open.index });
  }

  #cut(rule: string, detail: string, emit: (event: AnthropicStreamEvent) => void): void {
    const violation = this.#log.add(rule, detail, "ended");
    this.#finishWithError(streamViolationError("Messages", violation), emit);
    this.#state = "cut";
  }

  #finishWithError(error: CortexError, emit: (event: AnthropicStreamEvent) => void): void {
    if (this.#open) emit({ type: "content_block_stop", index: this.#open.index });
    this.#open = null;
    emit({ type: "error", error: toAnthropicErrorBody(error).error });
  }
}

const _deltaFor: Record<string, string[]> = {
  text: ["text_delta"],
  thinking: ["thinking_delta", "signature_delta"],
  tool_use: ["input_json_delta"],
};
