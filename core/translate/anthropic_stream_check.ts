/**
 * Reassembly and structural checks for Anthropic event streams: what a client would
 * build from the events, and a list of protocol violations (block order, empty deltas,
 * stop reason vs tool_use) found by the stream guard. Used by the property tests and by the
 * gateway's and neuron's own tests.
 *
 * @module
 */
import type { AnthropicMessage, AnthropicResponseBlock } from "../anthropic/response.ts";
import type { AnthropicStreamEvent } from "../anthropic/stream_events.ts";
import { _parseToolArguments } from "./_delta.ts";
import { AnthropicStreamGuard } from "./anthropic_stream_guard.ts";
import { guardViolations } from "./stream_guard.ts";

interface _Block {
  block: AnthropicResponseBlock;
  json: string;
}

/**
 * Rebuilds the message a client would assemble from the events: deltas concatenated,
 * tool inputs parsed from the `input_json_delta` pieces, stop reason and usage from
 * `message_delta`. Returns null when there is no `message_start`.
 */
export function reassembleAnthropicStream(events: readonly AnthropicStreamEvent[]): AnthropicMessage | null {
  let message: AnthropicMessage | null = null;
  const blocks = new Map<number, _Block>();
  for (const event of events) {
    switch (event.type) {
      case "message_start":
        message = structuredClone(event.message);
        break;
      case "content_block_start":
        blocks.set(event.index, {
          block: structuredClone(event.content_block) as AnthropicResponseBlock,
          json: "",
        });
        break;
      case "content_block_delta": {
        const entry = blocks.get(event.index);
        if (!entry) break;
        const delta = event.delta;
        if (delta.type === "text_delta" && entry.block.type === "text") entry.block.text += delta.text;
        if (delta.type === "thinking_delta" && entry.block.type === "thinking") {
          entry.block.thinking += delta.thinking;
        }
        if (delta.type === "signature_delta" && entry.block.type === "thinking") {
          entry.block.signature = delta.signature;
        }
        if (delta.type === "input_json_delta") entry.json += delta.partial_json;
        break;
      }
      case "message_delta":
        if (!message) break;
        message.stop_reason = event.delta.stop_reason;
        message.stop_sequence = event.delta.stop_sequence;
        message.usage = {
          ...message.usage,
          ...Object.fromEntries(
            Object.entries(event.usage).filter(([, v]) => v !== undefined),
          ),
        } as AnthropicMessage["usage"];
        break;
    }
  }
  if (!message) return null;
  message.content = [...blocks.entries()].sort(([a], [b]) => a - b).map(([, entry]) => {
    if (entry.block.type === "tool_use") {
      entry.block.input = entry.json === "" ? entry.block.input : (_parseToolArguments(entry.json) ?? {});
    }
    return entry.block;
  });
  return message;
}

/**
 * Lists protocol violations in an Anthropic event stream as `rule: detail` (empty when
 * well-formed): the events run through an {@linkcode AnthropicStreamGuard}, so the offline
 * check and the gateway's live guard are one grammar (see {@linkcode ANTHROPIC_STREAM_RULES}).
 */
export function checkAnthropicStream(events: readonly AnthropicStreamEvent[]): string[] {
  return guardViolations(new AnthropicStreamGuard(), events);
}
