/**
 * Typing of Qwen3-Coder XML parameter values (`<parameter=KEY>VALUE</parameter>`), which are raw
 * text, by the JSON-schema type the tool declares for KEY.
 * @module
 */

import { _isPlainObject, _minifyJson, _tryParseJson } from "./_json_text.ts";
import type { JsonSchema, ToolDefinition } from "./types.ts";

const _JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** The JSON-schema types declared for `key` of tool `toolName`; empty when undeclared. */
export function _declaredTypes(
  tools: readonly ToolDefinition[] | undefined,
  toolName: string,
  key: string,
): string[] {
  const tool = tools?.find((candidate) => candidate.function?.name === toolName);
  const properties = tool?.function.parameters?.properties;
  if (properties === undefined || !Object.hasOwn(properties, key)) return [];
  return _schemaTypes(properties[key]);
}

function _schemaTypes(schema: JsonSchema | undefined): string[] {
  if (schema === undefined || schema === null || typeof schema !== "object") return [];
  const types: string[] = [];
  if (typeof schema.type === "string") types.push(schema.type);
  else if (Array.isArray(schema.type)) types.push(...schema.type.filter((t) => typeof t === "string"));
  for (const alternative of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) {
    types.push(..._schemaTypes(alternative));
  }
  return [...new Set(types)];
}

/**
 * The value text with one leading and one trailing newline removed: the inverse of the
 * `<parameter=KEY>\nVALUE\n</parameter>` layout, keeping indentation and inner newlines.
 */
export function _stripValueNewlines(raw: string): string {
  const start = raw.startsWith("\n") ? 1 : 0;
  const end = raw.length > start && raw.endsWith("\n") ? raw.length - 1 : raw.length;
  return raw.slice(start, end);
}

/**
 * The JSON text for a raw XML parameter value: tried against each declared non-string type (null,
 * boolean, integer/number, object, array), falling back to a string. Undeclared keys take any
 * value that parses as JSON, else a string.
 */
export function _coerceXmlValue(raw: string, types: readonly string[]): string {
  const trimmed = raw.trim();
  if (types.length === 0) {
    return _tryParseJson(trimmed) !== undefined
      ? _minifyJson(trimmed)
      : JSON.stringify(_stripValueNewlines(raw));
  }
  // Qwen3-Coder's template writes scalars with Python's str(): True, False, None.
  if (types.includes("null") && (trimmed === "null" || trimmed === "None")) return "null";
  if (types.includes("boolean")) {
    const lower = trimmed.toLowerCase();
    if (lower === "true" || lower === "false") return lower;
  }
  if ((types.includes("integer") || types.includes("number")) && _JSON_NUMBER.test(trimmed)) return trimmed;
  if (types.includes("object") || types.includes("array")) {
    const parsed = _tryParseJson(trimmed);
    if (parsed !== undefined) {
      const isObject = _isPlainObject(parsed.value);
      const isArray = Array.isArray(parsed.value);
      if ((isObject && types.includes("object")) || (isArray && types.includes("array"))) {
        return _minifyJson(trimmed);
      }
    }
  }
  return JSON.stringify(_stripValueNewlines(raw));
}

/** Whether a key's values are always strings, so they can be streamed as they arrive. */
export function _isStringOnly(types: readonly string[]): boolean {
  return types.length === 1 && types[0] === "string";
}
