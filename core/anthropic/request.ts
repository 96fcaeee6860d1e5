/**
 * The Anthropic Messages request (`POST /v1/messages`) and the token-counting request
 * (`POST /v1/messages/count_tokens`): system prompt, messages, tools, tool choice, stop
 * sequences, sampling and extended-thinking configuration.
 *
 * @module
 */
import { z } from "zod";
import { _openUnion } from "../_open_union.ts";
import type { Schema } from "../schema.ts";
import {
  type AnthropicContentBlock,
  AnthropicContentBlockSchema,
  type AnthropicTextBlock,
} from "./content.ts";
import { _zod } from "../_zod.ts";

/** One turn of the conversation. */
export interface AnthropicMessageParam {
  /** Who spoke (`system` is tolerated and merged into the system prompt). */
  role: "user" | "assistant" | "system";
  /** Text, or content blocks. */
  content: string | AnthropicContentBlock[];
}

/** A client tool: name, description and JSON Schema of its input. */
export interface AnthropicCustomTool {
  /** Tool name. */
  name: string;
  /** What it does. */
  description?: string;
  /** JSON Schema of the input object. */
  input_schema: Record<string, unknown>;
  /** `"custom"` or absent. */
  type?: "custom" | null;
  /**
   * Anthropic loads such a tool only when its tool search finds it; cortex runs no tool search,
   * so the tool is offered from the start like any other.
   */
  defer_loading?: boolean;
  /** Other keys (`cache_control`). */
  [extra: string]: unknown;
}

/** A server tool of a type cortex does not run (e.g. web search); tolerated and dropped in translation. */
export interface AnthropicServerTool {
  /** Versioned tool type, e.g. `web_search_20250305`. */
  type: string;
  /** Tool name. */
  name: string;
  /** Other keys. */
  [extra: string]: unknown;
}

/** Any tool definition. */
export type AnthropicTool = AnthropicCustomTool | AnthropicServerTool;

/** Tool-use policy. */
export type AnthropicToolChoice =
  | { type: "auto"; disable_parallel_tool_use?: boolean }
  | { type: "any"; disable_parallel_tool_use?: boolean }
  | { type: "tool"; name: string; disable_parallel_tool_use?: boolean }
  | { type: "none" };

/** Extended-thinking configuration (`adaptive`: the model decides how much to think — thinking on). */
export type AnthropicThinkingConfig =
  | { type: "enabled"; budget_tokens: number }
  | { type: "adaptive" }
  | { type: "disabled" }
  | { type: string; [key: string]: unknown };

/** A Messages request. Unknown extra fields are kept. */
export interface MessagesRequest {
  /** Model id or alias. */
  model: string;
  /** Output token cap (required by the dialect). */
  max_tokens: number;
  /** The conversation. */
  messages: AnthropicMessageParam[];
  /** System prompt: text or text blocks. */
  system?: string | AnthropicTextBlock[];
  /** Tools. */
  tools?: AnthropicTool[];
  /** Tool-use policy. */
  tool_choice?: AnthropicToolChoice;
  /** Strings that end generation. */
  stop_sequences?: string[];
  /** Sampling temperature. */
  temperature?: number;
  /** Nucleus mass. */
  top_p?: number;
  /** Top-k. */
  top_k?: number;
  /** Extended thinking. */
  thinking?: AnthropicThinkingConfig;
  /** Stream as server-sent events. */
  stream?: boolean;
  /** Request metadata. */
  metadata?: { user_id?: string | null; [key: string]: unknown };
  /** Any other field. */
  [extra: string]: unknown;
}

/** A count_tokens request: a Messages request without `max_tokens`. */
export interface CountTokensRequest {
  /** Model id or alias. */
  model: string;
  /** The conversation. */
  messages: AnthropicMessageParam[];
  /** System prompt. */
  system?: string | AnthropicTextBlock[];
  /** Tools. */
  tools?: AnthropicTool[];
  /** Tool-use policy. */
  tool_choice?: AnthropicToolChoice;
  /** Extended thinking. */
  thinking?: AnthropicThinkingConfig;
  /** Any other field. */
  [extra: string]: unknown;
}

/** A count_tokens answer. */
export interface CountTokensResponse {
  /** Prompt tokens the request would use. */
  input_tokens: number;
}

const _message = z.looseObject({
  role: z.enum(["user", "assistant", "system"]),
  content: z.union([z.string(), z.array(_zod(AnthropicContentBlockSchema))]),
});

const _system = z.union([
  z.string(),
  z.array(z.looseObject({ type: z.literal("text"), text: z.string() })),
]);

const _customTool = z.looseObject({
  name: z.string().min(1),
  description: z.string().optional(),
  input_schema: z.record(z.string(), z.unknown()),
  type: z.literal("custom").nullish(),
  defer_loading: z.boolean().optional(),
});
const _serverTool = z.looseObject({
  type: z.string().refine((t) => t !== "custom", { abort: true }),
  name: z.string(),
});
const _tool = z.union([_customTool, _serverTool]);

const _toolChoice = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("auto"), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal("any"), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({
    type: z.literal("tool"),
    name: z.string(),
    disable_parallel_tool_use: z.boolean().optional(),
  }),
  z.looseObject({ type: z.literal("none") }),
]);

const _thinking = _openUnion(
  "type",
  ["enabled", "adaptive", "disabled"],
  z.discriminatedUnion("type", [
    z.looseObject({ type: z.literal("enabled"), budget_tokens: z.number().int().min(0) }),
    z.looseObject({ type: z.literal("adaptive") }),
    z.looseObject({ type: z.literal("disabled") }),
  ]),
);

const _common = {
  model: z.string().min(1),
  messages: z.array(_message),
  system: _system.optional(),
  tools: z.array(_tool).optional(),
  tool_choice: _toolChoice.optional(),
  thinking: _thinking.optional(),
};

/** Schema of one conversation turn. */
export const AnthropicMessageParamSchema: Schema<AnthropicMessageParam> = _message;
/** Schema of a tool definition. */
export const AnthropicToolSchema: Schema<AnthropicTool> = _tool;
/** Schema of a tool choice. */
export const AnthropicToolChoiceSchema: Schema<AnthropicToolChoice> = _toolChoice;

/** Schema of a Messages request. Extra fields are kept; wrong types name the path. */
export const MessagesRequestSchema: Schema<MessagesRequest> = z.looseObject({
  ..._common,
  max_tokens: z.number().int().min(1),
  stop_sequences: z.array(z.string()).optional(),
  temperature: z.number().min(0).optional(),
  top_p: z.number().optional(),
  top_k: z.number().int().min(0).optional(),
  stream: z.boolean().optional(),
  metadata: z.looseObject({ user_id: z.string().nullish() }).optional(),
});

/** Schema of a count_tokens request. */
export const CountTokensRequestSchema: Schema<CountTokensRequest> = z.looseObject(_common);

/** Schema of a count_tokens answer. */
export const CountTokensResponseSchema: Schema<CountTokensResponse> = z.looseObject({
  input_tokens: z.number().int().min(0),
});

/** True when a tool definition is a client tool with an input schema. */
export function isCustomTool(tool: AnthropicTool): tool is AnthropicCustomTool {
  return (tool.type === undefined || tool.type === null || tool.type === "custom") &&
    typeof (tool as AnthropicCustomTool).input_schema === "object";
}
