/**
 * The incremental conformance guard for OpenAI chat-completions and legacy completions
 * streams, one `data:` payload at a time: every payload is a JSON chunk (the same `id`
 * throughout) or an error envelope, then `[DONE]` last; each choice finishes once and sends no
 * content after its `finish_reason`; a tool call's first fragment carries its id and name
 * (parallel calls may interleave, by index). What is safe to repair is repaired, else the stream ends with
 * the dialect's error payload (`{"error": {...}}`, no `[DONE]`, as the gateway ends a failed
 * stream).
 *
 * @module
 */
import type { CortexError } from "../errors/cortex_error.ts";
import { toOpenAIErrorBody } from "../errors/envelopes.ts";
import { _ViolationLog } from "./_guard_log.ts";
import {
  type StreamGuard,
  type StreamGuardOptions,
  type StreamGuardState,
  type StreamViolation,
  streamViolationError,
} from "./stream_guard.ts";

/** The rules of the chat and completions stream grammar, by stable name, with what the guard does. */
export const CHAT_STREAM_RULES: Readonly<Record<string, string>> = Object.freeze({
  not_json: "a data payload that is not JSON (nor [DONE]) → ended",
  not_a_chunk: "a JSON payload that is neither a chunk (id, choices) nor an error envelope → ended",
  id_changed: "a chunk whose id differs from the first chunk's → id rewritten",
  content_after_finish: "content for a choice after its finish_reason → ended",
  finish_twice: "a second finish_reason for a choice → removed",
  tool_call_without_id: "the first fragment of a tool call lacks its id or name → ended",
  event_after_end: "a payload after [DONE] (or after an error, other than [DONE]) → dropped",
  done_before_finish: "[DONE] before every choice finished → ended",
  missing_done: "the stream ends after every choice finished without [DONE] → [DONE] appended",
  truncated: "the stream ends before every choice finished → ended",
});

/** Which OpenAI stream a {@linkcode ChatStreamGuard} checks. */
export type ChatStreamKind = "chat" | "completions";

/** Options of {@linkcode ChatStreamGuard}. */
export interface ChatStreamGuardOptions extends StreamGuardOptions {
  /** `chat` (deltas, tool calls; default) or `completions` (`text` pieces). */
  kind?: ChatStreamKind;
}

/** The `[DONE]` sentinel. */
export const SSE_DONE = "[DONE]";

/**
 * The chat/completions stream guard over `data:` payloads (see the module doc and
 * {@linkcode CHAT_STREAM_RULES}). Payloads that pass unchanged are emitted as the same string.
 */
export class ChatStreamGuard implements StreamGuard<string> {
  readonly #log: _ViolationLog;
  readonly #kind: ChatStreamKind;
  #state: StreamGuardState = "open";
  #id: string | null = null;
  #sawError = false;
  #sawDone = false;
  readonly #choices = new Map<number, { finished: boolean; tools: Set<number> }>();

  /** Creates a guard for one stream. */
  constructor(options: ChatStreamGuardOptions = {}) {
    this.#log = new _ViolationLog(options);
    this.#kind = options.kind ?? "chat";
  }

  /** Where the stream stands. */
  get state(): StreamGuardState {
    return this.#state;
  }

  /** Every violation seen so far. */
  get violations(): readonly StreamViolation[] {
    return this.#log.list;
  }

