/**
 * The shared core of tool-name repair, used by the stream parser and `tryRepairMissingName`.
 * @module
 */

import { _isPlainObject, _tryParseJson } from "./_json_text.ts";
import { inferToolName } from "./infer_tool_name.ts";
import type { ToolDefinition } from "./types.ts";

/**
 * Names a parsed tool-call object that lacks a top-level name: hoists `arguments.name` when it
 * names a tool (any string when no tools are declared), else infers from the argument keys. A body
 * with no `arguments` key is taken as the arguments themselves.
 */
export function _repairNamelessCall(
  body: Record<string, unknown>,
  tools: readonly ToolDefinition[] | undefined,
): { name: string; arguments: string } | null {
  let args: unknown = body;
  if (Object.hasOwn(body, "arguments")) {
    args = body.arguments;
    if (typeof args === "string") args = _tryParseJson(args)?.value;
  }
  if (!_isPlainObject(args)) return null;
  const nested = args.name;
  const declared = tools !== undefined && tools.length > 0;
  if (
    args !== body && typeof nested === "string" && nested !== "" &&
    (!declared || tools.some((tool) => tool?.function?.name === nested))
  ) {
    const { name: _name, ...rest } = args;
    return { name: nested, arguments: JSON.stringify(rest) };
  }
  const name = inferToolName(args, tools);
  return name === null ? null : { name, arguments: JSON.stringify(args) };
}
