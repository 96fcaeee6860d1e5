/**
 * The OpenAI chat-completions response (non-streamed), its usage block and finish reasons.
 *
 * @module
 */
import { z } from "zod";
import { type ChatLogprobs, ChatLogprobsSchema } from "./logprobs.ts";
import { _zod } from "../_zod.ts";
import type { Schema } from "../schema.ts";
import { type ChatToolCall, ChatToolCallSchema } from "./chat_message.ts";

/** Why generation stopped. */
export type ChatFinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "function_call";

/** Token usage of a completion. Extra keys (e.g. timing) are kept. */
export interface ChatUsage {
  /** Tokens in the prompt. */
  prompt_tokens: number;
  /** Tokens generated (reasoning included). */
  completion_tokens: number;
  /** Sum of the two. */
  total_tokens: number;
  /** Prompt breakdown. */
  prompt_tokens_details?: { cached_tokens?: number } | null;
  /** Completion breakdown. */
  completion_tokens_details?: { reasoning_tokens?: number } | null;
  /** Other keys. */
  [extra: string]: unknown;
}

/** The assistant message of a non-streamed choice. */
export interface ChatResponseMessage {
  /** Always `"assistant"`. */
  role: "assistant";
  /** Visible text, or null when the turn is only tool calls. */
  content: string | null;
  /** Reasoning text (extension). */
  reasoning_content?: string | null;
  /** Tool calls made. */
  tool_calls?: ChatToolCall[];
  /** Refusal text. */
  refusal?: string | null;
  /** Other keys. */
  [extra: string]: unknown;
}

/** One choice of a non-streamed completion. */
export interface ChatChoice {
  /** Choice index (0). */
  index: number;
  /** The answer. */
  message: ChatResponseMessage;
  /** Why it stopped; null only if unknown. */
  finish_reason: ChatFinishReason | null;
  /** Log-probabilities when asked (`logprobs: true`), else absent or null. */
  logprobs?: ChatLogprobs | null;
  /** The stop string that ended generation, vLLM-style (extension; maps to Anthropic `stop_sequence`). */
  stop_reason?: string | number | null;
}

/** A non-streamed chat completion. */
export interface ChatCompletion {
  /** `chatcmpl-…` id. */
  id: string;
  /** Always `"chat.completion"`. */
  object: "chat.completion";
  /** Unix seconds. */
  created: number;
  /** Model that answered. */
  model: string;
  /** The choices (cortex returns one). */
  choices: ChatChoice[];
  /** Token usage. */
  usage?: ChatUsage | null;
  /** Backend fingerprint. */
  system_fingerprint?: string | null;
  /** Other keys. */
  [extra: string]: unknown;
}

/** Schema of a finish reason. */
export const ChatFinishReasonSchema: Schema<ChatFinishReason> = z.enum([
  "stop",
  "length",
  "tool_calls",
  "content_filter",
  "function_call",
]);

/** Schema of a usage block. */
export const ChatUsageSchema: Schema<ChatUsage> = z.looseObject({
  prompt_tokens: z.number().int().min(0),
  completion_tokens: z.number().int().min(0),
  total_tokens: z.number().int().min(0),
  prompt_tokens_details: z.looseObject({ cached_tokens: z.number().int().min(0).optional() }).nullish(),
  completion_tokens_details: z.looseObject({ reasoning_tokens: z.number().int().min(0).optional() })
    .nullish(),
});

/** Schema of a non-streamed chat completion. */
export const ChatCompletionSchema: Schema<ChatCompletion> = z.looseObject({
  id: z.string(),
  object: z.literal("chat.completion"),
  created: z.number(),
  model: z.string(),
  choices: z.array(z.looseObject({
    index: z.number().int().min(0),
    message: z.looseObject({
      role: z.literal("assistant"),
      content: z.string().nullable(),
      reasoning_content: z.string().nullish(),
      tool_calls: z.array(_zod(ChatToolCallSchema)).optional(),
      refusal: z.string().nullish(),
    }),
    finish_reason: _zod(ChatFinishReasonSchema).nullable(),
    logprobs: _zod(ChatLogprobsSchema).nullish(),
    stop_reason: z.union([z.string(), z.number()]).nullish(),
  })),
  usage: _zod(ChatUsageSchema).nullish(),
  system_fingerprint: z.string().nullish(),
});
