/**
 * Typed look-ups in a GGUF header's metadata: a missing key is null, a key of the wrong type
 * is a 422 naming it, so callers never guess at shapes.
 *
 * @module
 */
import { ggufError } from "./read_header.ts";
import type { GgufHeader, GgufValue } from "./types.ts";

/** A string value, or null when absent. */
export function metaString(header: GgufHeader, key: string, file = "?"): string | null {
  const v = header.metadata.get(key)?.value;
  if (v === undefined) return null;
  if (typeof v !== "string") throw ggufError(file, `metadata '${key}' should be a string, got ${_kind(v)}`);
  return v;
}

/** A numeric value (any integer or float type), or null when absent. */
export function metaNumber(header: GgufHeader, key: string, file = "?"): number | null {
  const v = header.metadata.get(key)?.value;
  if (v === undefined) return null;
  if (typeof v === "bigint") throw ggufError(file, `metadata '${key}' = ${v} is out of range`);
  if (typeof v !== "number") throw ggufError(file, `metadata '${key}' should be a number, got ${_kind(v)}`);
  return v;
}

/** A boolean value, or null when absent. */
export function metaBool(header: GgufHeader, key: string, file = "?"): boolean | null {
  const v = header.metadata.get(key)?.value;
  if (v === undefined) return null;
  if (typeof v !== "boolean") throw ggufError(file, `metadata '${key}' should be a bool, got ${_kind(v)}`);
  return v;
}

/** An array whose items all pass `check`, or null when absent. */
export function metaArray<T extends GgufValue>(
  header: GgufHeader,
  key: string,
  check: (item: GgufValue) => item is T,
  file = "?",
): T[] | null {
  const v = header.metadata.get(key)?.value;
  if (v === undefined) return null;
  if (!Array.isArray(v)) throw ggufError(file, `metadata '${key}' should be an array, got ${_kind(v)}`);
  for (let i = 0; i < v.length; i++) {
    if (!check(v[i])) throw ggufError(file, `metadata '${key}'[${i}] has the wrong type (${_kind(v[i])})`);
  }
  return v as T[];
}

/** Item checks for {@linkcode metaArray}. */
export const isString = (v: GgufValue): v is string => typeof v === "string";
/** Item checks for {@linkcode metaArray}. */
export const isNumber = (v: GgufValue): v is number => typeof v === "number";

function _kind(v: GgufValue): string {
  return Array.isArray(v) ? "an array" : typeof v;
}
