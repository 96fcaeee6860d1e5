/**
 * Recovery of tool calls whose body has arguments but no tool name, a frequent Qwen3 failure.
 * @module
 */

import { _isPlainObject, _tryParseJson } from "./_json_text.ts";
import { _repairNamelessCall } from "./_repair.ts";
import type { ToolDefinition } from "./types.ts";

/** A tool call recovered by {@link tryRepairMissingName}. */
export interface RepairedToolCall {
  /** The inferred tool name. */
  name: string;
  /** The arguments as compact JSON object text. */
  arguments: string;
}

function _parseLenient(text: string): unknown {
  const direct = _tryParseJson(text);
  if (direct !== undefined) return direct.value;
  // Stray closing braces after the object, or the object's own closing brace missing.
  let trimmed = text;
  for (let strip = 0; strip < 3 && trimmed.endsWith("}"); strip++) {
    trimmed = trimmed.slice(0, -1).trimEnd();
    const attempt = _tryParseJson(trimmed);
    if (attempt !== undefined) return attempt.value;
  }
  return _tryParseJson(text + "}")?.value;
}

/**
 * Recovers a malformed tool call whose JSON body has no top-level `name` (Qwen3 sometimes writes
 * `{"arguments": {…}}` or nests the name inside the arguments). `raw` may include the
 * `<tool_call>` markers, as {@link MalformedEvent.raw} does. Returns `null` when the body is not a
 * JSON object (after removing up to three stray closing braces), already has a name, or no single
 * tool fits (see {@link inferToolName}).
 *
 * @example
 * ```ts
 * import { tryRepairMissingName } from "@cortex/qwen3";
 * const call = tryRepairMissingName('<tool_call>{"arguments": {"command": "ls -la"}}</tool_call>');
 * console.log(call); // { name: "bash", arguments: '{"command":"ls -la"}' }
 * ```
 */
export function tryRepairMissingName(
  raw: string,
  tools?: readonly ToolDefinition[],
): RepairedToolCall | null {
  let text = raw.trim();
  if (text.startsWith("<tool_call>")) text = text.slice("<tool_call>".length);
  if (text.endsWith("</tool_call>")) text = text.slice(0, -"</tool_call>".length);
  const body = _parseLenient(text.trim());
  if (!_isPlainObject(body)) return null;
  if (typeof body.name === "string" && body.name !== "") return null;
  if (body.name !== undefined && body.name !== null && typeof body.name !== "string") return null;
  return _repairNamelessCall(body, tools);
}
