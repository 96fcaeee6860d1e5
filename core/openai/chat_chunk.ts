/**
 * The OpenAI chat-completions stream chunk (`chat.completion.chunk`) with role, content,
 * reasoning and incremental tool-call deltas, finish reason and the usage-only chunk.
 *
 * @module
 */
import { z } from "zod";
import { type ChatLogprobs, ChatLogprobsSchema } from "./logprobs.ts";
import { _zod } from "../_zod.ts";
import type { Schema } from "../schema.ts";
import {
  type ChatFinishReason,
  ChatFinishReasonSchema,
  type ChatUsage,
  ChatUsageSchema,
} from "./chat_response.ts";

/** An incremental tool call inside a delta: the first fragment carries id and name, later ones argument text. */
export interface ChatToolCallDelta {
  /** Which call this fragment belongs to (0-based within the turn). */
  index: number;
  /** Call id (first fragment). */
  id?: string | null;
  /** Always `"function"` when present. */
  type?: "function" | null;
  /** Function fragment. */
  function?: {
    /** Function name (first fragment). */
    name?: string | null;
    /** A piece of the JSON arguments text. */
    arguments?: string | null;
  } | null;
}

/** The delta of a streamed choice. */
export interface ChatDelta {
  /** `"assistant"` on the first chunk. */
  role?: "assistant" | null;
  /** A piece of visible text. */
  content?: string | null;
  /** A piece of reasoning text (extension). */
  reasoning_content?: string | null;
  /** Tool-call fragments. */
  tool_calls?: ChatToolCallDelta[] | null;
  /** A piece of refusal text. */
  refusal?: string | null;
  /** Other keys. */
  [extra: string]: unknown;
}

/** A streamed choice. */
export interface ChatChunkChoice {
  /** Choice index (0). */
  index: number;
  /** What this chunk adds. */
  delta: ChatDelta;
  /** Set on the last content chunk of the choice. */
  finish_reason: ChatFinishReason | null;
  /** Log-probabilities when asked (`logprobs: true`), else absent or null. */
  logprobs?: ChatLogprobs | null;
  /** The stop string that ended generation, vLLM-style (extension; maps to Anthropic `stop_sequence`). */
  stop_reason?: string | number | null;
}

/** One server-sent chunk of a streamed chat completion. */
export interface ChatCompletionChunk {
  /** Same id on every chunk of a stream. */
  id: string;
  /** Always `"chat.completion.chunk"`. */
  object: "chat.completion.chunk";
  /** Unix seconds. */
  created: number;
  /** Model that answers. */
  model: string;
  /** Choices; empty on the usage-only chunk. */
  choices: ChatChunkChoice[];
  /** Usage, on the final usage-only chunk when `stream_options.include_usage`. */
  usage?: ChatUsage | null;
  /** Backend fingerprint. */
  system_fingerprint?: string | null;
  /** Other keys. */
  [extra: string]: unknown;
}

/** Schema of a tool-call delta. */
export const ChatToolCallDeltaSchema: Schema<ChatToolCallDelta> = z.looseObject({
  index: z.number().int().min(0),
  id: z.string().nullish(),
  type: z.literal("function").nullish(),
  function: z.looseObject({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
});

/** Schema of a chunk delta. */
export const ChatDeltaSchema: Schema<ChatDelta> = z.looseObject({
  role: z.literal("assistant").nullish(),
  content: z.string().nullish(),
  reasoning_content: z.string().nullish(),
  tool_calls: z.array(_zod(ChatToolCallDeltaSchema)).nullish(),
  refusal: z.string().nullish(),
});

/** Schema of a stream chunk. */
export const ChatCompletionChunkSchema: Schema<ChatCompletionChunk> = z.looseObject({
  id: z.string(),
  object: z.literal("chat.completion.chunk").default("chat.completion.chunk"),
  created: z.number(),
  model: z.string(),
  choices: z.array(z.looseObject({
    index: z.number().int().min(0).default(0),
    delta: _zod(ChatDeltaSchema).default({}),
    finish_reason: _zod(ChatFinishReasonSchema).nullish().transform((r) => r ?? null),
    logprobs: _zod(ChatLogprobsSchema).nullish(),
    stop_reason: z.union([z.string(), z.number()]).nullish(),
  })),
  usage: _zod(ChatUsageSchema).nullish(),
  system_fingerprint: z.string().nullish(),
});
