/**
 * The events the streaming parsers emit.
 * @module
 */

/** Visible assistant text, outside any tool call or reasoning block. */
export interface TextEvent {
  /** Discriminant. */
  type: "text";
  /** The text delta (never empty). */
  text: string;
}

/** A tool call has begun and its name is known. */
export interface ToolCallStartEvent {
  /** Discriminant. */
  type: "tool_call_start";
  /** The call id, from the parser's id generator. */
  id: string;
  /** 0-based position of the call among the calls started in this stream. */
  index: number;
  /** The tool's name. */
  name: string;
}

/**
 * A piece of the call's arguments JSON. The deltas of one call concatenate to the `arguments` of
 * its {@link ToolCallEndEvent}.
 */
export interface ToolCallDeltaEvent {
  /** Discriminant. */
  type: "tool_call_delta";
  /** The id from the call's start event. */
  id: string;
  /** The call's index, as in its start event. */
  index: number;
  /** The next characters of the arguments JSON (never empty). */
  argumentsDelta: string;
}

/** A tool call is complete and valid. */
export interface ToolCallEndEvent {
  /** Discriminant. */
  type: "tool_call_end";
  /** The id from the call's start event. */
  id: string;
  /** The call's index, as in its start event. */
  index: number;
  /** The tool's name. */
  name: string;
  /** The complete arguments: a JSON object, as text (whitespace outside strings removed). */
  arguments: string;
  /** The exact model text of the call, `<tool_call>` to `</tool_call>` included. */
  raw: string;
}

/** Why a `<tool_call>` block could not be read as a call. */
export type MalformedCode =
  | "empty"
  | "unterminated"
  | "invalid_json"
  | "invalid_xml"
  | "invalid_name"
  | "missing_name"
  | "invalid_arguments"
  | "duplicate_key"
  | "unexpected_content";

/**
 * A `<tool_call>` block that is not a valid call. Nothing is dropped: `raw` holds the block's exact
 * text, markers included, so it can be shown, logged, repaired ({@link tryRepairMissingName}) or
 * sent back to the model with an error. When `id` is set, the block had already produced a
 * {@link ToolCallStartEvent} under that id: that call is abandoned and no end event will follow.
 */
export interface MalformedEvent {
  /** Discriminant. */
  type: "malformed";
  /** The block's text, from `<tool_call>` to `</tool_call>` (or to the end of the stream). */
  raw: string;
  /** A machine-readable cause. */
  code: MalformedCode;
  /** A sentence naming the field or position at fault. */
  reason: string;
  /** The id of the call this block had started, if any. */
  id?: string;
  /** The index of the call this block had started, if any. */
  index?: number;
}

/** Everything {@link ToolCallParser} emits. */
export type ToolCallEvent =
  | TextEvent
  | ToolCallStartEvent
  | ToolCallDeltaEvent
  | ToolCallEndEvent
  | MalformedEvent;

/** Reasoning text from inside a `<think>` block. */
export interface ReasoningEvent {
  /** Discriminant. */
  type: "reasoning";
  /** The reasoning delta (never empty). */
  text: string;
}

/** A reasoning block opened (the `<think>` marker, or the stream's start when it begins inside one). */
export interface ThinkStartEvent {
  /** Discriminant. */
  type: "think_start";
}

/** A reasoning block ended. */
export interface ThinkEndEvent {
  /** Discriminant. */
  type: "think_end";
  /** `true` when `</think>` was seen; `false` when the stream ended inside the block. */
  closed: boolean;
}

/** Everything {@link ThinkSplitter} emits. */
export type ThinkEvent = TextEvent | ReasoningEvent | ThinkStartEvent | ThinkEndEvent;

/** Everything {@link AssistantStreamParser} emits: reasoning plus tool-call events over the visible text. */
export type AssistantStreamEvent = ToolCallEvent | ReasoningEvent | ThinkStartEvent | ThinkEndEvent;
