/**
 * Dialect error envelopes (OpenAI and Anthropic) built from one {@linkcode CortexError},
 * plus schemas to read an upstream's envelope back.
 *
 * @module
 */
import { z } from "zod";
import type { Schema } from "../schema.ts";
import { CortexError } from "./cortex_error.ts";

/** The inner object of an OpenAI error envelope; extras are merged beside the four standard keys. */
export interface OpenAIErrorObject {
  /** Human-readable message naming the problem. */
  message: string;
  /** Error class, e.g. `invalid_request_error`. */
  type: string;
  /** Machine-readable code, or null. */
  code: string | null;
  /** The offending request field, or null. */
  param: string | null;
  /** Diagnostic extras. */
  [extra: string]: unknown;
}

/** OpenAI error envelope: `{"error": {message, type, code, param, ...extras}}`. */
export interface OpenAIErrorBody {
  /** The error. */
  error: OpenAIErrorObject;
}

/** Anthropic error `type` vocabulary. */
export type AnthropicErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_error"
  | "api_error"
  | "overloaded_error"
  | (string & Record<never, never>);

/** Anthropic error envelope: `{"type":"error","error":{type, message}}`. */
export interface AnthropicErrorBody {
  /** Always `"error"`. */
  type: "error";
  /** The error. */
  error: {
    /** Error class, e.g. `not_found_error`. */
    type: AnthropicErrorType;
    /** Human-readable message. */
    message: string;
  };
}

/** Schema of an OpenAI error envelope (as returned by a neuron or another OpenAI server). */
export const OpenAIErrorBodySchema: Schema<OpenAIErrorBody> = z.looseObject({
  error: z.looseObject({
    message: z.string(),
    type: z.string().catch("api_error"),
    code: z.string().nullable().catch(null),
    param: z.string().nullable().catch(null),
  }),
});

/** Schema of an Anthropic error envelope. */
export const AnthropicErrorBodySchema: Schema<AnthropicErrorBody> = z.looseObject({
  type: z.literal("error"),
  error: z.looseObject({ type: z.string(), message: z.string() }),
});

/**
 * Builds the OpenAI envelope for an error; extras land inside `error`.
 *
 * @example
 * ```ts
 * import { CortexError, toOpenAIErrorBody } from "@cortex/core/errors";
 * const body = toOpenAIErrorBody(new CortexError("slow down", { code: "rate_limit_exceeded", status: 429 }));
 * body.error.type; // "rate_limit_error"
 * ```
 */
export function toOpenAIErrorBody(error: CortexError): OpenAIErrorBody {
  return {
    error: {
      ...error.extras,
      message: error.message,
      type: error.type,
      code: error.code,
      param: error.param,
    },
  };
}

/** The Anthropic error type for an HTTP status. */
export function anthropicErrorType(status: number): AnthropicErrorType {
  switch (status) {
    case 400:
    case 409:
    case 415:
    case 422:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return "overloaded_error";
    default:
      return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

/**
 * Builds the Anthropic envelope for an error (the same shape is the payload of a
 * streamed `error` event).
 */
export function toAnthropicErrorBody(error: CortexError): AnthropicErrorBody {
  return { type: "error", error: { type: anthropicErrorType(error.status), message: error.message } };
}

/** Response headers an error implies: `Retry-After` (whole seconds, at least 1) when retryable. */
export function errorHeaders(error: CortexError): Record<string, string> {
  if (error.retryAfter === null) return {};
  return { "retry-after": String(Math.max(1, Math.ceil(error.retryAfter))) };
}

/**
 * Reads an upstream OpenAI error envelope back into a {@linkcode CortexError} with the
 * upstream's status, so that it can be re-emitted in another dialect. Returns a generic
 * `upstream_error` when the body is not an envelope.
 */
export function fromOpenAIErrorBody(status: number, body: unknown, retryAfter?: number | null): CortexError {
  const parsed = OpenAIErrorBodySchema.safeParse(body);
  if (!parsed.success) {
    return new CortexError(`upstream returned ${status}`, {
      code: "upstream_error",
      status,
      retryAfter: retryAfter ?? null,
    });
  }
  const { message, type, code, param, ...extras } = parsed.data.error;
  return new CortexError(message, {
    code: code ?? "upstream_error",
    status,
    type,
    param,
    extras,
    retryAfter: retryAfter ?? null,
  });
}