  /** Checks one `data:` payload and emits what the client should get for it. */
  push(data: string, emit: (data: string) => void): void {
    if (this.#state === "cut") return;
    const done = data.trim() === SSE_DONE;
    if (this.#state === "closed") {
      if (done && this.#sawError && !this.#sawDone) {
        this.#sawDone = true;
        emit(data);
        return;
      }
      this.#log.add("event_after_end", done ? "a second [DONE]" : "a payload after the end", "repaired");
      return;
    }
    if (done) {
      if (!this.#allFinished()) {
        this.#cut("done_before_finish", "[DONE] before every choice finished", emit);
        return;
      }
      this.#sawDone = true;
      this.#state = "closed";
      emit(data);
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      this.#cut("not_json", `payload ${JSON.stringify(data.slice(0, 40))} is not JSON`, emit);
      return;
    }
    if (_isObject(json) && "error" in json && !("choices" in json)) {
      this.#sawError = true;
      this.#state = "closed";
      emit(data);
      return;
    }
    if (!_isObject(json) || typeof json.id !== "string" || !Array.isArray(json.choices)) {
      this.#cut("not_a_chunk", "a payload without id and choices", emit);
      return;
    }
    let changed = false;
    if (this.#id === null) this.#id = json.id;
    else if (json.id !== this.#id) {
      this.#log.add("id_changed", `chunk id ${json.id}, the stream's is ${this.#id}`, "repaired");
      json.id = this.#id;
      changed = true;
    }
    for (const choice of json.choices) {
      if (!_isObject(choice) || typeof choice.index !== "number") {
        this.#cut("not_a_chunk", "a choice without an index", emit);
        return;
      }
      const state = this.#choices.get(choice.index) ?? { finished: false, tools: new Set<number>() };
      this.#choices.set(choice.index, state);
      if (state.finished && this.#carriesContent(choice)) {
        this.#cut("content_after_finish", `content for choice ${choice.index} after its finish_reason`, emit);
        return;
      }
      if (!this.#checkToolCalls(choice, state, emit)) return;
      if (choice.finish_reason !== null && choice.finish_reason !== undefined) {
        if (state.finished) {
          this.#log.add("finish_twice", `a second finish_reason for choice ${choice.index}`, "repaired");
          choice.finish_reason = null;
          changed = true;
        }
        state.finished = true;
      }
    }
    emit(changed ? JSON.stringify(json) : data);
  }

  /** The producer ended: appends a missing `[DONE]` after a clean finish, else ends with an error payload. */
  end(emit: (data: string) => void): void {
    if (this.#state !== "open") return;
    if (this.#allFinished()) {
      this.#log.add("missing_done", "the stream ended without [DONE]", "repaired");
      this.#sawDone = true;
      this.#state = "closed";
      emit(SSE_DONE);
      return;
    }
    this.#cut("truncated", this.#id === null ? "no chunks" : "the stream ended before a finish_reason", emit);
  }

  /** The producer failed: emits the error payload unless the stream is over. */
  fail(error: CortexError, emit: (data: string) => void): void {
    if (this.#state !== "open") return;
    this.#sawError = true;
    this.#state = "closed";
    emit(JSON.stringify(toOpenAIErrorBody(error)));
  }

  #allFinished(): boolean {
    return this.#choices.size > 0 && [...this.#choices.values()].every((c) => c.finished);
  }

  #carriesContent(choice: Record<string, unknown>): boolean {
    if (this.#kind === "completions") return typeof choice.text === "string" && choice.text.length > 0;
    const delta = choice.delta;
    if (!_isObject(delta)) return false;
    const text = (key: string): boolean =>
      typeof delta[key] === "string" && (delta[key] as string).length > 0;
    return text("content") || text("reasoning_content") || text("reasoning") || text("refusal") ||
      (Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0);
  }

  // Checks the tool-call fragments of a chat choice; false after ending the stream.
  #checkToolCalls(
    choice: Record<string, unknown>,
    state: { tools: Set<number> },
    emit: (data: string) => void,
  ): boolean {
    const delta = choice.delta;
    if (this.#kind !== "chat" || !_isObject(delta) || !Array.isArray(delta.tool_calls)) return true;
    for (const fragment of delta.tool_calls) {
      const index = _isObject(fragment) ? fragment.index : undefined;
      if (typeof index !== "number" || !Number.isInteger(index) || index < 0) {
        this.#cut("not_a_chunk", "a tool call fragment without an index", emit);
        return false;
      }
      if (state.tools.has(index)) continue;
      const fn = (fragment as Record<string, unknown>).function;
      const id = (fragment as Record<string, unknown>).id;
      if (
        typeof id !== "string" || id === "" || !_isObject(fn) || typeof fn.name !== "string" || fn.name === ""
      ) {
        this.#cut("tool_call_without_id", `tool call ${index} starts without its id or name`, emit);
        return false;
      }
      state.tools.add(index);
    }
    return true;
  }

  #cut(rule: string, detail: string, emit: (data: string) => void): void {
    const violation = this.#log.add(rule, detail, "ended");
    emit(
      JSON.stringify(
        toOpenAIErrorBody(streamViolationError(this.#kind === "chat" ? "chat" : "completions", violation)),
      ),
    );
    this.#state = "cut";
  }
}

function _isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
