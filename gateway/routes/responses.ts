/**
 * `POST /v1/responses`: the OpenAI Responses API, translated to chat completions for the
 * neuron and back (`proxy/translated.ts`). Failures are thrown, for the app's error handler.
 *
 * @module
 */
import { parseResponsesRequest } from "@cortex/core/responses";
import { responsesToChatRequest } from "@cortex/core/translate";
import { Hono } from "hono";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { readJsonBody, requireModel } from "../proxy/body.ts";
import { forward } from "../proxy/forward.ts";
import { takeKeepAlive } from "../proxy/keep_alive.ts";
import { sessionKeyOf } from "../proxy/session_key.ts";
import { translatedPlan } from "../proxy/translated.ts";
import { beginExchange } from "./_exchange.ts";

/** The Responses route. */
export function responsesRoutes(ctx: GatewayContext): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  const limit = ctx.config.gateway.body_limit_mb * 1024 * 1024;
  const idleMs = ctx.config.gateway.upstream_idle_timeout_s * 1000;
  app.post("/responses", async (c) => {
    const ex = beginExchange(c, ctx, "responses");
    const { json } = await readJsonBody(c.req.raw, limit);
    const model = requireModel(json);
    const keepAlive = takeKeepAlive(json, c.req.raw.headers);
    const request = parseResponsesRequest(json);
    const chat = responsesToChatRequest(request);
    const session = sessionKeyOf("responses", c.req.raw.headers, json)?.key ?? null;
    return await forward(
      { ...ex, session, keepAliveS: keepAlive.seconds },
      model,
      translatedPlan({ kind: "responses", request }, chat, ex.record, idleMs),
    );
  });
  return app;
}
