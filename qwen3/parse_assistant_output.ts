/**
 * Non-streaming parse of a complete Qwen3 assistant turn.
 * @module
 */

import { AssistantStreamParser, type AssistantStreamParserOptions } from "./assistant_stream_parser.ts";
import type { MalformedEvent } from "./events.ts";

/** A complete tool call found in the output. */
export interface ParsedToolCall {
  /** The call id, from the id generator. */
  id: string;
  /** The tool's name. */
  name: string;
  /** The arguments as JSON object text. */
  arguments: string;
}

/** A complete assistant turn, split. */
export interface ParsedAssistantOutput {
  /** The reasoning text (all `<think>` blocks, concatenated, untrimmed). */
  reasoning: string;
  /** The visible text, with each malformed `<tool_call>` block left in verbatim where it was. */
  content: string;
  /** The valid tool calls, in order. */
  toolCalls: ParsedToolCall[];
  /** The `<tool_call>` blocks that were not valid calls (also present verbatim in `content`). */
  malformed: MalformedEvent[];
}

/**
 * Splits a complete assistant turn into reasoning, content and tool calls, with the same rules as
 * {@link AssistantStreamParser}.
 *
 * @example
 * ```ts
 * import { parseAssistantOutput } from "@cortex/qwen3";
 * const out = parseAssistantOutput(
 *   '<think>\nhm\n</think>\n\nOK.\n<tool_call>\n{"name": "bash", "arguments": {"command": "ls"}}\n</tool_call>',
 * );
 * console.log(out.toolCalls[0].name, out.content); // bash "\n\nOK.\n"
 * ```
 */
export function parseAssistantOutput(
  text: string,
  options: AssistantStreamParserOptions = {},
): ParsedAssistantOutput {
  const parser = new AssistantStreamParser(options);
  const out: ParsedAssistantOutput = { reasoning: "", content: "", toolCalls: [], malformed: [] };
  for (const event of [...parser.push(text), ...parser.finish()]) {
    if (event.type === "reasoning") out.reasoning += event.text;
    else if (event.type === "text") out.content += event.text;
    else if (event.type === "tool_call_end") {
      out.toolCalls.push({ id: event.id, name: event.name, arguments: event.arguments });
    } else if (event.type === "malformed") {
      out.content += event.raw;
      out.malformed.push(event);
    }
  }
  return out;
}
