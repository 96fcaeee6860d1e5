/**
 * Every OpenAI Responses streaming event cortex emits, each carrying `type` and a
 * strictly increasing 0-based `sequence_number`. Sent as `event: <type>\ndata: <json>\n\n`.
 *
 * Order: `response.created`, `response.in_progress`, then per output item
 * `output_item.added` … `output_item.done` (reasoning: summary part and text deltas;
 * message: content part and text deltas; function call: argument deltas), and exactly
 * one terminal event: `response.completed`, `response.incomplete` or `response.failed`.
 *
 * @module
 */
import { z } from "zod";
import type { Schema } from "../schema.ts";
import { _zod } from "../_zod.ts";
import {
  type ResponsesOutputContent,
  type ResponsesOutputItem,
  ResponsesOutputItemSchema,
  type ResponsesResponse,
  ResponsesResponseSchema,
} from "./response.ts";

/** Lifecycle event carrying the whole response object. */
export interface ResponsesLifecycleEvent {
  /** Event type. */
  type:
    | "response.created"
    | "response.in_progress"
    | "response.completed"
    | "response.incomplete"
    | "response.failed";
  /** Position in the stream. */
  sequence_number: number;
  /** The response so far (terminal events: final). */
  response: ResponsesResponse;
}

/** An output item opened or finished. */
export interface ResponsesOutputItemEvent {
  /** Event type. */
  type: "response.output_item.added" | "response.output_item.done";
  /** Position in the stream. */
  sequence_number: number;
  /** Index in `response.output`. */
  output_index: number;
  /** The item (done: complete). */
  item: ResponsesOutputItem;
}

/** A content part of a message item opened or finished. */
export interface ResponsesContentPartEvent {
  /** Event type. */
  type: "response.content_part.added" | "response.content_part.done";
  /** Position in the stream. */
  sequence_number: number;
  /** The message item. */
  item_id: string;
  /** Its output index. */
  output_index: number;
  /** Index of the part in the item's content. */
  content_index: number;
  /** The part (done: complete). */
  part: ResponsesOutputContent;
}

/** A piece of visible text. */
export interface ResponsesOutputTextDeltaEvent {
  /** Event type. */
  type: "response.output_text.delta";
  /** Position in the stream. */
  sequence_number: number;
  /** The message item. */
  item_id: string;
  /** Its output index. */
  output_index: number;
  /** The part index. */
  content_index: number;
  /** The text piece (never empty). */
  delta: string;
  /** Log-probabilities (always empty). */
  logprobs: unknown[];
}

/** The complete text of a part. */
export interface ResponsesOutputTextDoneEvent {
  /** Event type. */
  type: "response.output_text.done";
  /** Position in the stream. */
  sequence_number: number;
  /** The message item. */
  item_id: string;
  /** Its output index. */
  output_index: number;
  /** The part index. */
  content_index: number;
  /** All the text. */
  text: string;
  /** Log-probabilities (always empty). */
  logprobs: unknown[];
}

/** A reasoning summary part opened or finished. */
export interface ResponsesReasoningSummaryPartEvent {
  /** Event type. */
  type: "response.reasoning_summary_part.added" | "response.reasoning_summary_part.done";
  /** Position in the stream. */
  sequence_number: number;
  /** The reasoning item. */
  item_id: string;
  /** Its output index. */
  output_index: number;
  /** Index of the summary part. */
  summary_index: number;
  /** The part (done: complete). */
  part: { type: "summary_text"; text: string };
}

/** A piece of reasoning text. */
export interface ResponsesReasoningSummaryTextDeltaEvent {
  /** Event type. */
  type: "response.reasoning_summary_text.delta";
  /** Position in the stream. */
  sequence_number: number;
  /** The reasoning item. */
  item_id: string;
  /** Its output index. */
  output_index: number;
  /** Index of the summary part. */
  summary_index: number;
  /** The piece (never empty). */
  delta: string;
}

/** The complete reasoning text. */
export interface ResponsesReasoningSummaryTextDoneEvent {
  /** Event type. */
  type: "response.reasoning_summary_text.done";
  /** Position in the stream. */
  sequence_number: number;
  /** The reasoning item. */
  item_id: string;
  /** Its output index. */
  output_index: number;
  /** Index of the summary part. */
  summary_index: number;
  /** All the text. */
  text: string;
}

/** A piece of function-call arguments. */
export interface ResponsesFunctionCallArgumentsDeltaEvent {
  /** Event type. */
  type: "response.function_call_arguments.delta";
  /** Position in the stream. */
  sequence_number: number;
  /** The function_call item. */
  item_id: string;
  /** Its output index. */
  output_index: number;
  /** The piece (never empty). */
  delta: string;
}

