/**
 * Reassembly and structural checks for Anthropic event streams: what a client would
 * build from the events, and a list of protocol violations (block order, empty deltas,
 * stop reason vs tool_use). Used by the property tests and by the gateway's and
 * neuron's own tests.
 *
 * @module
 */
import type { AnthropicMessage, AnthropicResponseBlock } from "../anthropic/response.ts";
import type { AnthropicStreamEvent } from "../anthropic/stream_events.ts";
import { _parseToolArguments } from "./_delta.ts";

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

const _deltaFor: Record<string, string[]> = {
  text: ["text_delta"],
  thinking: ["thinking_delta", "signature_delta"],
  tool_use: ["input_json_delta"],
};

/**
 * Lists protocol violations in an Anthropic event stream (empty when well-formed):
 * `message_start` first; blocks opened with indices 0, 1, 2, … one at a time and each
 * closed exactly once; deltas match their block and are never empty; the stream ends with
 * `message_delta` + `message_stop` (or one final `error`); `stop_reason` is `tool_use`
 * exactly when a complete tool_use block exists.
 */
export function checkAnthropicStream(events: readonly AnthropicStreamEvent[]): string[] {
  const problems: string[] = [];
  const at = (i: number, text: string) => problems.push(`event ${i} (${events[i]?.type}): ${text}`);
  if (events.length === 0) return ["no events"];
  const errorIndex = events.findIndex((e) => e.type === "error");
  if (errorIndex !== -1 && errorIndex !== events.length - 1) at(errorIndex, "error is not the last event");
  if (events[0].type !== "message_start" && events[0].type !== "error") {
    at(0, "the first event is not message_start");
  }
  let open: { index: number; type: string; json: string } | null = null;
  let nextIndex = 0;
  let sawDelta = false;
  let sawStop = false;
  const closed = new Set<number>();
  const toolJson = new Map<number, string>();
  let stopReason: string | null = null;
  events.forEach((event, i) => {
    if (sawStop) at(i, "event after message_stop");
    switch (event.type) {
      case "message_start":
        if (i !== 0) at(i, "message_start is not first");
        break;
      case "content_block_start":
        if (open) at(i, `block ${event.index} opened while block ${open.index} is open`);
        if (event.index !== nextIndex) at(i, `block index ${event.index}, expected ${nextIndex}`);
        if (sawDelta) at(i, "block opened after message_delta");
        nextIndex = event.index + 1;
        if (event.content_block.type === "tool_use" && Object.keys(event.content_block.input).length > 0) {
          at(i, "tool_use block starts with a non-empty input");
        }
        open = { index: event.index, type: event.content_block.type, json: "" };
        if (event.content_block.type === "tool_use") toolJson.set(event.index, "");
        break;
      case "content_block_delta": {
        if (!open || open.index !== event.index) {
          at(i, `delta for block ${event.index}, which is not open`);
          break;
        }
        if (!(_deltaFor[open.type] ?? []).includes(event.delta.type)) {
          at(i, `${event.delta.type} inside a ${open.type} block`);
        }
        const d = event.delta;
        const payload = d.type === "text_delta"
          ? d.text
          : d.type === "thinking_delta"
          ? d.thinking
          : d.type === "input_json_delta"
          ? d.partial_json
          : d.signature;
        if (payload.length === 0 && d.type !== "signature_delta") at(i, `empty ${d.type}`);
        if (d.type === "input_json_delta") {
          toolJson.set(event.index, (toolJson.get(event.index) ?? "") + payload);
        }
        break;
      }
      case "content_block_stop":
        if (!open || open.index !== event.index) at(i, `stop for block ${event.index}, which is not open`);
        if (closed.has(event.index)) at(i, `block ${event.index} closed twice`);
        closed.add(event.index);
        open = null;
        break;
      case "message_delta":
        if (open) at(i, `message_delta while block ${(open as { index: number }).index} is open`);
        if (sawDelta) at(i, "second message_delta");
        sawDelta = true;
        stopReason = event.delta.stop_reason;
        break;
      case "message_stop":
        if (!sawDelta) at(i, "message_stop without message_delta");
        sawStop = true;
        break;
      case "error":
        if (open) at(i, `error while block ${(open as { index: number }).index} is open`);
        break;
    }
  });
  for (let index = 0; index < nextIndex; index++) {
    if (!closed.has(index)) problems.push(`block ${index} never closed`);
  }
  if (errorIndex === -1) {
    if (!sawStop) problems.push("the stream does not end with message_stop");
    const completeTools = [...toolJson.values()].filter((json) => _parseToolArguments(json) !== null);
    for (const [index, json] of toolJson) {
      if (_parseToolArguments(json) === null) {
        problems.push(`tool_use block ${index} input is not a JSON object`);
      }
    }
    if (completeTools.length > 0 && stopReason !== "tool_use") {
      problems.push(`stop_reason ${stopReason} although a tool_use block exists`);
    }
    if (toolJson.size === 0 && stopReason === "tool_use") {
      problems.push("stop_reason tool_use without a tool_use block");
    }
  }
  return problems;
}
