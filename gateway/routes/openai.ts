/**
 * `POST /v1/chat/completions` and `POST /v1/completions`: OpenAI requests, less the gateway's own
 * `keep_alive` field, validated as the neuron validates them (so a malformed body never triggers a
 * cold load), then passed through to the neuron that serves the model (see
 * `proxy/openai_passthrough.ts`). Failures are thrown, for the app's error handler.
 *
 * @module
 */
import { parseChatRequest, parseCompletionRequest } from "@cortex/core/openai";
import { type Context, Hono } from "hono";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { readJsonBody, requireModel } from "../proxy/body.ts";
import type { Dialect } from "../proxy/dialect.ts";
import { forward } from "../proxy/forward.ts";
import { takeKeepAlive } from "../proxy/keep_alive.ts";
import { openAIPassthrough } from "../proxy/openai_passthrough.ts";
import { sessionKeyOf } from "../proxy/session_key.ts";
import { beginExchange } from "./_exchange.ts";

const _encoder = new TextEncoder();

/** The OpenAI pass-through routes. */
export function openAIRoutes(ctx: GatewayContext): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  const limit = ctx.config.gateway.body_limit_mb * 1024 * 1024;
  const idleMs = ctx.config.gateway.upstream_idle_timeout_s * 1000;
  const handler =
    (dialect: Extract<Dialect, "chat" | "completions">, path: string) =>
    async (c: Context<GatewayEnv>): Promise<Response> => {
      const ex = beginExchange(c, ctx, dialect);
      let body = await readJsonBody(c.req.raw, limit);
      const model = requireModel(body.json);
      const keepAlive = takeKeepAlive(body.json, c.req.raw.headers);
      if (keepAlive.stripped) body = { json: body.json, bytes: _encoder.encode(JSON.stringify(body.json)) };
      // Validated as the neuron will, before any placement: a request that will be a 400 loads nothing.
      if (dialect === "chat") parseChatRequest(body.json);
      else parseCompletionRequest(body.json);
      const session = sessionKeyOf(dialect, c.req.raw.headers, body.json)?.key ?? null;
      return await forward(
        { ...ex, session, keepAliveS: keepAlive.seconds },
        model,
        openAIPassthrough(dialect, path, body, ex.record, idleMs, c.req.raw.headers),
      );
    };
  app.post("/chat/completions", handler("chat", "/v1/chat/completions"));
  app.post("/completions", handler("completions", "/v1/completions"));
  return app;
}
