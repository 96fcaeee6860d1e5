/**
 * `POST /v1/messages` (Anthropic Messages, translated to chat completions and back) and
 * `POST /v1/messages/count_tokens` (exact: the neuron that serves the model renders the
 * conversation with the model's template and counts it with its tokenizer).
 *
 * @module
 */
import { CountTokensRequestSchema, MessagesRequestSchema } from "@cortex/core/anthropic";
import { parseWithSchema, toCortexError } from "@cortex/core/errors";
import { anthropicCountTokensToChat, anthropicToChatRequest } from "@cortex/core/translate";
import { Hono } from "hono";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import type { Route } from "../fleet/router.ts";
import { readJsonBody, requireModel } from "../proxy/body.ts";
import { errorResponse } from "../proxy/dialect.ts";
import { authorizeModel, forward } from "../proxy/forward.ts";
import { takeKeepAlive } from "../proxy/keep_alive.ts";
import { RequestRecord } from "../proxy/request_record.ts";
import { sessionKeyOf } from "../proxy/session_key.ts";
import { translatedPlan } from "../proxy/translated.ts";

/** The Anthropic routes. */
export function messagesRoutes(ctx: GatewayContext): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  const limit = ctx.config.gateway.body_limit_mb * 1024 * 1024;
  const idleMs = ctx.config.gateway.upstream_idle_timeout_s * 1000;

  app.post("/messages", async (c) => {
    const record = new RequestRecord(ctx.metrics, "messages", c.get("startedAt"));
    const requestId = c.get("requestId");
    try {
      const { json } = await readJsonBody(c.req.raw, limit);
      const model = requireModel(json);
      const keepAlive = takeKeepAlive(json, c.req.raw.headers);
      const parsed = parseWithSchema(MessagesRequestSchema, json, "invalid_anthropic_body");
      if (!parsed.ok) throw parsed.error;
      const chat = anthropicToChatRequest(parsed.value);
      const session = sessionKeyOf("messages", c.req.raw.headers, json)?.key ?? null;
      return await forward(
        {
          ctx,
          request: c.req.raw,
          requestId,
          dialect: "messages",
          record,
          keyModels: c.get("keyModels"),
          session,
          keepAliveS: keepAlive.seconds,
        },
        model,
        translatedPlan({ kind: "messages" }, chat, record, idleMs),
      );
    } catch (error) {
      const e = toCortexError(error);
      record.finish(e.status);
      return errorResponse("messages", e, { "x-request-id": requestId });
    }
  });

  app.post("/messages/count_tokens", async (c) => {
    const record = new RequestRecord(ctx.metrics, "count_tokens", c.get("startedAt"));
    const requestId = c.get("requestId");
    const headers: Record<string, string> = { "x-request-id": requestId };
    let route: Route | null = null;
    try {
      const { json } = await readJsonBody(c.req.raw, limit);
      const model = requireModel(json);
      const keepAlive = takeKeepAlive(json, c.req.raw.headers);
      const parsed = parseWithSchema(CountTokensRequestSchema, json, "invalid_anthropic_body");
      if (!parsed.ok) throw parsed.error;
      const resolved = ctx.fleet.catalogue.resolve(model);
      record.model(ctx.fleet.isKnown(resolved) ? resolved : "unknown");
      authorizeModel({ ctx, keyModels: c.get("keyModels") }, model);
      route = await ctx.router.route(model, { keepAliveS: keepAlive.seconds });
      record.bind(route.modelId, route.node.name, route.coldLoadMs > 0);
      headers["x-cortex-node"] = route.node.name;
      headers["x-cortex-cold-load-ms"] = String(route.coldLoadMs);
      const chat = anthropicCountTokensToChat(parsed.value);
      const counted = await route.node.client.tokenize(
        { ...chat, model: route.neuronModelId },
        c.req.raw.signal,
      );
      record.usage({ promptTokens: counted.count });
      record.finish(200);
      return c.json({ input_tokens: counted.count }, 200, headers);
    } catch (error) {
      const e = toCortexError(error);
      record.finish(e.status);
      return errorResponse("count_tokens", e, headers);
    } finally {
      route?.release();
    }
  });
  return app;
}
