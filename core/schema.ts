/**
 * The validator interface every exported cortex schema satisfies. At runtime each schema
 * is a zod v4 schema; the public type is this small structural interface so the
 * package's API does not depend on zod's internal types.
 *
 * @module
 */

/** One validation problem as reported by a schema. */
export interface SchemaIssue {
  /** Issue kind, e.g. `invalid_type`. */
  readonly code?: string;
  /** Where in the input. */
  readonly path: PropertyKey[];
  /** Default message. */
  readonly message: string;
  /** The offending value (present when parsed with `reportInput: true`). */
  readonly input?: unknown;
}

/** The error of a failed validation. */
export interface SchemaError extends Error {
  /** Every problem found. */
  readonly issues: readonly SchemaIssue[];
}

/** The outcome of {@linkcode Schema.safeParse}. */
export type SchemaResult<T> =
  | { readonly success: true; readonly data: T }
  | { readonly success: false; readonly error: SchemaError };

/** Options of {@linkcode Schema.safeParse}. */
export interface SchemaParseOptions {
  /** Attach the offending input to each issue (used to say what was received). */
  reportInput?: boolean;
}

/**
 * A validator producing `T` (defaults applied, unknown keys kept). Every exported
 * `…Schema` constant is one; at runtime it is a zod schema.
 */
export interface Schema<T> {
  /** Returns the validated value or throws. */
  parse(input: unknown): T;
  /** Validates without throwing. */
  safeParse(input: unknown, options?: SchemaParseOptions): SchemaResult<T>;
}