/** The complete function-call arguments. */
export interface ResponsesFunctionCallArgumentsDoneEvent {
  /** Event type. */
  type: "response.function_call_arguments.done";
  /** Position in the stream. */
  sequence_number: number;
  /** The function_call item. */
  item_id: string;
  /** Its output index. */
  output_index: number;
  /** Function name. */
  name: string;
  /** All the arguments text. */
  arguments: string;
}

/** Any Responses stream event. */
export type ResponsesStreamEvent =
  | ResponsesLifecycleEvent
  | ResponsesOutputItemEvent
  | ResponsesContentPartEvent
  | ResponsesOutputTextDeltaEvent
  | ResponsesOutputTextDoneEvent
  | ResponsesReasoningSummaryPartEvent
  | ResponsesReasoningSummaryTextDeltaEvent
  | ResponsesReasoningSummaryTextDoneEvent
  | ResponsesFunctionCallArgumentsDeltaEvent
  | ResponsesFunctionCallArgumentsDoneEvent;

/** The event types that end a stream. */
export const RESPONSES_TERMINAL_EVENTS: readonly string[] = Object.freeze([
  "response.completed",
  "response.incomplete",
  "response.failed",
]);

const _seq = z.number().int().min(0);
const _idx = z.number().int().min(0);
const _response = _zod(ResponsesResponseSchema);
const _item = _zod(ResponsesOutputItemSchema);
const _content = z.discriminatedUnion("type", [
  z.looseObject({
    type: z.literal("output_text"),
    text: z.string(),
    annotations: z.array(z.unknown()).default([]),
  }),
  z.looseObject({ type: z.literal("refusal"), refusal: z.string() }),
]);
const _summaryPart = z.looseObject({ type: z.literal("summary_text"), text: z.string() });
const _lifecycle = <T extends string>(type: T) =>
  z.looseObject({ type: z.literal(type), sequence_number: _seq, response: _response });
const _itemEvent = <T extends string>(type: T) =>
  z.looseObject({ type: z.literal(type), sequence_number: _seq, output_index: _idx, item: _item });
const _partEvent = <T extends string>(type: T) =>
  z.looseObject({
    type: z.literal(type),
    sequence_number: _seq,
    item_id: z.string(),
    output_index: _idx,
    content_index: _idx,
    part: _content,
  });
const _summaryPartEvent = <T extends string>(type: T) =>
  z.looseObject({
    type: z.literal(type),
    sequence_number: _seq,
    item_id: z.string(),
    output_index: _idx,
    summary_index: _idx,
    part: _summaryPart,
  });

/** Schema of any Responses stream event. */
export const ResponsesStreamEventSchema: Schema<ResponsesStreamEvent> = z.discriminatedUnion("type", [
  _lifecycle("response.created"),
  _lifecycle("response.in_progress"),
  _lifecycle("response.completed"),
  _lifecycle("response.incomplete"),
  _lifecycle("response.failed"),
  _itemEvent("response.output_item.added"),
  _itemEvent("response.output_item.done"),
  _partEvent("response.content_part.added"),
  _partEvent("response.content_part.done"),
  z.looseObject({
    type: z.literal("response.output_text.delta"),
    sequence_number: _seq,
    item_id: z.string(),
    output_index: _idx,
    content_index: _idx,
    delta: z.string().min(1),
    logprobs: z.array(z.unknown()).default([]),
  }),
  z.looseObject({
    type: z.literal("response.output_text.done"),
    sequence_number: _seq,
    item_id: z.string(),
    output_index: _idx,
    content_index: _idx,
    text: z.string(),
    logprobs: z.array(z.unknown()).default([]),
  }),
  _summaryPartEvent("response.reasoning_summary_part.added"),
  _summaryPartEvent("response.reasoning_summary_part.done"),
  z.looseObject({
    type: z.literal("response.reasoning_summary_text.delta"),
    sequence_number: _seq,
    item_id: z.string(),
    output_index: _idx,
    summary_index: _idx,
    delta: z.string().min(1),
  }),
  z.looseObject({
    type: z.literal("response.reasoning_summary_text.done"),
    sequence_number: _seq,
    item_id: z.string(),
    output_index: _idx,
    summary_index: _idx,
    text: z.string(),
  }),
  z.looseObject({
    type: z.literal("response.function_call_arguments.delta"),
    sequence_number: _seq,
    item_id: z.string(),
    output_index: _idx,
    delta: z.string().min(1),
  }),
  z.looseObject({
    type: z.literal("response.function_call_arguments.done"),
    sequence_number: _seq,
    item_id: z.string(),
    output_index: _idx,
    name: z.string(),
    arguments: z.string(),
  }),
]);
