/**
 * A streaming splitter of reasoning (`<think>…</think>`) from visible text.
 * @module
 */

import { _partialTagLength, _surrogateSafeEnd } from "./_holdback.ts";
import type { ThinkEvent } from "./events.ts";

/** Options for {@link ThinkSplitter}. */
export interface ThinkSplitterOptions {
  /**
   * Start inside a reasoning block. Set it when the prompt's generation prompt already opened
   * `<think>` (Qwen3.5/3.6 and the Qwen3 "thinking" checkpoints do), so the output begins with
   * reasoning and only closes it. Default `false`.
   */
  startInThink?: boolean;
  /** The opening marker. Default `"<think>"`. */
  openTag?: string;
  /** The closing marker. Default `"</think>"`. */
  closeTag?: string;
}

/**
 * Splits a stream of model text into reasoning and visible text, whatever the chunk boundaries.
 *
 * Text inside `<think>…</think>` comes out as `reasoning` events, the rest as `text`; the markers
 * themselves become `think_start` / `think_end` events. A marker split across chunks is held back
 * until it is complete (at most the marker's length minus one character), so the concatenation of
 * all event texts plus the markers is exactly the input. A stray `</think>` outside a block stays
 * text; `<think>` inside a block stays reasoning. Reasoning is passed through untrimmed: Qwen3
 * writes `<think>\n…\n</think>\n\n`, and those newlines are in the events.
 *
 * @example
 * ```ts
 * import { ThinkSplitter } from "@cortex/qwen3";
 * const splitter = new ThinkSplitter();
 * const events = [...splitter.push("<think>plan</th"), ...splitter.push("ink>answer"), ...splitter.finish()];
 * console.log(events);
 * // think_start, reasoning "plan", think_end (closed), text "answer"
 * ```
 */
export class ThinkSplitter {
  readonly #openTag: string;
  readonly #closeTag: string;
  readonly #startInThink: boolean;
  #inThink: boolean;
  #started = false;
  #pending = "";

  /** Creates a splitter; see {@link ThinkSplitterOptions}. */
  constructor(options: ThinkSplitterOptions = {}) {
    this.#openTag = options.openTag ?? "<think>";
    this.#closeTag = options.closeTag ?? "</think>";
    if (this.#openTag === "" || this.#closeTag === "") {
      throw new RangeError("think markers must not be empty");
    }
    this.#startInThink = options.startInThink ?? false;
    this.#inThink = this.#startInThink;
  }

  /** Whether the splitter is currently inside a reasoning block. */
  get inThink(): boolean {
    return this.#inThink;
  }

  /** Feeds the next chunk of model text; returns the events it completes. */
  push(chunk: string): ThinkEvent[] {
    const events: ThinkEvent[] = [];
    this.#begin(events);
    this.#pending += chunk;
    this.#drain(events, false);
    return events;
  }

  /** Ends the stream: flushes held-back text and closes an open block. The splitter is then reset. */
  finish(): ThinkEvent[] {
    const events: ThinkEvent[] = [];
    this.#begin(events);
    this.#drain(events, true);
    if (this.#inThink) events.push({ type: "think_end", closed: false });
    this.#inThink = this.#startInThink;
    this.#started = false;
    this.#pending = "";
    return events;
  }

  #begin(events: ThinkEvent[]): void {
    if (this.#started) return;
    this.#started = true;
    if (this.#inThink) events.push({ type: "think_start" });
  }

  #drain(events: ThinkEvent[], final: boolean): void {
    for (;;) {
      const tag = this.#inThink ? this.#closeTag : this.#openTag;
      const at = this.#pending.indexOf(tag);
      if (at >= 0) {
        this.#emit(events, this.#pending.slice(0, at));
        this.#pending = this.#pending.slice(at + tag.length);
        this.#inThink = !this.#inThink;
        events.push(this.#inThink ? { type: "think_start" } : { type: "think_end", closed: true });
        continue;
      }
      let end = this.#pending.length;
      if (!final) end = _surrogateSafeEnd(this.#pending, end - _partialTagLength(this.#pending, tag));
      this.#emit(events, this.#pending.slice(0, end));
      this.#pending = this.#pending.slice(end);
      return;
    }
  }

  #emit(events: ThinkEvent[], text: string): void {
    if (text === "") return;
    const type = this.#inThink ? "reasoning" : "text";
    const last = events[events.length - 1];
    if (last !== undefined && last.type === type) last.text += text;
    else events.push({ type, text });
  }
}
