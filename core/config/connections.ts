/**
 * `[connections]`, shared by `cortex.toml` and `neuron.toml`: how long a client connection may
 * take to send its request head, pause inside its body, sit idle between requests or leave a
 * response unread, and how many connections one client address may hold. Defaults follow nginx.
 *
 * @module
 */
/** `[connections]`. */
export interface ConnectionsSection {
  /** Seconds from a connection's opening (or its next request's first byte) to a complete request head (default 60). */
  header_timeout_s: number;
  /** Longest pause in seconds between two chunks of a request body (default 60). */
  body_timeout_s: number;
  /** Seconds an idle keep-alive connection is kept waiting for its next request (default 75). */
  idle_timeout_s: number;
  /** Longest a client may leave response bytes unread, in seconds (default 60). */
  send_timeout_s: number;
  /** Open connections per client address; more are answered 429 (gateway default 256, neuron 4096). */
  max_per_client: number;
}

/** `[connections]` in the milliseconds a listener takes. */
export function connectionLimitsMs(section: ConnectionsSection): {
  headerTimeoutMs: number;
  bodyTimeoutMs: number;
  idleTimeoutMs: number;
  sendTimeoutMs: number;
  maxPerClient: number;
} {
  return {
    headerTimeoutMs: section.header_timeout_s * 1000,
    bodyTimeoutMs: section.body_timeout_s * 1000,
    idleTimeoutMs: section.idle_timeout_s * 1000,
    sendTimeoutMs: section.send_timeout_s * 1000,
    maxPerClient: section.max_per_client,
  };
}
