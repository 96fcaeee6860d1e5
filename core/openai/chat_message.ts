/**
 * OpenAI chat-completions message shapes: content parts (text, image), tool calls and
 * the per-role messages of a conversation.
 *
 * @module
 */
import { z } from "zod";
import { _zod } from "../_zod.ts";
import type { Schema } from "../schema.ts";
import { _openUnion } from "../_open_union.ts";

/** A text content part. */
export interface ChatTextPart {
  /** Part kind. */
  type: "text";
  /** The text. */
  text: string;
}

/** An image content part: an `https:` URL or a `data:` URI. */
export interface ChatImagePart {
  /** Part kind. */
  type: "image_url";
  /** The image. */
  image_url: {
    /** `https://…` or `data:image/png;base64,…`. */
    url: string;
    /** Resolution hint. */
    detail?: "auto" | "low" | "high" | (string & Record<never, never>);
  };
}

/** A content part of a type cortex does not interpret (passed along untouched). */
export interface ChatUnknownPart {
  /** Part kind, e.g. `input_audio`. */
  type: string;
  /** Other fields. */
  [key: string]: unknown;
}

/** Any content part of a chat message. */
export type ChatContentPart = ChatTextPart | ChatImagePart | ChatUnknownPart;

/** A tool call made by the assistant (non-streamed form). */
export interface ChatToolCall {
  /** Call id, echoed by the tool result's `tool_call_id`. */
  id: string;
  /** Always `"function"`. */
  type: "function";
  /** The function called. */
  function: {
    /** Function name. */
    name: string;
    /** Arguments as a JSON string (objects from lenient clients are serialised on parse). */
    arguments: string;
  };
}

/** A system (or developer) message. */
export interface ChatSystemMessage {
  /** Role. */
  role: "system" | "developer";
  /** Instructions. */
  content: string | ChatContentPart[];
  /** Optional participant name. */
  name?: string;
}

/** A user message. */
export interface ChatUserMessage {
  /** Role. */
  role: "user";
  /** Text, or parts mixing text and images. */
  content: string | ChatContentPart[];
  /** Optional participant name. */
  name?: string;
}

/** An assistant message in the conversation history. */
export interface ChatAssistantMessage {
  /** Role. */
  role: "assistant";
  /** Visible text (null or absent when the turn was only tool calls). */
  content?: string | ChatContentPart[] | null;
  /** Reasoning that preceded the answer (cortex/vLLM extension). */
  reasoning_content?: string | null;
  /** Tool calls the assistant made. */
  tool_calls?: ChatToolCall[];
  /** Refusal text. */
  refusal?: string | null;
  /** Optional participant name. */
  name?: string;
}

/** A tool result message. */
export interface ChatToolMessage {
  /** Role. */
  role: "tool";
  /** The tool's output. */
  content: string | ChatContentPart[];
  /** The id of the call this answers. */
  tool_call_id: string;
}

/** Any chat message. Unknown extra fields are kept. */
export type ChatMessage = ChatSystemMessage | ChatUserMessage | ChatAssistantMessage | ChatToolMessage;

const _textPart = z.looseObject({ type: z.literal("text"), text: z.string() });
const _imagePart = z.looseObject({
  type: z.literal("image_url"),
  image_url: z.looseObject({ url: z.string(), detail: z.string().optional() }),
});

/** Schema of a text part. */
export const ChatTextPartSchema: Schema<ChatTextPart> = _textPart;

/** Schema of an image part. */
export const ChatImagePartSchema: Schema<ChatImagePart> = _imagePart;

/** Schema of any content part; unknown part types are tolerated. */
export const ChatContentPartSchema: Schema<ChatContentPart> = _openUnion(
  "type",
  ["text", "image_url"],
  z.discriminatedUnion("type", [_textPart, _imagePart]),
);

const _content = z.union([z.string(), z.array(_zod(ChatContentPartSchema))]);

/** Schema of a tool call; object `arguments` are serialised to a JSON string. */
export const ChatToolCallSchema: Schema<ChatToolCall> = z.looseObject({
  id: z.string(),
  type: z.literal("function").default("function"),
  function: z.looseObject({
    name: z.string(),
    arguments: z.union([
      z.string(),
      z.record(z.string(), z.unknown()).transform((args) => JSON.stringify(args)),
    ]).default("{}"),
  }),
});

/** Schema of any chat message (discriminated on `role`). */
export const ChatMessageSchema: Schema<ChatMessage> = z.discriminatedUnion("role", [
  z.looseObject({ role: z.enum(["system", "developer"]), content: _content, name: z.string().optional() }),
  z.looseObject({ role: z.literal("user"), content: _content, name: z.string().optional() }),
  z.looseObject({
    role: z.literal("assistant"),
    content: _content.nullish(),
    reasoning_content: z.string().nullish(),
    tool_calls: z.array(_zod(ChatToolCallSchema)).optional(),
    refusal: z.string().nullish(),
    name: z.string().optional(),
  }),
  z.looseObject({ role: z.literal("tool"), content: _content, tool_call_id: z.string() }),
]);

/** Joins the text of a content value: a string as is, parts' `text` concatenated. */
export function chatContentText(content: string | ChatContentPart[] | null | undefined): string {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  return content.map((part) => (part.type === "text" && typeof part.text === "string" ? part.text : "")).join(
    "",
  );
}
