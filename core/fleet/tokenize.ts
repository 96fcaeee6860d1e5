/**
 * `POST /tokenize`: the exact prompt token count of a chat (rendered through the model's
 * template, tools included) or of a raw prompt; the gateway's Anthropic `count_tokens`
 * and prompt pre-validation use it.
 *
 * @module
 */
import { z } from "zod";
import { _zod } from "../_zod.ts";
import type { Schema } from "../schema.ts";
import { type ChatMessage, ChatMessageSchema } from "../openai/chat_message.ts";
import { type ChatFunctionTool, ChatFunctionToolSchema } from "../openai/chat_request.ts";

/** `POST /tokenize` body: exactly one of `messages` or `prompt`. */
export interface TokenizeRequest {
  /** A loaded model id. */
  model: string;
  /** A chat, rendered with the model's template and generation prompt. */
  messages?: ChatMessage[];
  /** A raw prompt, tokenised as is. */
  prompt?: string;
  /** Tools offered (they are part of the rendered prompt). */
  tools?: ChatFunctionTool[];
  /** Extra template variables, e.g. `{enable_thinking: false}`. */
  chat_template_kwargs?: Record<string, unknown>;
}

/** `POST /tokenize` 200 body. */
export interface TokenizeResponse {
  /** The model that counted. */
  model: string;
  /** Number of prompt tokens. */
  count: number;
}

/** Schema of a tokenize request. */
export const TokenizeRequestSchema: Schema<TokenizeRequest> = z.looseObject({
  model: z.string().min(1),
  messages: z.array(_zod(ChatMessageSchema)).optional(),
  prompt: z.string().optional(),
  tools: z.array(_zod(ChatFunctionToolSchema)).optional(),
  chat_template_kwargs: z.record(z.string(), z.unknown()).optional(),
}).superRefine((body, ctx) => {
  if ((body.messages === undefined) === (body.prompt === undefined)) {
    const got = body.messages === undefined ? "neither" : "both";
    ctx.addIssue({
      code: "custom",
      path: [],
      message: `expected one of \`messages\` or \`prompt\`, got ${got}`,
    });
  }
});

/** Schema of a tokenize answer. */
export const TokenizeResponseSchema: Schema<TokenizeResponse> = z.looseObject({
  model: z.string(),
  count: z.number().int().min(0),
});
