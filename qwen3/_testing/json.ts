/**
 * Test support: parsing JSON for comparisons without V8's escaped-key bug (see `../_json_parse.ts`).
 * @module
 */

import { _parseJson } from "../_json_parse.ts";

/** Parses JSON text or throws with the parser's message. */
export function parseJson(text: string): unknown {
  const result = _parseJson(text);
  if (!result.ok) throw new SyntaxError(result.error);
  return result.value;
}
