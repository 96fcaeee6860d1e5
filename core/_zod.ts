// Private: every exported Schema<T> is a zod schema at runtime; this recovers the zod
// type for composition inside the package.
import type { z } from "zod";
import type { Schema } from "./schema.ts";

/** The zod schema behind an exported {@linkcode Schema}. */
export function _zod<T>(schema: Schema<T>): z.ZodType<T> {
  return schema as unknown as z.ZodType<T>;
}
