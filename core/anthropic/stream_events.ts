/**
 * Anthropic Messages streaming events: `message_start`, `content_block_start` /
 * `content_block_delta` / `content_block_stop` for text, thinking and tool_use
 * (`input_json_delta`), `message_delta` with stop reason and usage, `message_stop`,
 * `ping` and `error`. Each is sent as `event: <type>\ndata: <json>\n\n`.
 *
 * @module
 */
import { z } from "zod";
import type { Schema } from "../schema.ts";
import type { AnthropicErrorType } from "../errors/envelopes.ts";
import {
  type AnthropicMessage,
  AnthropicMessageSchema,
  type AnthropicStopReason,
  AnthropicStopReasonSchema,
} from "./response.ts";
import { _zod } from "../_zod.ts";

/** The block announced by `content_block_start` (empty: its content arrives as deltas). */
export type AnthropicStreamBlockStart =
  | { type: "text"; text: string }
  | { type: "thinking"; thinking: string; signature?: string }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> };

/** A piece of a block's content. */
export type AnthropicBlockDelta =
  | { type: "text_delta"; text: string }
  | { type: "thinking_delta"; thinking: string }
  | { type: "signature_delta"; signature: string }
  | { type: "input_json_delta"; partial_json: string };

/** `message_start`: the message shell with empty content. */
export interface MessageStartEvent {
  /** Event type. */
  type: "message_start";
  /** The shell. */
  message: AnthropicMessage;
}

/** `content_block_start`. */
export interface ContentBlockStartEvent {
  /** Event type. */
  type: "content_block_start";
  /** Block index (0, 1, … in order). */
  index: number;
  /** The block being opened. */
  content_block: AnthropicStreamBlockStart;
}

/** `content_block_delta`. */
export interface ContentBlockDeltaEvent {
  /** Event type. */
  type: "content_block_delta";
  /** Index of the open block. */
  index: number;
  /** The piece. */
  delta: AnthropicBlockDelta;
}

/** `content_block_stop`. */
export interface ContentBlockStopEvent {
  /** Event type. */
  type: "content_block_stop";
  /** Index of the block closed. */
  index: number;
}

/** `message_delta`: final stop reason and usage. */
export interface MessageDeltaEvent {
  /** Event type. */
  type: "message_delta";
  /** Top-level changes. */
  delta: { stop_reason: AnthropicStopReason | null; stop_sequence: string | null };
  /** Cumulative usage. */
  usage: {
    output_tokens: number;
    input_tokens?: number | null;
    cache_read_input_tokens?: number | null;
    cache_creation_input_tokens?: number | null;
  };
}

/** `message_stop`: the stream is over. */
export interface MessageStopEvent {
  /** Event type. */
  type: "message_stop";
}

/** `ping`: keep-alive. */
export interface PingEvent {
  /** Event type. */
  type: "ping";
}

/** `error`: the stream failed; nothing follows. */
export interface ErrorEvent {
  /** Event type. */
  type: "error";
  /** What failed. */
  error: { type: AnthropicErrorType; message: string };
}

/** Any Messages stream event. */
export type AnthropicStreamEvent =
  | MessageStartEvent
  | ContentBlockStartEvent
  | ContentBlockDeltaEvent
  | ContentBlockStopEvent
  | MessageDeltaEvent
  | MessageStopEvent
  | PingEvent
  | ErrorEvent;

const _blockStart = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("text"), text: z.string() }),
  z.looseObject({ type: z.literal("thinking"), thinking: z.string(), signature: z.string().optional() }),
  z.looseObject({
    type: z.literal("tool_use"),
    id: z.string(),
    name: z.string(),
    input: z.record(z.string(), z.unknown()),
  }),
]);

const _delta = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("text_delta"), text: z.string() }),
  z.looseObject({ type: z.literal("thinking_delta"), thinking: z.string() }),
  z.looseObject({ type: z.literal("signature_delta"), signature: z.string() }),
  z.looseObject({ type: z.literal("input_json_delta"), partial_json: z.string() }),
]);

const _count = z.number().int().min(0);

/** Schema of any Messages stream event. */
export const AnthropicStreamEventSchema: Schema<AnthropicStreamEvent> = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("message_start"), message: _zod(AnthropicMessageSchema) }),
  z.looseObject({ type: z.literal("content_block_start"), index: _count, content_block: _blockStart }),
  z.looseObject({ type: z.literal("content_block_delta"), index: _count, delta: _delta }),
  z.looseObject({ type: z.literal("content_block_stop"), index: _count }),
  z.looseObject({
    type: z.literal("message_delta"),
    delta: z.looseObject({
      stop_reason: _zod(AnthropicStopReasonSchema).nullable(),
      stop_sequence: z.string().nullable().default(null),
    }),
    usage: z.looseObject({
      output_tokens: _count,
      input_tokens: _count.nullish(),
      cache_read_input_tokens: _count.nullish(),
      cache_creation_input_tokens: _count.nullish(),
    }),
  }),
  z.looseObject({ type: z.literal("message_stop") }),
  z.looseObject({ type: z.literal("ping") }),
  z.looseObject({
    type: z.literal("error"),
    error: z.looseObject({ type: z.string(), message: z.string() }),
  }),
]);
