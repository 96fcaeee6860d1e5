/**
 * The contract between the scheduler and constrained decoding: before each token a generation
 * outputs, its constraint says whether the token is sampled freely, sampled within a hard mask
 * (applied natively on the device thread), forced, or whether the output is complete.
 *
 * @module
 */
import type { TokenMask } from "../devices/mod.ts";

/** What a {@linkcode DecodeConstraint} wants next. */
export type ConstraintAction =
  /** Sample with no restriction. */
  | { type: "free" }
  /** Sample within the mask. */
  | { type: "mask"; mask: TokenMask }
  /** These tokens come next, as output, without sampling (the constraint has already taken them). */
  | { type: "force"; tokens: readonly number[] }
  /** The output is complete: end the generation. */
  | { type: "end" };

/** A per-generation constraint on the output tokens; stateful, used by one generation only. */
export interface DecodeConstraint {
  /**
   * Decides what comes next; `remaining` is how many more tokens the generation may output (its
   * token budget and its room in the context, whichever is smaller). Called before every sample
   * and again after a `force`.
   */
  next(remaining: number): ConstraintAction;
  /** Takes a token the engine sampled under the last action. */
  accept(token: number): void;
}

/**
 * A constraint that forbids some tokens everywhere (e.g. the tool-call opener for
 * `tool_choice: "none"`).
 *
 * @example
 * ```ts
 * import { forbidTokens } from "./decode_constraint.ts";
 * forbidTokens([151657]).next(10); // { type: "mask", mask: { deny: Int32Array [151657] } }
 * ```
 */
export function forbidTokens(tokens: readonly number[]): DecodeConstraint {
  const action: ConstraintAction = { type: "mask", mask: { deny: Int32Array.from(tokens) } };
  return { next: () => action, accept: () => {} };
}
