/**
 * The Anthropic Messages response (non-streamed): content blocks, stop reason, stop
 * sequence and usage.
 *
 * @module
 */
import { z } from "zod";
import type { Schema } from "../schema.ts";
import type {
  AnthropicRedactedThinkingBlock,
  AnthropicTextBlock,
  AnthropicThinkingBlock,
  AnthropicToolUseBlock,
} from "./content.ts";

/** Why the assistant stopped. */
export type AnthropicStopReason =
  | "end_turn"
  | "max_tokens"
  | "stop_sequence"
  | "tool_use"
  | "pause_turn"
  | "refusal";

/** Token usage. */
export interface AnthropicUsage {
  /** Prompt tokens not read from cache. */
  input_tokens: number;
  /** Generated tokens. */
  output_tokens: number;
  /** Prompt tokens written to cache. */
  cache_creation_input_tokens?: number | null;
  /** Prompt tokens read from cache. */
  cache_read_input_tokens?: number | null;
}

/** A block of an assistant response. */
export type AnthropicResponseBlock =
  | AnthropicTextBlock
  | AnthropicThinkingBlock
  | AnthropicRedactedThinkingBlock
  | AnthropicToolUseBlock;

/** A Messages response. */
export interface AnthropicMessage {
  /** `msg_…` id. */
  id: string;
  /** Always `"message"`. */
  type: "message";
  /** Always `"assistant"`. */
  role: "assistant";
  /** The answer, in order: thinking, text, tool calls. */
  content: AnthropicResponseBlock[];
  /** Model that answered. */
  model: string;
  /** Why it stopped (null only in `message_start`). */
  stop_reason: AnthropicStopReason | null;
  /** The stop sequence matched, when `stop_reason` is `stop_sequence`. */
  stop_sequence: string | null;
  /** Usage. */
  usage: AnthropicUsage;
}

const _usage = z.looseObject({
  input_tokens: z.number().int().min(0),
  output_tokens: z.number().int().min(0),
  cache_creation_input_tokens: z.number().int().min(0).nullish(),
  cache_read_input_tokens: z.number().int().min(0).nullish(),
});

/** Schema of a stop reason. */
export const AnthropicStopReasonSchema: Schema<AnthropicStopReason> = z.enum([
  "end_turn",
  "max_tokens",
  "stop_sequence",
  "tool_use",
  "pause_turn",
  "refusal",
]);

/** Schema of usage. */
export const AnthropicUsageSchema: Schema<AnthropicUsage> = _usage;

const _responseBlock = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("text"), text: z.string() }),
  z.looseObject({ type: z.literal("thinking"), thinking: z.string(), signature: z.string().optional() }),
  z.looseObject({ type: z.literal("redacted_thinking"), data: z.string() }),
  z.looseObject({
    type: z.literal("tool_use"),
    id: z.string(),
    name: z.string(),
    input: z.record(z.string(), z.unknown()),
  }),
]);

/** Schema of a response block. */
export const AnthropicResponseBlockSchema: Schema<AnthropicResponseBlock> = _responseBlock;

/** Schema of a Messages response. */
export const AnthropicMessageSchema: Schema<AnthropicMessage> = z.looseObject({
  id: z.string(),
  type: z.literal("message"),
  role: z.literal("assistant"),
  content: z.array(_responseBlock),
  model: z.string(),
  stop_reason: z.enum(["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"])
    .nullable(),
  stop_sequence: z.string().nullable().default(null),
  usage: _usage,
});
