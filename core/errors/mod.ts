/**
 * One internal error type ({@linkcode CortexError}: code, message, status, param,
 * retry-after) and the helpers that render it as an OpenAI or Anthropic envelope, plus
 * zod-issue formatting that names the JSON path at fault.
 *
 * @example
 * ```ts
 * import { CortexError, errorHeaders, toAnthropicErrorBody, toOpenAIErrorBody } from "@cortex/core/errors";
 * const err = new CortexError("no healthy nodes", { code: "service_unavailable", status: 503, retryAfter: 5 });
 * toOpenAIErrorBody(err); // {error: {message, type: "api_error", code: "service_unavailable", param: null}}
 * toAnthropicErrorBody(err); // {type: "error", error: {type: "overloaded_error", message}}
 * errorHeaders(err); // {"retry-after": "5"}
 * ```
 * @module
 */
export * from "./cortex_error.ts";
export * from "./envelopes.ts";
export * from "./zod_issues.ts";
export * from "../schema.ts";
