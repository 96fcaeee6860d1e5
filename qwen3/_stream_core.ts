/**
 * The state machine behind the streaming parsers: visible text, `<think>` blocks (optional) and
 * `<tool_call>` blocks, whatever the chunk boundaries.
 * @module
 */

import type { _BodyReader, _CallSink } from "./_body.ts";
import { _partialTagLength, _surrogateSafeEnd } from "./_holdback.ts";
import { _JsonBodyReader } from "./_json_body.ts";
import { _XmlBodyReader } from "./_xml_body.ts";
import type { AssistantStreamEvent, MalformedCode, MalformedEvent } from "./events.ts";
import type { ToolDefinition } from "./types.ts";

const _CALL_OPEN = "<tool_call>";
const _CALL_CLOSE = "</tool_call>";
const _THINK_OPEN = "<think>";
const _THINK_CLOSE = "</think>";
const _ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Options of the core; the public parsers expose subsets. */
export interface _CoreOptions {
  tools?: readonly ToolDefinition[];
  generateId?: (index: number) => string;
  streamArguments?: boolean;
  repairMissingName?: boolean;
  think?: boolean;
  startInThink?: boolean;
}

/** An OpenAI-style call id: `call_` and 24 random letters and digits. */
function _randomCallId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  let id = "call_";
  for (const byte of bytes) id += _ID_ALPHABET[byte % _ID_ALPHABET.length];
  return id;
}

type _Mode = "text" | "think" | "call";

/** See the module doc. Public wrappers: ToolCallParser (no think) and AssistantStreamParser. */
export class _StreamCore {
  readonly #tools: readonly ToolDefinition[] | undefined;
  readonly #generateId: (index: number) => string;
  readonly #stream: boolean;
  readonly #repair: boolean;
  readonly #think: boolean;
  readonly #startInThink: boolean;
  #mode: _Mode;
  #begun = false;
  #pending = "";
  #events: AssistantStreamEvent[] = [];
  #index = 0;
  // The open call.
  #raw = "";
  #reader: _BodyReader | null = null;
  #leading = "";
  #call: { id: string; index: number } | null = null;
  readonly #sink: _CallSink;

