/**
 * `GET /health` (and `GET /`), public: `ok` when every node answers, `impaired` when some
 * node is unhealthy or a model failed to load on a healthy one (for as long as its neuron lists
 * the failure, `failed_load_ttl_s`), `degraded` when no node is healthy. Always 200, so a load
 * balancer can read the body. Public, so it names nodes, models and error codes only: no
 * addresses, no error texts (they may hold file-system paths; `/admin/fleet` has them).
 * `GET /api/hello`, public, is the reachability probe Claude Code sends (HEAD too, as for every
 * GET route).
 *
 * @module
 */
import type { GatewayHealth } from "@cortex/core/fleet";
import { Hono } from "hono";
import type { GatewayContext, GatewayEnv } from "../context.ts";

/** The `/health` document (its shape: `GatewayHealth` in `@cortex/core/fleet`). */
export function healthDocument(ctx: GatewayContext): GatewayHealth {
  const nodes = ctx.fleet.nodes;
  const healthy = nodes.filter((n) => n.healthy && !n.draining);
  const failed = healthy.flatMap((n) =>
    [...n.models.values()]
      .filter((m) => m.status === "failed")
      .map((m) => ({
        node: n.name,
        model: ctx.fleet.catalogue.publicId(m.id),
        reason: m.error?.code ?? null,
      }))
  );
  const unhealthy = nodes.filter((n) => !(n.healthy && !n.draining)).map((n) => ({
    node: n.name,
    draining: n.draining,
    error: n.lastError,
  }));
  const status = nodes.length > 0 && healthy.length === 0
    ? "degraded"
    : unhealthy.length > 0 || failed.length > 0
    ? "impaired"
    : "ok";
  return {
    status,
    nodes: { healthy: healthy.length, total: nodes.length },
    ...(unhealthy.length > 0 ? { unhealthy } : {}),
    ...(failed.length > 0 ? { unservable: failed } : {}),
  };
}

/** `GET /health`, `GET /` and `GET /api/hello`. */
export function healthRoutes(ctx: GatewayContext): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  app.get("/health", (c) => c.json(healthDocument(ctx)));
  app.get("/", (c) => c.json(healthDocument(ctx)));
  app.get("/api/hello", (c) => c.json({ status: "ok" }));
  return app;
}
