/**
 * The OpenAI Responses response object: status, output items (reasoning, message,
 * function calls), usage with cached and reasoning token details, and error /
 * incomplete details.
 *
 * @module
 */
import { z } from "zod";
import type { Schema } from "../schema.ts";
import { _zod } from "../_zod.ts";

/** A part of an output message. */
export type ResponsesOutputContent =
  | { type: "output_text"; text: string; annotations: unknown[] }
  | { type: "refusal"; refusal: string };

/** The assistant's message item. */
export interface ResponsesOutputMessage {
  /** Item kind. */
  type: "message";
  /** `msg_…` id. */
  id: string;
  /** Always `"assistant"`. */
  role: "assistant";
  /** Item status. */
  status: "in_progress" | "completed" | "incomplete";
  /** Text parts. */
  content: ResponsesOutputContent[];
}

/** A reasoning item (the model's thinking, as summary text). */
export interface ResponsesOutputReasoning {
  /** Item kind. */
  type: "reasoning";
  /** `rs_…` id. */
  id: string;
  /** Reasoning text, as one summary part. */
  summary: { type: "summary_text"; text: string }[];
  /** Item status. */
  status?: "in_progress" | "completed" | "incomplete";
}

/** A function call item. */
export interface ResponsesOutputFunctionCall {
  /** Item kind. */
  type: "function_call";
  /** `fc_…` item id. */
  id: string;
  /** Call id to echo in `function_call_output`. */
  call_id: string;
  /** Function name (within its namespace, when `namespace` is set). */
  name: string;
  /** The namespace tool the function belongs to (absent for a plain function tool). */
  namespace?: string;
  /** JSON arguments text. */
  arguments: string;
  /** Item status. */
  status: "in_progress" | "completed" | "incomplete";
}

/** Any output item. */
export type ResponsesOutputItem =
  | ResponsesOutputMessage
  | ResponsesOutputReasoning
  | ResponsesOutputFunctionCall;

/** Token usage. */
export interface ResponsesUsage {
  /** Prompt tokens. */
  input_tokens: number;
  /** Prompt breakdown. */
  input_tokens_details: { cached_tokens: number };
  /** Generated tokens (reasoning included). */
  output_tokens: number;
  /** Output breakdown. */
  output_tokens_details: { reasoning_tokens: number };
  /** Sum. */
  total_tokens: number;
}

/** Lifecycle status of a response. */
export type ResponsesStatus = "queued" | "in_progress" | "completed" | "incomplete" | "failed" | "cancelled";

/** A Responses response object (also the payload of lifecycle stream events). */
export interface ResponsesResponse {
  /** `resp_…` id. */
  id: string;
  /** Always `"response"`. */
  object: "response";
  /** Unix seconds. */
  created_at: number;
  /** Status. */
  status: ResponsesStatus;
  /** Model. */
  model: string;
  /** Output items in order: reasoning, message, function calls. */
  output: ResponsesOutputItem[];
  /** Usage (null until known). */
  usage: ResponsesUsage | null;
  /** Set when `failed`. */
  error: { code: string; message: string } | null;
  /** Set when `incomplete`. */
  incomplete_details:
    | { reason: "max_output_tokens" | "content_filter" | (string & Record<never, never>) }
    | null;
  /** Echoed instructions. */
  instructions?: string | null;
  /** Echoed output cap. */
  max_output_tokens?: number | null;
  /** Echoed flag. */
  parallel_tool_calls?: boolean;
  /** Echoed tool choice. */
  tool_choice?: unknown;
  /** Echoed tools. */
  tools?: unknown[];
  /** Echoed temperature. */
  temperature?: number | null;
  /** Echoed top_p. */
  top_p?: number | null;
  /** Echoed metadata. */
  metadata?: Record<string, string> | null;
  /** Other keys. */
  [extra: string]: unknown;
}

const _status3 = z.enum(["in_progress", "completed", "incomplete"]);

const _outputItem = z.discriminatedUnion("type", [
  z.looseObject({
    type: z.literal("message"),
    id: z.string(),
    role: z.literal("assistant"),
    status: _status3,
    content: z.array(z.discriminatedUnion("type", [
      z.looseObject({
        type: z.literal("output_text"),
        text: z.string(),
        annotations: z.array(z.unknown()).default([]),
      }),
      z.looseObject({ type: z.literal("refusal"), refusal: z.string() }),
    ])),
  }),
  z.looseObject({
    type: z.literal("reasoning"),
    id: z.string(),
    summary: z.array(z.looseObject({ type: z.literal("summary_text"), text: z.string() })),
    status: _status3.optional(),
  }),
  z.looseObject({
    type: z.literal("function_call"),
    id: z.string(),
    call_id: z.string(),
    name: z.string(),
    namespace: z.string().optional(),
    arguments: z.string(),
    status: _status3,
  }),
]);

const _count = z.number().int().min(0);

/** Schema of an output item. */
export const ResponsesOutputItemSchema: Schema<ResponsesOutputItem> = _outputItem;

/** Schema of Responses usage. */
export const ResponsesUsageSchema: Schema<ResponsesUsage> = z.looseObject({
  input_tokens: _count,
  input_tokens_details: z.looseObject({ cached_tokens: _count.default(0) }).prefault({}),
  output_tokens: _count,
  output_tokens_details: z.looseObject({ reasoning_tokens: _count.default(0) }).prefault({}),
  total_tokens: _count,
});

/** Schema of a Responses response object. */
export const ResponsesResponseSchema: Schema<ResponsesResponse> = z.looseObject({
  id: z.string(),
  object: z.literal("response"),
  created_at: z.number(),
  status: z.enum(["queued", "in_progress", "completed", "incomplete", "failed", "cancelled"]),
  model: z.string(),
  output: z.array(_outputItem),
  usage: _zod(ResponsesUsageSchema).nullable().default(null),
  error: z.looseObject({ code: z.string(), message: z.string() }).nullable().default(null),
  incomplete_details: z.looseObject({ reason: z.string() }).nullable().default(null),
  instructions: z.string().nullish(),
  max_output_tokens: z.number().nullish(),
  parallel_tool_calls: z.boolean().optional(),
  tool_choice: z.unknown().optional(),
  tools: z.array(z.unknown()).optional(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
});
