/**
 * The OpenAI Responses request (`POST /v1/responses`): input as a string or items
 * (messages, function calls and their outputs, reasoning), instructions, tools, tool
 * choice, streaming, output cap and reasoning options. Unknown items are tolerated.
 *
 * @module
 */
import { z } from "zod";
import { _openUnion } from "../_open_union.ts";
import type { Schema } from "../schema.ts";

/** A content part of an input message. */
export type ResponsesInputPart =
  | { type: "input_text"; text: string }
  | { type: "input_image"; image_url?: string | null; file_id?: string | null; detail?: string }
  | { type: "output_text"; text: string; annotations?: unknown[] }
  | { type: "refusal"; refusal: string }
  | { type: string; [key: string]: unknown };

/** A message item (the `type` may be omitted: an "easy" message). */
export interface ResponsesMessageItem {
  /** `"message"` or absent. */
  type?: "message";
  /** Who spoke. */
  role: "user" | "assistant" | "system" | "developer";
  /** Text or parts (null is read as empty). */
  content: string | ResponsesInputPart[] | null;
  /** Item id when replayed from a previous output. */
  id?: string;
  /** Status when replayed. */
  status?: string;
}

/** A function call made earlier by the model. */
export interface ResponsesFunctionCallItem {
  /** Item kind. */
  type: "function_call";
  /** Call id, echoed by the output item. */
  call_id: string;
  /** Function name (within its namespace, when `namespace` is set). */
  name: string;
  /** The namespace tool the function belongs to, when it came from one. */
  namespace?: string | null;
  /** JSON arguments text. */
  arguments: string;
  /** Item id. */
  id?: string;
  /** Status. */
  status?: string;
}

/** The result of a function call. */
export interface ResponsesFunctionCallOutputItem {
  /** Item kind. */
  type: "function_call_output";
  /** The call answered. */
  call_id: string;
  /** Output text (non-string outputs are serialised when translated). */
  output: unknown;
  /** Item id. */
  id?: string;
}

/** A reasoning item replayed from a previous output. */
export interface ResponsesReasoningItem {
  /** Item kind. */
  type: "reasoning";
  /** Item id. */
  id?: string;
  /** Summary parts. */
  summary: { type: "summary_text"; text: string }[];
  /** Full reasoning text parts, when present. */
  content?: { type: "reasoning_text"; text: string }[] | null;
  /** Opaque encrypted reasoning (ignored). */
  encrypted_content?: string | null;
}

/** An item of a kind cortex does not interpret (dropped in translation, never rejected). */
export interface ResponsesUnknownItem {
  /** Item kind. */
  type: string;
  /** Other keys. */
  [key: string]: unknown;
}

/** Any input item. */
export type ResponsesInputItem =
  | ResponsesMessageItem
  | ResponsesFunctionCallItem
  | ResponsesFunctionCallOutputItem
  | ResponsesReasoningItem
  | ResponsesUnknownItem;

/** A function tool (flat form, as the Responses API uses). */
export interface ResponsesFunctionTool {
  /** Tool kind. */
  type: "function";
  /** Function name. */
  name: string;
  /** What it does. */
  description?: string | null;
  /** JSON Schema of the arguments. */
  parameters?: Record<string, unknown> | null;
  /** Strict schema adherence. */
  strict?: boolean | null;
}

/**
 * A namespace of function tools (Codex sends each MCP server's tools as one): the model sees
 * each function under a qualified name, and calls come back as `function_call` items naming
 * the function and its `namespace`.
 */
export interface ResponsesNamespaceTool {
  /** Tool kind. */
  type: "namespace";
  /** Namespace name, e.g. `mcp__github`. */
  name: string;
  /** What the namespace is for. */
  description?: string | null;
  /** The functions in it. */
  tools: ResponsesFunctionTool[];
}

/**
 * Any tool. Function and namespace tools are translated; the hosted tools OpenAI runs itself
 * (web search, file search, …) are dropped in translation; other kinds are refused there.
 */
export type ResponsesTool =
  | ResponsesFunctionTool
  | ResponsesNamespaceTool
  | { type: string; [key: string]: unknown };

/** Tool-use policy. */
export type ResponsesToolChoice =
  | "none"
  | "auto"
  | "required"
  | { type: "function"; name: string; namespace?: string | null }
  | { type: string; [key: string]: unknown };

