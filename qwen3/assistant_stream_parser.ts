/**
 * The streaming parser for a whole Qwen3 assistant turn: reasoning, text and tool calls.
 * @module
 */

import { _StreamCore } from "./_stream_core.ts";
import type { AssistantStreamEvent } from "./events.ts";
import type { ToolCallParserOptions } from "./tool_call_parser.ts";

/** Options for {@link AssistantStreamParser}. */
export interface AssistantStreamParserOptions extends ToolCallParserOptions {
  /**
   * Start inside a reasoning block, for prompts whose generation prompt already opened `<think>`
   * (Qwen3.5/3.6, the Qwen3 thinking checkpoints). Default `false`.
   */
  startInThink?: boolean;
}

/**
 * Parses a streamed Qwen3 assistant turn into reasoning, visible text and tool calls.
 *
 * It is {@link ToolCallParser} with `<think>` handling in one state machine, so each marker means
 * what it means where it appears: inside `<think>…</think>` everything (a drafted `<tool_call>`
 * too) is reasoning; inside a `<tool_call>` block a `<think>` is argument text; outside both,
 * whichever marker comes first opens its block. Reasoning comes out as `reasoning` events between
 * `think_start` and `think_end`, untrimmed.
 *
 * @example
 * ```ts
 * import { AssistantStreamParser } from "@cortex/qwen3";
 * const parser = new AssistantStreamParser({ startInThink: true });
 * const events = [
 *   ...parser.push("I should list files.\n</think>\n\n<tool_call>\n<function=bash>\n"),
 *   ...parser.push("<parameter=command>\nls\n</parameter>\n</function>\n</tool_call>"),
 *   ...parser.finish(),
 * ];
 * console.log(events.map((event) => event.type));
 * // think_start, reasoning, think_end, text, tool_call_start, tool_call_delta, tool_call_end
 * ```
 */
export class AssistantStreamParser {
  readonly #core: _StreamCore;

  /** Creates a parser for one stream; see {@link AssistantStreamParserOptions}. */
  constructor(options: AssistantStreamParserOptions = {}) {
    this.#core = new _StreamCore({ ...options, think: true });
  }

  /** Feeds the next chunk of model text; returns the events it completes. Never throws on any text. */
  push(chunk: string): AssistantStreamEvent[] {
    return this.#core.push(chunk);
  }

  /**
   * Ends the stream: flushes held-back text, closes an open reasoning block
   * (`think_end` with `closed: false`) and reports an open call as `malformed`. The parser is then
   * reset for a new stream.
   */
  finish(): AssistantStreamEvent[] {
    return this.#core.finish();
  }
}
