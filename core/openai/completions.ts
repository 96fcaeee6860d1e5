/**
 * The legacy OpenAI text-completions dialect (`POST /v1/completions`): a raw prompt, no
 * chat template, used for base models.
 *
 * @module
 */
import { z } from "zod";
import { _zod } from "../_zod.ts";
import type { Schema } from "../schema.ts";
import { _optCount } from "../_open_union.ts";
import { _SAMPLING_SHAPE, type SamplingFields } from "./_sampling_fields.ts";
import { type CompletionLogprobs, CompletionLogprobsSchema, MAX_TOP_LOGPROBS } from "./logprobs.ts";
import {
  type ChatFinishReason,
  ChatFinishReasonSchema,
  type ChatUsage,
  ChatUsageSchema,
} from "./chat_response.ts";

/** A text-completions request. Unknown extra fields are kept. */
export interface CompletionRequest extends SamplingFields {
  /** Model id or alias. */
  model: string;
  /** The raw prompt: a string, or token ids. Arrays of prompts (strings or id arrays) are
   * batches; the neuron serves a batch of one. */
  prompt: string | string[] | number[] | number[][];
  /** Stream as server-sent events. */
  stream?: boolean | null;
  /** Streaming options. */
  stream_options?: { include_usage?: boolean | null } | null;
  /** Output token cap (default 16 in OpenAI; cortex uses the model's output limit). */
  max_tokens?: number | null;
  /** Stop sequences. */
  stop?: string | string[] | null;
  /** Echo the prompt before the completion. */
  echo?: boolean | null;
  /** Number of choices; cortex serves 1. */
  n?: number | null;
  /** Candidates to pick the best of; cortex serves 1. */
  best_of?: number | null;
  /** Text after the completion (insertion); not supported unless empty. */
  suffix?: string | null;
  /** Return the log-probabilities of each token and this many most likely alternatives, 0..20. */
  logprobs?: number | null;
  /** Token id (as a decimal string) → bias in [-100, 100] added to its logit before sampling. */
  logit_bias?: Record<string, unknown> | null;
  /** Any other field (refused by `checkCompletionParameters` unless harmless). */
  [extra: string]: unknown;
}

/** One choice of a text completion (streamed or not). */
export interface CompletionChoice {
  /** Choice index. */
  index: number;
  /** Generated text (a piece of it when streamed). */
  text: string;
  /** Why it stopped; null until the end of a stream. */
  finish_reason: ChatFinishReason | null;
  /** Log-probabilities when asked (`logprobs: N`), else null. */
  logprobs?: CompletionLogprobs | null;
}

/** A text completion, or one chunk of a streamed one (same `object` in both, as OpenAI does). */
export interface Completion {
  /** `cmpl-…` id. */
  id: string;
  /** Always `"text_completion"`. */
  object: "text_completion";
  /** Unix seconds. */
  created: number;
  /** Model. */
  model: string;
  /** Choices; empty on a usage-only chunk. */
  choices: CompletionChoice[];
  /** Usage. */
  usage?: ChatUsage | null;
  /** Other keys. */
  [extra: string]: unknown;
}

/** Schema of a text-completions request. */
export const CompletionRequestSchema: Schema<CompletionRequest> = z.looseObject({
  model: z.string().min(1),
  prompt: z.union([
    z.string(),
    z.array(z.string()),
    z.array(z.number()),
    z.array(z.array(z.number())),
  ]),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: _optCount,
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  ..._SAMPLING_SHAPE,
  echo: z.boolean().nullish(),
  n: z.number().int().min(1).nullish(),
  best_of: z.number().int().min(1).nullish(),
  suffix: z.string().nullish(),
  logprobs: z.number().int().min(0).max(MAX_TOP_LOGPROBS).nullish(),
  logit_bias: z.record(z.string(), z.unknown()).nullish(),
});

/** Schema of a text completion or stream chunk. */
export const CompletionSchema: Schema<Completion> = z.looseObject({
  id: z.string(),
  object: z.literal("text_completion"),
  created: z.number(),
  model: z.string(),
  choices: z.array(z.looseObject({
    index: z.number().int().min(0),
    text: z.string(),
    finish_reason: _zod(ChatFinishReasonSchema).nullable(),
    logprobs: _zod(CompletionLogprobsSchema).nullish(),
  })),
  usage: _zod(ChatUsageSchema).nullish(),
});
