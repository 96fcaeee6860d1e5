/**
 * The OpenAI chat-completions request: messages, tools, tool choice, response format,
 * streaming options and sampling parameters (including the common open-model extensions
 * `top_k`, `min_p`, `repetition_penalty`).
 *
 * @module
 */
import { z } from "zod";
import { _zod } from "../_zod.ts";
import type { Schema } from "../schema.ts";
import { _optCount } from "../_open_union.ts";
import { _SAMPLING_SHAPE, type SamplingFields } from "./_sampling_fields.ts";
import { type ChatMessage, ChatMessageSchema } from "./chat_message.ts";
import { MAX_TOP_LOGPROBS } from "./logprobs.ts";

/** A JSON Schema object (kept as given). */
export type JsonSchema = Record<string, unknown>;

/** A function tool the model may call. */
export interface ChatFunctionTool {
  /** Tool kind. */
  type: "function";
  /** The function. */
  function: {
    /** Function name. */
    name: string;
    /** What the function does. */
    description?: string;
    /** JSON Schema of the arguments object. */
    parameters?: JsonSchema;
    /** Whether the provider must follow the schema exactly. */
    strict?: boolean | null;
  };
}

/** How the model may use tools: `none`, `auto`, `required`, or one named function. */
export type ChatToolChoice =
  | "none"
  | "auto"
  | "required"
  | { type: "function"; function: { name: string } };

/** Requested output format. */
export type ChatResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | {
    type: "json_schema";
    json_schema: { name: string; description?: string; schema?: JsonSchema; strict?: boolean | null };
  };

/** Reasoning effort levels; other strings pass through. */
export type ReasoningEffort =
  | "none"
  | "minimal"
  | "low"
  | "medium"
  | "high"
  | (string & Record<never, never>);

/** An OpenAI chat-completions request. Unknown extra fields are kept. */
export interface ChatCompletionRequest extends SamplingFields {
  /** Model id or alias. */
  model: string;
  /** The conversation. */
  messages: ChatMessage[];
  /** Tools the model may call. */
  tools?: ChatFunctionTool[] | null;
  /** Tool use policy. */
  tool_choice?: ChatToolChoice | null;
  /** Whether several tool calls may be made in one turn. */
  parallel_tool_calls?: boolean | null;
  /** Output format. */
  response_format?: ChatResponseFormat | null;
  /** Stream the answer as server-sent events. */
  stream?: boolean | null;
  /**
   * Streaming options: `include_usage` adds the final usage-only chunk; `include_prompt_usage`
   * (a cortex extension) also puts `usage` with the prompt tokens on the first chunk, so a
   * translation can report them before any output (Anthropic `message_start`).
   */
  stream_options?: { include_usage?: boolean | null; include_prompt_usage?: boolean | null } | null;
  /** Output token cap (legacy name). */
  max_tokens?: number | null;
  /** Output token cap; wins over `max_tokens`. */
  max_completion_tokens?: number | null;
  /** Stop sequences. */
  stop?: string | string[] | null;
  /** Reasoning effort hint. */
  reasoning_effort?: ReasoningEffort | null;
  /** Number of choices; cortex serves 1. */
  n?: number | null;
  /** End-user id. */
  user?: string | null;
  /** Free-form metadata. */
  metadata?: Record<string, string> | null;
  /** Extra chat-template variables, e.g. `{enable_thinking: false}` (extension). */
  chat_template_kwargs?: Record<string, unknown> | null;
  /** Return the log-probabilities of the generated tokens (`choices[].logprobs.content`). */
  logprobs?: boolean | null;
  /** With `logprobs: true`: how many most likely alternatives per token, 0..20. */
  top_logprobs?: number | null;
  /** Token id (as a decimal string) → bias in [-100, 100] added to its logit before sampling. */
  logit_bias?: Record<string, unknown> | null;
  /** Any other field (refused by `checkChatParameters` unless harmless). */
  [extra: string]: unknown;
}

/** Schema of a function tool. */
export const ChatFunctionToolSchema: Schema<ChatFunctionTool> = z.looseObject({
  type: z.literal("function"),
  function: z.looseObject({
    name: z.string().min(1),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }),
});

/** Schema of `tool_choice`. */
export const ChatToolChoiceSchema: Schema<ChatToolChoice> = z.union([
  z.enum(["none", "auto", "required"]),
  z.looseObject({ type: z.literal("function"), function: z.looseObject({ name: z.string() }) }),
]);

/** Schema of `response_format`. */
export const ChatResponseFormatSchema: Schema<ChatResponseFormat> = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("text") }),
  z.looseObject({ type: z.literal("json_object") }),
  z.looseObject({
    type: z.literal("json_schema"),
    json_schema: z.looseObject({
      name: z.string(),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullish(),
    }),
  }),
]);

/** Schema of a chat-completions request. Extra fields are kept (the neuron then refuses the ones
 * it does not implement, `checkChatParameters`); wrong types name the path. */
export const ChatCompletionRequestSchema: Schema<ChatCompletionRequest> = z.looseObject({
  model: z.string().min(1),
  messages: z.array(_zod(ChatMessageSchema)),
  tools: z.array(_zod(ChatFunctionToolSchema)).nullish(),
  tool_choice: _zod(ChatToolChoiceSchema).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  response_format: _zod(ChatResponseFormatSchema).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({
    include_usage: z.boolean().nullish(),
    include_prompt_usage: z.boolean().nullish(),
  }).nullish(),
  max_tokens: _optCount,
  max_completion_tokens: _optCount,
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  ..._SAMPLING_SHAPE,
  reasoning_effort: z.string().nullish(),
  n: z.number().int().min(1).nullish(),
  user: z.string().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  chat_template_kwargs: z.record(z.string(), z.unknown()).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(MAX_TOP_LOGPROBS).nullish(),
  logit_bias: z.record(z.string(), z.unknown()).nullish(),
});

/** The effective output-token cap of a request: `max_completion_tokens`, else `max_tokens`, else null. */
export function requestedMaxTokens(request: ChatCompletionRequest): number | null {
  return request.max_completion_tokens ?? request.max_tokens ?? null;
}

/** The request's stop sequences as an array (empty when none). */
export function stopSequences(request: ChatCompletionRequest): string[] {
  const stop = request.stop;
  if (stop === null || stop === undefined) return [];
  return (typeof stop === "string" ? [stop] : stop).filter((s) => s.length > 0);
}
