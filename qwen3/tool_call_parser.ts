/**
 * The streaming parser for Qwen3 tool calls in model output.
 * @module
 */

import { _StreamCore } from "./_stream_core.ts";
import type { ToolCallEvent } from "./events.ts";
import type { ToolDefinition } from "./types.ts";

/** Options for {@link ToolCallParser}. */
export interface ToolCallParserOptions {
  /**
   * The tools offered to the model. They type the values of XML-form calls (a parameter declared
   * `integer` becomes a JSON number) and let a call with no name be matched to a tool by its
   * argument keys. Without them XML values are typed by sniffing, and name repair uses the table of
   * common agent tools (see {@link inferToolName}).
   */
  tools?: readonly ToolDefinition[];
  /** Makes the id of the call at `index` (0-based, per stream). Default: `call_` + 24 random characters. */
  generateId?: (index: number) => string;
  /**
   * Emit a call's start as soon as its name is read and its arguments as they arrive (default
   * `true`). A call found malformed after its start is then reported by a `malformed` event
   * carrying its id. With `false`, start, one delta and end come together once the call is
   * complete and valid, and a malformed block never has a start.
   */
  streamArguments?: boolean;
  /**
   * Recover a JSON call that has no `name`: hoist a name nested in `arguments`, else infer it from
   * the argument keys. Default `true`.
   */
  repairMissingName?: boolean;
}

/**
 * Parses Qwen3 tool calls out of streamed model text, whatever the chunk boundaries.
 *
 * Feed each chunk to {@link ToolCallParser.push} and the end of the stream to
 * {@link ToolCallParser.finish}; each returns the events the input completed. Text outside calls
 * comes out as `text` events (a marker split across chunks is held back until it is complete).
 * Each `<tool_call>` block yields `tool_call_start`, `tool_call_delta`s and `tool_call_end`, or a
 * `malformed` event with the block's exact text — an unterminated block at the end of the stream
 * included. Nothing is dropped: the texts, the malformed `raw`s and the ended calls' `raw`s
 * concatenate to the input.
 *
 * Both bodies Qwen3 models write are read: the Hermes JSON form
 * `<tool_call>{"name": "bash", "arguments": {"command": "ls"}}</tool_call>` (tolerating stray
 * closing braces, a missing final brace, string-encoded arguments and a name nested inside the
 * arguments) and the Qwen3-Coder XML form
 * `<tool_call><function=bash><parameter=command>ls</parameter></function></tool_call>`. Inside a
 * JSON string, `</tool_call>` is content and does not end the call.
 *
 * Reasoning is not split out here; use {@link AssistantStreamParser} for output with `<think>`.
 *
 * @example
 * ```ts
 * import { ToolCallParser } from "@cortex/qwen3";
 * const parser = new ToolCallParser({ generateId: (i) => `call_${i}` });
 * const events = [
 *   ...parser.push('Let me look.<tool_call>\n{"name": "bash", "argu'),
 *   ...parser.push('ments": {"command": "ls"}}\n</tool_'),
 *   ...parser.push("call>"),
 *   ...parser.finish(),
 * ];
 * const end = events.find((event) => event.type === "tool_call_end");
 * console.log(end); // { type: "tool_call_end", id: "call_0", name: "bash", arguments: '{"command":"ls"}', … }
 * ```
 */
export class ToolCallParser {
  readonly #core: _StreamCore;

  /** Creates a parser for one stream; see {@link ToolCallParserOptions}. */
  constructor(options: ToolCallParserOptions = {}) {
    this.#core = new _StreamCore({ ...options, think: false });
  }

  /** Feeds the next chunk of model text; returns the events it completes. Never throws on any text. */
  push(chunk: string): ToolCallEvent[] {
    return this.#core.push(chunk) as ToolCallEvent[];
  }

  /**
   * Ends the stream: flushes held-back text and reports an open call as `malformed`
   * (`unterminated`). The parser is then reset for a new stream, call indices restarting at 0.
   */
  finish(): ToolCallEvent[] {
    return this.#core.finish() as ToolCallEvent[];
  }
}
