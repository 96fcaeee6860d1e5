/**
 * `GET /v1/models` and `GET /v1/models/{id}`: the catalogue × topology list (filtered to
 * what the client's key may use).
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import { Hono } from "hono";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { buildModelList } from "../fleet/model_list.ts";

/** The model routes; `created` is the gateway's start in unix seconds. */
export function modelRoutes(ctx: GatewayContext, created: number): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  app.get(
    "/",
    (c) =>
      c.json(
        buildModelList(ctx.fleet, ctx.scheduler.residency, {
          created,
          only: c.get("keyModels"),
          all: c.req.query("all") === "true",
        }),
      ),
  );
  app.get("/*", (c) => {
    const raw = c.req.path.replace(/^\/v1\/models\//, "");
    let id = raw;
    try {
      id = decodeURIComponent(raw);
    } catch {
      // Malformed percent-encoding names no model: answered as an unknown id, not a 500.
    }
    const entry = buildModelList(ctx.fleet, ctx.scheduler.residency, { created, only: c.get("keyModels") })
      .data.find((e) => e.id === id);
    if (!entry) {
      throw new CortexError(`model '${id}' not found`, {
        code: "model_not_found",
        status: 404,
        param: "model",
      });
    }
    return c.json(entry);
  });
  return app;
}
