/**
 * Anthropic Messages content blocks: text, image (base64 and url), tool_use,
 * tool_result (string or blocks, `is_error`), thinking and redacted thinking. Blocks of
 * other types (e.g. `document`) are tolerated and passed along.
 *
 * @module
 */
import { z } from "zod";
import { _openUnion } from "../_open_union.ts";
import type { Schema } from "../schema.ts";

/** A text block. */
export interface AnthropicTextBlock {
  /** Block kind. */
  type: "text";
  /** The text. */
  text: string;
  /** Other keys (`cache_control`, `citations`). */
  [extra: string]: unknown;
}

/** Where an image comes from: inline base64 or a URL; other source kinds are tolerated. */
export type AnthropicImageSource =
  | { type: "base64"; media_type: string; data: string }
  | { type: "url"; url: string }
  | { type: string; [key: string]: unknown };

/** An image block. */
export interface AnthropicImageBlock {
  /** Block kind. */
  type: "image";
  /** The image. */
  source: AnthropicImageSource;
  /** Other keys. */
  [extra: string]: unknown;
}

/** A tool call by the assistant. */
export interface AnthropicToolUseBlock {
  /** Block kind. */
  type: "tool_use";
  /** Call id (`toolu_…`), echoed by the result's `tool_use_id`. */
  id: string;
  /** Tool name. */
  name: string;
  /** Arguments object. */
  input: Record<string, unknown>;
  /** Other keys. */
  [extra: string]: unknown;
}

/** A tool's output, sent by the user. */
export interface AnthropicToolResultBlock {
  /** Block kind. */
  type: "tool_result";
  /** The call this answers. */
  tool_use_id: string;
  /** The output: text, or text and image blocks. */
  content?: string | AnthropicContentBlock[];
  /** The tool failed. */
  is_error?: boolean;
  /** Other keys. */
  [extra: string]: unknown;
}

/** Reasoning shown before the answer. */
export interface AnthropicThinkingBlock {
  /** Block kind. */
  type: "thinking";
  /** The reasoning text. */
  thinking: string;
  /** Integrity signature (opaque; cortex emits an empty string). */
  signature?: string;
  /** Other keys. */
  [extra: string]: unknown;
}

/** Reasoning withheld from the client. */
export interface AnthropicRedactedThinkingBlock {
  /** Block kind. */
  type: "redacted_thinking";
  /** Opaque payload. */
  data: string;
}

/** A block of a type cortex does not interpret. */
export interface AnthropicUnknownBlock {
  /** Block kind, e.g. `document`. */
  type: string;
  /** Other keys. */
  [key: string]: unknown;
}

/** Any content block. */
export type AnthropicContentBlock =
  | AnthropicTextBlock
  | AnthropicImageBlock
  | AnthropicToolUseBlock
  | AnthropicToolResultBlock
  | AnthropicThinkingBlock
  | AnthropicRedactedThinkingBlock
  | AnthropicUnknownBlock;

const _text = z.looseObject({ type: z.literal("text"), text: z.string() });
const _imageSource = _openUnion(
  "type",
  ["base64", "url"],
  z.discriminatedUnion("type", [
    z.looseObject({
      type: z.literal("base64"),
      media_type: z.string().default("image/png"),
      data: z.string(),
    }),
    z.looseObject({ type: z.literal("url"), url: z.string() }),
  ]),
);
const _image = z.looseObject({ type: z.literal("image"), source: _imageSource });
const _toolUse = z.looseObject({
  type: z.literal("tool_use"),
  id: z.string(),
  name: z.string(),
  input: z.record(z.string(), z.unknown()).default({}),
});
const _thinking = z.looseObject({
  type: z.literal("thinking"),
  thinking: z.string(),
  signature: z.string().optional(),
});
const _redacted = z.looseObject({ type: z.literal("redacted_thinking"), data: z.string() });

const _block: z.ZodType<AnthropicContentBlock> = z.lazy(() =>
  _openUnion<AnthropicContentBlock, AnthropicUnknownBlock>(
    "type",
    ["text", "image", "tool_use", "tool_result", "thinking", "redacted_thinking"],
    z.discriminatedUnion("type", [_text, _image, _toolUse, _toolResult, _thinking, _redacted]) as z.ZodType<
      AnthropicContentBlock
    >,
  )
);
const _toolResult = z.looseObject({
  type: z.literal("tool_result"),
  tool_use_id: z.string(),
  content: z.union([z.string(), z.array(_block)]).optional(),
  is_error: z.boolean().optional(),
});

/** Schema of a text block. */
export const AnthropicTextBlockSchema: Schema<AnthropicTextBlock> = _text;
/** Schema of an image block. */
export const AnthropicImageBlockSchema: Schema<AnthropicImageBlock> = _image;
/** Schema of a tool_use block. */
export const AnthropicToolUseBlockSchema: Schema<AnthropicToolUseBlock> = _toolUse;
/** Schema of a tool_result block. */
export const AnthropicToolResultBlockSchema: Schema<AnthropicToolResultBlock> = _toolResult;
/** Schema of a thinking block. */
export const AnthropicThinkingBlockSchema: Schema<AnthropicThinkingBlock> = _thinking;
/** Schema of any content block; unknown block types are tolerated. */
export const AnthropicContentBlockSchema: Schema<AnthropicContentBlock> = _block;

/** Narrows a block to a known kind. */
export function isAnthropicBlock<K extends "text" | "image" | "tool_use" | "tool_result" | "thinking">(
  block: AnthropicContentBlock,
  type: K,
): block is Extract<
  | AnthropicTextBlock
  | AnthropicImageBlock
  | AnthropicToolUseBlock
  | AnthropicToolResultBlock
  | AnthropicThinkingBlock,
  { type: K }
> {
  return block.type === type;
}
