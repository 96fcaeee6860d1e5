/**
 * Test support: seeded random JSON values, shaped by the pools a test draws from.
 * @module
 */
import type { Rng } from "./random.ts";

/** What a generated value is made of. */
export interface JsonShape {
  /** Integers are drawn from [min, max]. */
  ints: readonly [number, number];
  /** Non-integer numbers are picked from this list. */
  floats: readonly number[];
  /** Strings are up to `stringPieces` pieces from `strings`. */
  strings: readonly string[];
  stringPieces: number;
  /** Draws one object key. */
  key: (rng: Rng) => string;
  /** Objects have fewer than `maxKeys` keys. */
  maxKeys: number;
  /** Past this depth no further arrays or objects are made. */
  maxDepth: number;
}

/** A random JSON value (number, boolean, null, string, array or object) at nesting `depth`. */
export function randomJsonValue(rng: Rng, shape: JsonShape, depth: number): unknown {
  switch (rng.int(depth > shape.maxDepth ? 5 : 7)) {
    case 0:
      return rng.range(shape.ints[0], shape.ints[1]);
    case 1:
      return rng.pick(shape.floats);
    case 2:
      return rng.chance(0.5);
    case 3:
      return null;
    case 4:
      return rng.text(shape.strings, shape.stringPieces);
    case 5:
      return Array.from({ length: rng.int(4) }, () => randomJsonValue(rng, shape, depth + 1));
    default:
      return randomJsonObject(rng, shape, depth + 1);
  }
}

/** A random JSON object whose values sit at nesting `depth`. */
export function randomJsonObject(rng: Rng, shape: JsonShape, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = rng.int(shape.maxKeys); i > 0; i--) out[shape.key(rng)] = randomJsonValue(rng, shape, depth);
  return out;
}
