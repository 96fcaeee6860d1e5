/**
 * Log-probability shapes of OpenAI's answers: the chat form (`choices[].logprobs.content`, one
 * entry per token with its bytes and top alternatives) and the legacy text-completions form
 * (parallel `tokens` / `token_logprobs` / `top_logprobs` / `text_offset` arrays).
 *
 * @module
 */
import { z } from "zod";
import type { Schema } from "../schema.ts";

/** Most alternatives a request may ask for (`top_logprobs`, completions `logprobs`). */
export const MAX_TOP_LOGPROBS = 20;

/** One alternative token of a chat log-probability entry. */
export interface ChatTopLogprob {
  /** The token's text. */
  token: string;
  /** Natural-log probability. */
  logprob: number;
  /** UTF-8 bytes of the token (null when it has no byte form). */
  bytes: number[] | null;
}

/** The log-probabilities of one generated token (chat form). */
export interface ChatTokenLogprob extends ChatTopLogprob {
  /** The most likely tokens at this position, most likely first (`top_logprobs` of them). */
  top_logprobs: ChatTopLogprob[];
}

/** `choices[].logprobs` of a chat completion or chunk. */
export interface ChatLogprobs {
  /** One entry per generated token carried by this choice or chunk. */
  content: ChatTokenLogprob[] | null;
  /** Refusal tokens (cortex never produces refusals: null). */
  refusal: ChatTokenLogprob[] | null;
}

/** `choices[].logprobs` of a text completion (legacy form; parallel arrays, one slot per token). */
export interface CompletionLogprobs {
  /** Token texts. */
  tokens: string[];
  /** Each token's natural-log probability. */
  token_logprobs: number[];
  /** Per token, the `logprobs` most likely tokens: text → log-probability. */
  top_logprobs: Record<string, number>[];
  /** Character offset of each token in the choice's text (the echoed prompt counted). */
  text_offset: number[];
}

const _top = z.looseObject({ token: z.string(), logprob: z.number(), bytes: z.array(z.number()).nullable() });

/** Schema of a chat `logprobs` object. */
export const ChatLogprobsSchema: Schema<ChatLogprobs> = z.looseObject({
  content: z.array(_top.extend({ top_logprobs: z.array(_top) })).nullable(),
  refusal: z.array(_top.extend({ top_logprobs: z.array(_top) })).nullable().default(null),
});

/** Schema of a text-completion `logprobs` object. */
export const CompletionLogprobsSchema: Schema<CompletionLogprobs> = z.looseObject({
  tokens: z.array(z.string()),
  token_logprobs: z.array(z.number()),
  top_logprobs: z.array(z.record(z.string(), z.number())),
  text_offset: z.array(z.number()),
});