  constructor(options: _CoreOptions) {
    this.#tools = options.tools;
    this.#generateId = options.generateId ?? _randomCallId;
    this.#stream = options.streamArguments ?? true;
    this.#repair = options.repairMissingName ?? true;
    this.#think = options.think ?? false;
    this.#startInThink = this.#think && (options.startInThink ?? false);
    this.#mode = this.#startInThink ? "think" : "text";
    this.#sink = {
      start: (name) => this.#onStart(name),
      delta: (text) => this.#onDelta(text),
    };
  }

  push(chunk: string): AssistantStreamEvent[] {
    this.#begin();
    this.#pending += chunk;
    this.#drain(false);
    return this.#take();
  }

  finish(): AssistantStreamEvent[] {
    this.#begin();
    this.#drain(true);
    if (this.#mode === "call") {
      this.#endCall(false);
    } else if (this.#mode === "think") {
      this.#events.push({ type: "think_end", closed: false });
    }
    const events = this.#take();
    this.#mode = this.#startInThink ? "think" : "text";
    this.#begun = false;
    this.#pending = "";
    this.#index = 0;
    return events;
  }

  #take(): AssistantStreamEvent[] {
    const events = this.#events;
    this.#events = [];
    return events;
  }

  #begin(): void {
    if (this.#begun) return;
    this.#begun = true;
    if (this.#mode === "think") this.#events.push({ type: "think_start" });
  }

  #drain(final: boolean): void {
    while (this.#pending !== "") {
      const done = this.#mode === "call" ? this.#drainCall(final) : this.#drainText(final);
      if (done) return;
    }
  }

  /** Text or reasoning up to the next marker. Returns true when it must wait for more input. */
  #drainText(final: boolean): boolean {
    const pending = this.#pending;
    const inThink = this.#mode === "think";
    let at = -1;
    let tag = "";
    const candidates = inThink ? [_THINK_CLOSE] : this.#think ? [_CALL_OPEN, _THINK_OPEN] : [_CALL_OPEN];
    for (const candidate of candidates) {
      const found = pending.indexOf(candidate);
      if (found >= 0 && (at < 0 || found < at)) {
        at = found;
        tag = candidate;
      }
    }
    if (at >= 0) {
      this.#emitText(pending.slice(0, at));
      this.#pending = pending.slice(at + tag.length);
      if (tag === _CALL_OPEN) this.#openCall();
      else if (tag === _THINK_OPEN) {
        this.#mode = "think";
        this.#events.push({ type: "think_start" });
      } else {
        this.#mode = "text";
        this.#events.push({ type: "think_end", closed: true });
      }
      return false;
    }
    let end = pending.length;
    if (!final) {
      const held = Math.max(...candidates.map((candidate) => _partialTagLength(pending, candidate)));
      end = _surrogateSafeEnd(pending, end - held);
    }
    this.#emitText(pending.slice(0, end));
    this.#pending = pending.slice(end);
    return true;
  }

  /** Body characters up to `</tool_call>`. Returns true when it must wait for more input. */
  #drainCall(final: boolean): boolean {
    const pending = this.#pending;
    let i = 0;
    let closed = false;
    let waiting = false;
    for (; i < pending.length; i++) {
      const char = pending[i];
      if (char === "<" && (this.#reader === null || this.#reader.closeTagActive)) {
        if (pending.startsWith(_CALL_CLOSE, i)) {
          closed = true;
          break;
        }
        if (!final && _CALL_CLOSE.startsWith(pending.slice(i))) {
          waiting = true;
          break;
        }
      }
      this.#feed(char);
    }
    this.#raw += pending.slice(0, i);
    if (closed) {
      this.#raw += _CALL_CLOSE;
      this.#pending = pending.slice(i + _CALL_CLOSE.length);
      this.#endCall(true);
      return false;
    }
    this.#pending = waiting ? pending.slice(i) : "";
    this.#reader?.flush();
    return true;
  }

  #feed(char: string): void {
    if (this.#reader !== null) {
      this.#reader.step(char);
      return;
    }
    if (char === " " || char === "\n" || char === "\r" || char === "\t") {
      this.#leading += char;
      return;
    }
    this.#reader = char === "<"
      ? new _XmlBodyReader(this.#sink, this.#tools)
      : new _JsonBodyReader(this.#sink, this.#tools, this.#repair);
    for (const space of this.#leading) this.#reader.step(space);
    this.#reader.step(char);
  }

  #openCall(): void {
    this.#mode = "call";
    this.#raw = _CALL_OPEN;
    this.#reader = null;
    this.#leading = "";
    this.#call = null;
  }

  #endCall(closed: boolean): void {
    const raw = this.#raw;
    const reader = this.#reader;
    this.#mode = "text";
    this.#raw = "";
    this.#reader = null;
    let failure: { code: MalformedCode; reason: string } | null = null;
    if (!closed) {
      failure = {
        code: "unterminated",
        reason: "the stream ended inside a <tool_call> block (no </tool_call>)",
      };
    } else if (reader === null) {
      failure = { code: "empty", reason: "the <tool_call> block is empty" };
    } else {
      const body = raw.slice(_CALL_OPEN.length, raw.length - _CALL_CLOSE.length);
      const result = reader.finish(body);
      if (result.ok) {
        if (!this.#stream) this.#emitDeferred(result.name, result.arguments);
        const call = this.#call!;
        this.#events.push({
          type: "tool_call_end",
          id: call.id,
          index: call.index,
          name: result.name,
          arguments: result.arguments,
          raw,
        });
      } else failure = result;
    }
    if (failure !== null) {
      if (this.#call !== null) reader?.flush();
      const event: MalformedEvent = { type: "malformed", raw, code: failure.code, reason: failure.reason };
      if (this.#call !== null) {
        event.id = this.#call.id;
        event.index = this.#call.index;
      }
      this.#events.push(event);
    }
    this.#call = null;
  }

  #allocate(): { id: string; index: number } {
    const index = this.#index++;
    return { id: this.#generateId(index), index };
  }

  #onStart(name: string): void {
    if (!this.#stream) return; // announced with the end, once the call is known to be valid
    this.#call = this.#allocate();
    this.#events.push({ type: "tool_call_start", id: this.#call.id, index: this.#call.index, name });
  }

  #onDelta(text: string): void {
    if (!this.#stream || this.#call === null || text === "") return;
    const last = this.#events[this.#events.length - 1];
    if (last?.type === "tool_call_delta" && last.id === this.#call.id) last.argumentsDelta += text;
    else {this.#events.push({
        type: "tool_call_delta",
        id: this.#call.id,
        index: this.#call.index,
        argumentsDelta: text,
      });}
  }

  #emitDeferred(name: string, args: string): void {
    this.#call = this.#allocate();
    const { id, index } = this.#call;
    this.#events.push({ type: "tool_call_start", id, index, name });
    this.#events.push({ type: "tool_call_delta", id, index, argumentsDelta: args });
  }

  #emitText(text: string): void {
    if (text === "") return;
    const type = this.#mode === "think" ? "reasoning" : "text";
    const last = this.#events[this.#events.length - 1];
    if (last !== undefined && last.type === type) last.text += text;
    else this.#events.push({ type, text });
  }
}
