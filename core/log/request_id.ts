/**
 * The `x-request-id` both servers share: a client's id is kept when it is a short token
 * (letters, digits, `_ . : -`, at most 128), else a fresh UUID is made; the gateway
 * forwards the id to the neuron and both echo it in the response header and their log lines.
 *
 * @module
 */

/** The header carrying the id. */
export const REQUEST_ID_HEADER = "x-request-id";

const _VALID = /^[\w.:-]{1,128}$/;

/**
 * The id for a request: `given` when it is a valid id, else a new UUID.
 *
 * @example
 * ```ts
 * import { requestIdFrom } from "@cortex/core/log";
 * requestIdFrom("abc-123"); // "abc-123"
 * requestIdFrom("bad id with spaces").length; // 36 (a UUID)
 * ```
 */
export function requestIdFrom(given: string | null | undefined): string {
  return given && _VALID.test(given) ? given : crypto.randomUUID();
}
