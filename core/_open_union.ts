// Private helper: a discriminated union that also accepts objects whose discriminator is
// not one of the known values, so that clients sending newer block types are tolerated.
import { z } from "zod";

/**
 * `known` validated strictly when its discriminator matches; any object whose
 * discriminator is a string outside `values` passes through untouched.
 */
export function _openUnion<T, U = { type: string; [key: string]: unknown }>(
  key: string,
  values: readonly string[],
  known: z.ZodType<T>,
): z.ZodType<T | U> {
  const unknownVariant = z.looseObject({
    [key]: z.string().refine((v) => !values.includes(v), { message: `unknown ${key}`, abort: true }),
  });
  return z.union([known, unknownVariant]) as unknown as z.ZodType<T | U>;
}

/** Optional number that also accepts an explicit `null` (many clients send null for unset). */
export const _optNumber: z.ZodOptional<z.ZodNullable<z.ZodNumber>> = z.number().nullish();

/** Optional non-negative integer that also accepts `null`. */
export const _optCount: z.ZodOptional<z.ZodNullable<z.ZodNumber>> = z.number().int().min(0).nullish();
