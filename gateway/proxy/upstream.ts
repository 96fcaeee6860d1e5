/**
 * Sending a request to the neuron a route chose: the neuron's bearer token (never the
 * client's key), the request id, cancellation when the client goes away; a refused
 * connection is reported apart so the caller can mark the node unreachable and try another.
 *
 * @module
 */
import { CortexError, fromOpenAIErrorBody, OpenAIErrorBodySchema } from "@cortex/core/errors";
import { transportDetail } from "../fleet/neuron_client.ts";
import type { Route } from "../fleet/router.ts";

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

/** POSTs `body` to `path` on the route's neuron; resolves with the response once its headers arrive. */
export async function postUpstream(
  route: Route,
  path: string,
  body: string | Uint8Array,
  options: { requestId: string; signal: AbortSignal; accept?: string },
): Promise<Response> {
  const client = route.node.client;
  try {
    return await fetch(`${client.endpoint}${path}`, {
      method: "POST",
      headers: {
        ...client.authHeaders(),
        "content-type": "application/json",
        "accept": options.accept ?? "application/json, text/event-stream",
        "x-request-id": options.requestId,
      },
      body: body as BodyInit,
      signal: options.signal,
    });
  } catch (cause) {
    if (options.signal.aborted) {
      throw new CortexError("the client closed the request", {
        code: "client_closed_request",
        status: 499,
        cause,
      });
    }
    if (_isConnectError(cause)) throw new ConnectFailure(route.node.name, cause);
    throw new CortexError(`request to neuron '${route.node.name}' failed: ${transportDetail(cause)}`, {
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
  } catch {
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

function _isConnectError(error: unknown): boolean {
  const text = error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error);
  return /\(Connect\)|tcp connect|connection refused|ECONNREFUSED/i.test(text);
}
