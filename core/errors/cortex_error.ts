/**
 * The one internal error type of cortex: every failure carries a machine-readable
 * code, a message a user can act on, an HTTP status and optional retry hint, and is
 * mapped to a dialect's envelope only at the edge.
 *
 * @module
 */

/**
 * Error codes cortex produces. Known codes are listed for completion; any other
 * string is allowed so that upstream codes can pass through unchanged.
 */
export type ErrorCode =
  | "invalid_request_body"
  | "malformed_json"
  | "unsupported_media_type"
  | "missing_model_field"
  | "invalid_anthropic_body"
  | "unsupported_parameter"
  | "chained_conversation_not_supported"
  | "context_length_exceeded"
  | "model_not_found"
  | "vision_unsupported"
  | "template_render_failed"
  | "invalid_api_key"
  | "permission_denied"
  | "request_too_large"
  | "rate_limit_exceeded"
  | "insufficient_quota"
  | "insufficient_memory"
  | "bad_model_folder"
  | "model_busy"
  | "model_load_failed"
  | "backend_unavailable"
  | "service_unavailable"
  | "shutting_down"
  | "upstream_connection_error"
  | "upstream_error"
  | "upstream_malformed_response"
  | "internal_translation_error"
  | "internal_error"
  | (string & Record<never, never>);

/**
 * The OpenAI `error.type` vocabulary. Derived from the status unless given.
 */
export type OpenAIErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "insufficient_quota"
  | "api_error"
  | (string & Record<never, never>);

/** Options accepted by the {@linkcode CortexError} constructor. */
export interface CortexErrorOptions {
  /** Machine-readable code, e.g. `"model_not_found"`. */
  code: ErrorCode;
  /** HTTP status to answer with. */
  status: number;
  /** The request field at fault as a JSON path (`messages[0].content`), or null. */
  param?: string | null;
  /** Seconds the client should wait before retrying; sets `Retry-After`. */
  retryAfter?: number | null;
  /** OpenAI `error.type`; derived from `status` and `code` when absent. */
  type?: OpenAIErrorType;
  /** Diagnostic keys merged inside the OpenAI `error` object (e.g. `max`, `prompt_tokens`). */
  extras?: Record<string, unknown>;
  /** The underlying cause, kept for logs only. */
  cause?: unknown;
}

/**
 * The OpenAI error type conventionally used for an HTTP status and code.
 *
 * @example
 * ```ts
 * import { defaultErrorType } from "@cortex/core/errors";
 * defaultErrorType(429, "rate_limit_exceeded"); // "rate_limit_error"
 * ```
 */
export function defaultErrorType(status: number, code: ErrorCode): OpenAIErrorType {
  if (code === "insufficient_quota") return "insufficient_quota";
  if (status === 429) return "rate_limit_error";
  if (code === "rate_limit_exceeded") return "rate_limit_error";
  if (status >= 500) return "api_error";
  if (status === 403) return "permission_error";
  return "invalid_request_error";
}

/**
 * An error value with a code, a message naming the problem, an HTTP status, an
 * optional `param` (JSON path) and an optional retry hint in seconds.
 *
 * @example
 * ```ts
 * import { CortexError, toOpenAIErrorBody } from "@cortex/core/errors";
 * const err = new CortexError("model 'x' not found", { code: "model_not_found", status: 404 });
 * toOpenAIErrorBody(err).error.code; // "model_not_found"
 * ```
 */
export class CortexError extends Error {
  /** Machine-readable code. */
  readonly code: ErrorCode;
  /** HTTP status. */
  readonly status: number;
  /** The request field at fault, or null. */
  readonly param: string | null;
  /** Seconds before a retry makes sense, or null when retrying will not help. */
  readonly retryAfter: number | null;
  /** OpenAI `error.type`. */
  readonly type: OpenAIErrorType;
  /** Diagnostic extras merged into the OpenAI envelope. */
  readonly extras: Record<string, unknown>;

  /** Builds an error; see {@linkcode CortexErrorOptions}. */
  constructor(message: string, options: CortexErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CortexError";
    this.code = options.code;
    this.status = options.status;
    this.param = options.param ?? null;
    this.retryAfter = options.retryAfter ?? null;
    this.type = options.type ?? defaultErrorType(options.status, options.code);
    this.extras = options.extras ?? {};
  }
}

/**
 * Wraps anything thrown into a {@linkcode CortexError}: a `CortexError` is returned as
 * is, anything else becomes a 500 `internal_error` carrying its message.
 */
export function toCortexError(thrown: unknown): CortexError {
  if (thrown instanceof CortexError) return thrown;
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return new CortexError(message || "internal error", { code: "internal_error", status: 500, cause: thrown });
}
