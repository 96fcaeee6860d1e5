/**
 * `POST /v1/chat/completions` and `POST /v1/completions`: OpenAI requests passed through to
 * the neuron that serves the model (see `proxy/openai_passthrough.ts`), less the gateway's own
 * `keep_alive` field.
 *
 * @module
 */
import { toCortexError } from "@cortex/core/errors";
import { type Context, Hono } from "hono";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { readJsonBody, requireModel } from "../proxy/body.ts";
import { type Dialect, errorResponse } from "../proxy/dialect.ts";
import { forward } from "../proxy/forward.ts";
import { takeKeepAlive } from "../proxy/keep_alive.ts";
import { openAIPassthrough } from "../proxy/openai_passthrough.ts";
import { RequestRecord } from "../proxy/request_record.ts";
import { sessionKeyOf } from "../proxy/session_key.ts";

const _encoder = new TextEncoder();

/** The OpenAI pass-through routes. */
export function openAIRoutes(ctx: GatewayContext): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  const limit = ctx.config.gateway.body_limit_mb * 1024 * 1024;
  const idleMs = ctx.config.gateway.upstream_idle_timeout_s * 1000;
  const handler =
    (dialect: Extract<Dialect, "chat" | "completions">, path: string) =>
    async (c: Context<GatewayEnv>): Promise<Response> => {
      const record = new RequestRecord(ctx.metrics, dialect, c.get("startedAt"));
      const requestId = c.get("requestId");
      try {
        let body = await readJsonBody(c.req.raw, limit);
        const model = requireModel(body.json);
        const keepAlive = takeKeepAlive(body.json, c.req.raw.headers);
        if (keepAlive.stripped) body = { json: body.json, bytes: _encoder.encode(JSON.stringify(body.json)) };
        const session = sessionKeyOf(dialect, c.req.raw.headers, body.json)?.key ?? null;
        return await forward(
          {
            ctx,
            request: c.req.raw,
            requestId,
            dialect,
            record,
            keyModels: c.get("keyModels"),
            session,
            keepAliveS: keepAlive.seconds,
          },
          model,
          openAIPassthrough(dialect, path, body, record, idleMs),
        );
      } catch (error) {
        const e = toCortexError(error);
        record.finish(e.status);
        return errorResponse(dialect, e, { "x-request-id": requestId });
      }
    };
  app.post("/chat/completions", handler("chat", "/v1/chat/completions"));
  app.post("/completions", handler("completions", "/v1/completions"));
  return app;
}
