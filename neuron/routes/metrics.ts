/**
 * `GET /metrics`: the neuron's Prometheus exposition (see `metrics/neuron_metrics.ts`),
 * behind the same bearer token as every other route.
 *
 * @module
 */
import { Hono } from "hono";
import { type MetricsSource, neuronMetrics } from "../metrics/neuron_metrics.ts";

/**
 * The metrics router over the model registry.
 *
 * @example
 * ```ts ignore
 * app.route("/", metricsRoutes(registry));
 * ```
 */
export function metricsRoutes(source: MetricsSource): Hono {
  const app = new Hono();
  const registry = neuronMetrics(source);
  app.get(
    "/metrics",
    async (c) => c.body(await registry.metrics(), 200, { "content-type": registry.contentType }),
  );
  return app;
}
