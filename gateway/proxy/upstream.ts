/**
 * Sending a request to the neuron a route chose: the neuron's bearer token (never the
 * client's key), the request id, and a bound on every phase — a connection slot from the
 * node's pool, the response headers of a stream within `upstream_header_timeout_s`, a whole
 * non-streamed answer within `upstream_total_timeout_s` — and an end as soon as the client
 * goes away or the node is marked unhealthy. Failures that leave the client untouched and
 * may succeed elsewhere (refused connection, node lost, no headers in time) are their own
 * classes, so the caller can route around the node once.
 *
 * @module
 */
import { CortexError, fromOpenAIErrorBody, OpenAIErrorBodySchema } from "@cortex/core/errors";
import type { ReleaseSlot } from "../fleet/connection_slots.ts";
import { transportDetail } from "../fleet/neuron_client.ts";
import type { Route } from "../fleet/route.ts";

/** A connection to the neuron that could not be made (nothing was sent: safe to retry elsewhere). */
export class ConnectFailure extends CortexError {
  /** The node that refused. */
  readonly node: string;

  /** Wraps the transport error; the message names the node, never its address (the log has that). */
  constructor(node: string, cause: unknown) {
    super(`neuron '${node}' is unreachable: ${transportDetail(cause)}`, {
      code: "upstream_connection_error",
      status: 502,
      retryAfter: 3,
      cause,
    });
    this.node = node;
  }
}

/** A streamed call whose neuron sent no response headers within the header timeout. */
export class UpstreamSilent extends CortexError {
  /** The silent node. */
  readonly node: string;

  /** The error after `timeoutMs` without headers. */
  constructor(node: string, timeoutMs: number) {
    super(
      `neuron '${node}' sent no response within ${_seconds(timeoutMs)} s (upstream_header_timeout_s)`,
      { code: "upstream_timeout", status: 504, retryAfter: 1 },
    );
    this.node = node;
  }
}

/** Bounds of one call, from `[gateway]`. */
export interface UpstreamBounds {
  /** A streamed call's wait for a connection slot and the response headers, in ms. */
  headerTimeoutMs: number;
  /** A non-streamed call's whole duration (slot, headers, body), in ms. */
  totalTimeoutMs: number;
}

/** Options of {@linkcode postUpstream}. */
export interface UpstreamCallOptions extends UpstreamBounds {
  /** `x-request-id`. */
  requestId: string;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
  /** Whether the neuron answers with a stream (its headers then come before the generation). */
  streamed: boolean;
  /** `accept` header (default JSON or SSE). */
  accept?: string;
  /** Client headers the neuron should see too (e.g. `x-include-thinking`). */
  headers?: Record<string, string>;
}

/** A neuron call whose response headers arrived. */
export interface UpstreamCall {
  /** The neuron's response; its body stays bound to the client, the node and the deadline. */
  response: Response;
  /** Ends the call: stops its deadline and gives the connection slot back (idempotent). */
  end(): void;
}

/**
 * POSTs `body` to `path` on the route's neuron; resolves once its response headers arrive.
 * Rejects with a 499 when the client left, the node's {@linkcode NodeLost} when it was marked
 * unhealthy, {@linkcode UpstreamSilent} after the header timeout, a 429 when no connection
 * slot came free in that time, {@linkcode ConnectFailure} when the connection was refused.
 */
export async function postUpstream(
  route: Route,
  path: string,
  body: string | Uint8Array,
  options: UpstreamCallOptions,
): Promise<UpstreamCall> {
  const node = route.node;
  const client = node.client;
  const lost = node.lostSignal;
  const bound = new AbortController();
  const signal = AbortSignal.any([options.signal, lost, bound.signal]);
  let release: ReleaseSlot | null = null;
  const limitMs = options.streamed ? options.headerTimeoutMs : options.totalTimeoutMs;
  const timer = setTimeout(() => {
    if (release === null) bound.abort(_slotsBusy(node.name, client.slots.max, limitMs));
    else if (options.streamed) bound.abort(new UpstreamSilent(node.name, limitMs));
    else bound.abort(_tooSlow(node.name, limitMs));
  }, limitMs);
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    release?.();
  };
  try {
    release = await client.slots.acquire(signal);
    const response = await client.fetch(path, {
      method: "POST",
      headers: {
        ...options.headers,
        ...client.authHeaders(),
        "content-type": "application/json",
        "accept": options.accept ?? "application/json, text/event-stream",
        "x-request-id": options.requestId,
      },
      body: body as BodyInit,
      signal,
    });
    // A stream's headers came before its generation, which the idle timeout bounds from here.
    if (options.streamed) clearTimeout(timer);
    return { response, end };
  } catch (cause) {
    end();
    if (options.signal.aborted) {
      throw new CortexError("the client closed the request", {
        code: "client_closed_request",
        status: 499,
        cause,
      });
    }
    if (lost.aborted) throw lost.reason;
    if (bound.signal.aborted) throw bound.signal.reason;
    if (_isConnectError(cause)) throw new ConnectFailure(node.name, cause);
    throw new CortexError(`request to neuron '${node.name}' failed: ${transportDetail(cause)}`, {
      code: "upstream_connection_error",
      status: 502,
      cause,
    });
  }
}

/**
 * Reads a non-2xx upstream answer (at most 64 KiB) into an error: the neuron's own
 * envelope when it sent one, with its status and `Retry-After`.
 */
export async function upstreamError(response: Response, node: string): Promise<CortexError> {
  const retry = Number(response.headers.get("retry-after"));
  const retryAfter = Number.isFinite(retry) && retry > 0 ? retry : null;
  let payload: unknown = null;
  try {
    const text = await response.text();
    payload = text.length <= 65536 ? JSON.parse(text) : null;
  } catch (error) {
    // The node went away or the deadline passed while the error body was read.
    if (error instanceof CortexError) throw error;
    payload = null;
  }
  if (OpenAIErrorBodySchema.safeParse(payload).success) {
    return fromOpenAIErrorBody(response.status, payload, retryAfter);
  }
  return new CortexError(`neuron '${node}' answered ${response.status} ${response.statusText}`.trim(), {
    code: "upstream_error",
    status: response.status >= 400 ? response.status : 502,
    retryAfter,
  });
}

function _slotsBusy(node: string, max: number, waitedMs: number): CortexError {
  return new CortexError(
    `all ${max} connections to neuron '${node}' stayed busy for ${
      _seconds(waitedMs)
    } s (upstream_max_connections)`,
    { code: "rate_limit_exceeded", status: 429, retryAfter: 1 },
  );
}

function _tooSlow(node: string, limitMs: number): CortexError {
  return new CortexError(
    `neuron '${node}' did not answer in full within ${_seconds(limitMs)} s (upstream_total_timeout_s)`,
    { code: "upstream_timeout", status: 504 },
  );
}

function _seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}

function _isConnectError(error: unknown): boolean {
  const text = error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error);
  return /\(Connect\)|tcp connect|connection refused|ECONNREFUSED/i.test(text);
}
