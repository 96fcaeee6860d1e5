/**
 * Small helpers over JSON text: minifying without re-serialising, and type checks.
 * @module
 */

import { _parseJson } from "./_json_parse.ts";

/** Whether `char` is JSON insignificant whitespace. */
export function _isJsonSpace(char: string): boolean {
  return char === " " || char === "\n" || char === "\r" || char === "\t";
}

/**
 * Removes the whitespace outside strings. On valid JSON the result is valid JSON of the same value,
 * with number spellings and string escapes kept exactly as written (no precision loss).
 */
export function _minifyJson(text: string): string {
  let out = "";
  let inString = false;
  let escape = false;
  let runStart = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (escape) escape = false;
      else if (char === "\\") escape = true;
      else if (char === '"') inString = false;
    } else if (char === '"') {
      inString = true;
    } else if (_isJsonSpace(char)) {
      out += text.slice(runStart, i);
      runStart = i + 1;
    }
  }
  return out + text.slice(runStart);
}

/** Whether `value` is a JSON object (not an array, not null). */
export function _isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Parses JSON (see {@link _parseJson}), returning `undefined` instead of an error. */
export function _tryParseJson(text: string): { value: unknown } | undefined {
  const result = _parseJson(text);
  return result.ok ? { value: result.value } : undefined;
}

/** A JSON type name for messages: `object`, `array`, `string`, `number`, `boolean` or `null`. */
export function _jsonTypeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}
