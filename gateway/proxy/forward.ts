/**
 * The request pipeline every inference route shares: route the model (maybe a cold load),
 * send the dialect's upstream body to the chosen neuron within the call's bounds — once
 * more elsewhere when the node refused, was lost or stayed silent before anything reached
 * the client — throw a non-2xx answer as a `CortexError` (the app's error handler says it in
 * the client's envelope), and let the dialect build the 2xx response. Response headers
 * `x-cortex-node`, `x-cortex-cold-load-ms` and `x-cortex-affinity` (requests with a session)
 * are set here, on an error answer too (through {@linkcode Exchange.header}).
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import { NodeLost } from "../fleet/node_state.ts";
import type { Route } from "../fleet/route.ts";
import type { GatewayContext } from "../context.ts";
import type { RequestRecord } from "./request_record.ts";
import {
  ConnectFailure,
  postUpstream,
  type UpstreamCall,
  upstreamError,
  UpstreamSilent,
} from "./upstream.ts";

/** One client request in flight through the pipeline. */
export interface Exchange {
  /** Gateway parts. */
  ctx: GatewayContext;
  /** The client's request. */
  request: Request;
  /** `x-request-id`. */
  requestId: string;
  /** Measurements. */
  record: RequestRecord;
  /** Models the client's key may use (empty: all). */
  keyModels: readonly string[];
  /** The request's session key (`session_key.ts`), or null for none. */
  session?: string | null;
  /** The API key's name (its swap budget applies), or null without keys. */
  keyName?: string | null;
  /** Sets a header of the client's answer should the request fail (Hono's `c.header`). */
  header(name: string, value: string): void;
  /** The request's keep-alive in seconds (`keep_alive.ts`), or null for none. */
  keepAliveS?: number | null;
}

/** What a dialect sends upstream and how it answers the client. */
export interface UpstreamPlan {
  /** Neuron path, e.g. `/v1/chat/completions`. */
  path: string;
  /** Whether the neuron will stream its answer (headers at admission) or send it whole. */
  streamed: boolean;
  /** The upstream body for the chosen route (model rewritten to the neuron's id). */
  body(route: Route): string | Uint8Array;
  /** Client headers the neuron should see too (e.g. `x-include-thinking`); none when absent. */
  headers?: Record<string, string>;
  /** Words a neuron's refusal in the client's terms (e.g. Responses `input` for `messages`). */
  upstreamError?(error: CortexError): CortexError;
  /**
   * Builds the client's response from a 2xx upstream response. It must call `done(status)`
   * exactly once when the response is over (the relay's close), which releases the route.
   */
  respond(upstream: Response, route: Route, done: (status: number) => void): Promise<Response> | Response;
}

/**
 * Runs the pipeline for a request asking for model `requested`. Throws a `CortexError` for the
 * app's error handler when it cannot be served (the route released, the route headers set).
 */
export async function forward(ex: Exchange, requested: string, plan: UpstreamPlan): Promise<Response> {
  const { ctx, request, record } = ex;
  const abort = new AbortController();
  const onAbort = (): void => abort.abort();
  request.signal.addEventListener("abort", onAbort, { once: true });
  const headers: Record<string, string> = {};
  const bounds = {
    headerTimeoutMs: ctx.config.gateway.upstream_header_timeout_s * 1000,
    totalTimeoutMs: ctx.config.gateway.upstream_total_timeout_s * 1000,
  };
  let route: Route | null = null;
  try {
    const resolved = ctx.fleet.catalogue.resolve(requested);
    // Unknown names do not become label values (clients could create series at will).
    record.model(ctx.fleet.isKnown(resolved) ? resolved : "unknown");
    authorizeModel(ex, requested);
    const routing = {
      session: ex.session ?? null,
      keyName: ex.keyName ?? null,
      keepAliveS: ex.keepAliveS ?? null,
      signal: abort.signal,
    };
    route = await _untilAborted(ctx.scheduler.route(requested, routing), abort.signal);
    for (let attempt = 0;; attempt++) {
      const lease: Route = route;
      _routeHeaders(headers, lease);
      record.bind(lease.modelId, lease.node.name, lease.coldLoadMs);
      let call: UpstreamCall | null = null;
      try {
        call = await postUpstream(lease, plan.path, plan.body(lease), {
          requestId: ex.requestId,
          signal: abort.signal,
          streamed: plan.streamed,
          headers: plan.headers,
          ...bounds,
        });
        if (!call.response.ok) {
          const refusal = await upstreamError(call.response, lease.node.name);
          throw plan.upstreamError?.(refusal) ?? refusal;
        }
        const current = call;
        let released = false;
        const response = await plan.respond(call.response, lease, (status) => {
          if (released) return;
          released = true;
          current.end();
          lease.release();
          record.finish(status);
        });
        for (const [k, v] of Object.entries(headers)) response.headers.set(k, v);
        return response;
      } catch (error) {
        call?.end();
        if (attempt > 0 || !_retryable(ex, lease, error)) throw error;
        // Nothing has reached the client: route around the node once.
        lease.release();
        route = null;
        route = await _untilAborted(
          ctx.scheduler.route(requested, { ...routing, avoid: [lease.node.name] }),
          abort.signal,
        );
      }
    }
  } catch (error) {
    route?.release();
    for (const [k, v] of Object.entries(headers)) ex.header(k, v);
    throw error;
  } finally {
    request.signal.removeEventListener("abort", onAbort);
  }
}

/**
 * Whether a failed call may go once more to another node, reporting the node's state on the
 * way: a refused connection takes the node out of rotation (any node that can serve the
 * model will do, cold-loading it if need be); a node lost or silent is left for another
 * healthy replica that holds the model loaded, and a silent one is polled at once.
 */
function _retryable(ex: Exchange, failed: Route, error: unknown): boolean {
  const node = failed.node;
  if (error instanceof ConnectFailure) {
    ex.ctx.poller.reportUnreachable(node, error.message);
    return true;
  }
  if (error instanceof UpstreamSilent) ex.ctx.poller.reportSilent(node);
  else if (!(error instanceof NodeLost)) return false;
  return ex.ctx.scheduler.replicas(failed.neuronModelId).some((n) => n !== node);
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