/** A Responses request. Unknown extra fields are kept. */
export interface ResponsesRequest {
  /** Model id or alias. */
  model: string;
  /** The input: a user message, or items. */
  input: string | ResponsesInputItem[];
  /** System instructions (a leading system message). */
  instructions?: string | null;
  /** Tools. */
  tools?: ResponsesTool[] | null;
  /** Tool-use policy. */
  tool_choice?: ResponsesToolChoice | null;
  /** Several tool calls per turn. */
  parallel_tool_calls?: boolean | null;
  /** Stream events. */
  stream?: boolean | null;
  /** Output token cap (reasoning included). */
  max_output_tokens?: number | null;
  /** Sampling temperature. */
  temperature?: number | null;
  /** Nucleus mass. */
  top_p?: number | null;
  /** Top-k (extension). */
  top_k?: number | null;
  /** Seed (extension). */
  seed?: number | null;
  /** Reasoning options. */
  reasoning?: { effort?: string | null; summary?: string | null } | null;
  /** Server-side conversation chaining (not supported by cortex: 400). */
  previous_response_id?: string | null;
  /** Whether to store the response (ignored). */
  store?: boolean | null;
  /** Free-form metadata. */
  metadata?: Record<string, string> | null;
  /** End-user id. */
  user?: string | null;
  /** Any other field. */
  [extra: string]: unknown;
}

const _part = _openUnion(
  "type",
  ["input_text", "input_image", "output_text", "refusal"],
  z.discriminatedUnion("type", [
    z.looseObject({ type: z.literal("input_text"), text: z.string() }),
    z.looseObject({
      type: z.literal("input_image"),
      image_url: z.string().nullish(),
      file_id: z.string().nullish(),
      detail: z.string().optional(),
    }),
    z.looseObject({
      type: z.literal("output_text"),
      text: z.string(),
      annotations: z.array(z.unknown()).optional(),
    }),
    z.looseObject({ type: z.literal("refusal"), refusal: z.string() }),
  ]),
);

const _knownItemTypes = ["message", "function_call", "function_call_output", "reasoning"];

const _item = z.union([
  z.looseObject({
    type: z.literal("message").optional(),
    role: z.enum(["user", "assistant", "system", "developer"]),
    content: z.union([z.string(), z.array(_part)]).nullable().default(""),
    id: z.string().optional(),
    status: z.string().optional(),
  }),
  z.looseObject({
    type: z.literal("function_call"),
    call_id: z.string(),
    name: z.string(),
    namespace: z.string().nullish(),
    arguments: z.string(),
    id: z.string().optional(),
    status: z.string().optional(),
  }),
  z.looseObject({
    type: z.literal("function_call_output"),
    call_id: z.string(),
    output: z.unknown(),
    id: z.string().optional(),
  }),
  z.looseObject({
    type: z.literal("reasoning"),
    id: z.string().optional(),
    summary: z.array(z.looseObject({ type: z.literal("summary_text"), text: z.string() })).default([]),
    content: z.array(z.looseObject({ type: z.literal("reasoning_text"), text: z.string() })).nullish(),
    encrypted_content: z.string().nullish(),
  }),
  z.looseObject({
    type: z.string().refine((t) => !_knownItemTypes.includes(t), { message: "unknown type", abort: true }),
  }),
]);

const _functionTool = z.looseObject({
  type: z.literal("function"),
  name: z.string().min(1),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});

const _namespaceTool = z.looseObject({
  type: z.literal("namespace"),
  name: z.string().min(1),
  description: z.string().nullish(),
  tools: z.array(_openUnion("type", ["function"], _functionTool)),
});

const _tool = _openUnion(
  "type",
  ["function", "namespace"],
  z.discriminatedUnion("type", [_functionTool, _namespaceTool]),
);

const _toolChoice = z.union([
  z.enum(["none", "auto", "required"]),
  z.looseObject({ type: z.literal("function"), name: z.string(), namespace: z.string().nullish() }),
  z.looseObject({ type: z.string().refine((t) => t !== "function", { abort: true }) }),
]);

/** Schema of one input item (messages, function calls/outputs, reasoning; unknown kinds tolerated). */
export const ResponsesInputItemSchema: Schema<ResponsesInputItem> = _item;
/** Schema of a tool. */
export const ResponsesToolSchema: Schema<ResponsesTool> = _tool;

/** Schema of a Responses request. */
export const ResponsesRequestSchema: Schema<ResponsesRequest> = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(_item)]),
  instructions: z.string().nullish(),
  tools: z.array(_tool).nullish(),
  tool_choice: _toolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  max_output_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).nullish(),
  top_p: z.number().nullish(),
  top_k: z.number().int().min(0).nullish(),
  seed: z.number().int().nullish(),
  reasoning: z.looseObject({ effort: z.string().nullish(), summary: z.string().nullish() }).nullish(),
  previous_response_id: z.string().nullish(),
  store: z.boolean().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  user: z.string().nullish(),
});
