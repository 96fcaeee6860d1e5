/**
 * JSON the way the Qwen3 chat template's `tojson` filter writes it (Python's `json.dumps` with
 * `ensure_ascii=False`): keys in insertion order, `", "` between items and `": "` after keys.
 * @module
 */

/**
 * Serialises a value like Python's `json.dumps(value, ensure_ascii=False)`.
 * Object keys whose value is `undefined` are left out (a JavaScript object's absent key), as
 * `JSON.stringify` does; `undefined` inside arrays becomes `null`.
 */
export function _pyJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
      return JSON.stringify(value) ?? "null";
    case "bigint":
      return value.toString();
    case "object":
      break;
    default:
      return "null";
  }
  if (Array.isArray(value)) {
    return "[" + value.map((item) => _pyJson(item)).join(", ") + "]";
  }
  const parts: string[] = [];
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (item === undefined || typeof item === "function" || typeof item === "symbol") continue;
    parts.push(JSON.stringify(key) + ": " + _pyJson(item));
  }
  return "{" + parts.join(", ") + "}";
}
