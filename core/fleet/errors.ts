/**
 * The neuron control API's error codes and their HTTP statuses. Every control and
 * inference error is a {@linkcode CortexError} sent in the OpenAI envelope (the original
 * used flat `{"error": text}` bodies on control routes; cortex does not).
 *
 * @module
 */
import { CortexError } from "../errors/cortex_error.ts";

/** Codes a neuron answers with, and their statuses. */
export const FLEET_ERROR_STATUS: Readonly<Record<FleetErrorCode, number>> = Object.freeze({
  invalid_request_body: 400,
  malformed_json: 400,
  invalid_api_key: 401,
  model_not_found: 404,
  model_busy: 409,
  request_too_large: 413,
  unsupported_media_type: 415,
  bad_model_folder: 422,
  unsupported_architecture: 422,
  quant_not_found: 422,
  context_length_exceeded: 400,
  rate_limit_exceeded: 429,
  model_load_failed: 500,
  internal_error: 500,
  backend_unavailable: 503,
  shutting_down: 503,
  insufficient_memory: 507,
});

/**
 * Neuron error codes:
 * - `model_not_found` (404): no such configured model and not a fetchable hub id;
 * - `model_busy` (409): unload refused while requests are in flight;
 * - `bad_model_folder` / `unsupported_architecture` (422): the folder lacks `config.json`,
 *   weights or tokenizer, or the architecture is not implemented;
 * - `quant_not_found` (422): no `.gguf` of the folder or hub repository matches `quant`
 *   (extras `offered`, `nearest`);
 * - `insufficient_memory` (507): extras `required_mb`, `available_mb`, `device`;
 * - `rate_limit_exceeded` (429) with `Retry-After` when the queue is full;
 * - `shutting_down` (503) while draining.
 */
export type FleetErrorCode =
  | "invalid_request_body"
  | "malformed_json"
  | "invalid_api_key"
  | "model_not_found"
  | "model_busy"
  | "request_too_large"
  | "unsupported_media_type"
  | "bad_model_folder"
  | "unsupported_architecture"
  | "quant_not_found"
  | "context_length_exceeded"
  | "rate_limit_exceeded"
  | "model_load_failed"
  | "internal_error"
  | "backend_unavailable"
  | "shutting_down"
  | "insufficient_memory";

/**
 * Builds a neuron error with the status its code implies.
 *
 * @example
 * ```ts
 * import { fleetError } from "@cortex/core/fleet";
 * const err = fleetError("insufficient_memory", "model 'x' needs 900 MB on device 0; 512 MB free", {
 *   extras: { required_mb: 900, available_mb: 512, device: 0 },
 * });
 * err.status; // 507
 * ```
 */
export function fleetError(
  code: FleetErrorCode,
  message: string,
  options: { param?: string | null; retryAfter?: number | null; extras?: Record<string, unknown> } = {},
): CortexError {
  const retryAfter = options.retryAfter ?? (code === "shutting_down" ? 15 : null);
  return new CortexError(message, { code, status: FLEET_ERROR_STATUS[code], ...options, retryAfter });
}
