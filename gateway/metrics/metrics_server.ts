/**
 * The Prometheus listener's handler: `GET /metrics` answers the text exposition of the
 * gateway's registry; every other path is 404. It runs on `metrics_listen` only, never on
 * the API port.
 *
 * @module
 */
import type { Registry } from "prom-client";

/** A `Deno.serve` handler exposing `registry` at `/metrics`. */
export function metricsHandler(registry: Registry): (request: Request) => Promise<Response> {
  return async (request) => {
    const path = new URL(request.url).pathname;
    if (path !== "/metrics") return new Response("not found: metrics are at /metrics\n", { status: 404 });
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    return new Response(await registry.metrics(), { headers: { "content-type": registry.contentType } });
  };
}
