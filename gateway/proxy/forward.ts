/**
 * The request pipeline every inference route shares: route the model (maybe a cold load),
 * send the dialect's upstream body to the chosen neuron — once more elsewhere if the
 * connection is refused — map a non-2xx answer to the client's error envelope, and let the
 * dialect build the 2xx response. Response headers `x-cortex-node`,
 * `x-cortex-cold-load-ms`, `x-cortex-affinity` (requests with a session) and `x-request-id`
 * are set here.
 *
 * @module
 */
import { CortexError, toCortexError } from "@cortex/core/errors";
import type { Route } from "../fleet/router.ts";
import type { GatewayContext } from "../context.ts";
import { type Dialect, errorResponse } from "./dialect.ts";
import type { RequestRecord } from "./request_record.ts";
import { ConnectFailure, postUpstream, upstreamError } from "./upstream.ts";

/** One client request in flight through the pipeline. */
export interface Exchange {
  /** Gateway parts. */
  ctx: GatewayContext;
  /** The client's request. */
  request: Request;
  /** `x-request-id`. */
  requestId: string;
  /** Client dialect. */
  dialect: Dialect;
  /** Measurements. */
  record: RequestRecord;
  /** Models the client's key may use (empty: all). */
  keyModels: readonly string[];
  /** The request's session key (`session_key.ts`), or null for none. */
  session?: string | null;
  /** The request's keep-alive in seconds (`keep_alive.ts`), or null for none. */
  keepAliveS?: number | null;
}

/** What a dialect sends upstream and how it answers the client. */
export interface UpstreamPlan {
  /** Neuron path, e.g. `/v1/chat/completions`. */
  path: string;
  /** The upstream body for the chosen route (model rewritten to the neuron's id). */
  body(route: Route): string | Uint8Array;
  /**
   * Builds the client's response from a 2xx upstream response. It must call `done(status)`
   * exactly once when the response is over (the relay's close), which releases the route.
   */
  respond(upstream: Response, route: Route, done: (status: number) => void): Promise<Response> | Response;
}

/** Runs the pipeline for a request asking for model `requested`. */
export async function forward(ex: Exchange, requested: string, plan: UpstreamPlan): Promise<Response> {
  const { ctx, request, record } = ex;
  const abort = new AbortController();
  const onAbort = (): void => abort.abort();
  request.signal.addEventListener("abort", onAbort, { once: true });
  const headers: Record<string, string> = { "x-request-id": ex.requestId };
  let route: Route | null = null;
  try {
    const resolved = ctx.fleet.catalogue.resolve(requested);
    // Unknown names do not become label values (clients could create series at will).
    record.model(ctx.fleet.isKnown(resolved) ? resolved : "unknown");
    authorizeModel(ex, requested);
    const session = ex.session ?? null;
    const keepAliveS = ex.keepAliveS ?? null;
    route = await _untilAborted(ctx.router.route(requested, { session, keepAliveS }), abort.signal);
    _routeHeaders(headers, route);
    record.bind(route.modelId, route.node.name, route.coldLoadMs > 0);
    let upstream: Response | null = null;
    for (let attempt = 0; upstream === null; attempt++) {
      try {
        upstream = await postUpstream(route, plan.path, plan.body(route), {
          requestId: ex.requestId,
          signal: abort.signal,
        });
      } catch (error) {
        if (!(error instanceof ConnectFailure) || attempt > 0) throw error;
        // The node is gone: route around it at once and try once more elsewhere.
        const failed = route.node;
        failed.markUnreachable(error.message);
        void ctx.poller.pollNode(failed);
        route.release();
        route = null;
        route = await _untilAborted(
          ctx.router.route(requested, { session, keepAliveS, avoid: [failed.name] }),
          abort.signal,
        );
        _routeHeaders(headers, route);
        record.bind(route.modelId, route.node.name, route.coldLoadMs > 0);
      }
    }
    if (!upstream.ok) throw await upstreamError(upstream, route.node.name);
    const current = route;
    let released = false;
    const response = await plan.respond(upstream, current, (status) => {
      if (released) return;
      released = true;
      current.release();
      record.finish(status);
    });
    for (const [k, v] of Object.entries(headers)) response.headers.set(k, v);
    return response;
  } catch (error) {
    route?.release();
    const e = toCortexError(error);
    record.finish(e.status);
    return errorResponse(ex.dialect, e, headers);
  } finally {
    request.signal.removeEventListener("abort", onAbort);
  }
}

/** Refuses (403) a model the client's key may not use; checks the name asked for and what it resolves to. */
export function authorizeModel(ex: Pick<Exchange, "ctx" | "keyModels">, requested: string): void {
  if (ex.keyModels.length === 0) return;
  const resolved = ex.ctx.fleet.catalogue.resolve(requested);
  if (ex.keyModels.includes(requested) || ex.keyModels.includes(resolved)) return;
  throw new CortexError(`this API key may not use model '${requested}'`, {
    code: "permission_denied",
    status: 403,
    param: "model",
  });
}

function _routeHeaders(headers: Record<string, string>, route: Route): void {
  headers["x-cortex-node"] = route.node.name;
  headers["x-cortex-cold-load-ms"] = String(route.coldLoadMs);
  if (route.affinity !== null) headers["x-cortex-affinity"] = route.affinity;
  else delete headers["x-cortex-affinity"];
}

// Waits for `promise` unless the client goes away first; a route that arrives later is released.
function _untilAborted(promise: Promise<Route>, signal: AbortSignal): Promise<Route> {
  if (signal.aborted) {
    promise.then((r) => r.release(), () => {});
    return Promise.reject(_closed());
  }
  return new Promise<Route>((resolve, reject) => {
    const onAbort = (): void => {
      promise.then((r) => r.release(), () => {});
      reject(_closed());
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (r) => {
        signal.removeEventListener("abort", onAbort);
        if (signal.aborted) r.release();
        resolve(r);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

function _closed(): CortexError {
  return new CortexError("the client closed the request", { code: "client_closed_request", status: 499 });
}
