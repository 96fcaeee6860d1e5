/**
 * `POST /v1/messages` (Anthropic Messages, translated to chat completions and back) and
 * `POST /v1/messages/count_tokens` (exact: the neuron that serves the model renders the
 * conversation with the model's template and counts it with its tokenizer). Failures are thrown,
 * for the app's error handler.
 *
 * @module
 */
import { CountTokensRequestSchema, MessagesRequestSchema } from "@cortex/core/anthropic";
import { CortexError, parseWithSchema } from "@cortex/core/errors";
import { anthropicCountTokensToChat, anthropicToChatRequest } from "@cortex/core/translate";
import { Hono } from "hono";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { readJsonBody, requireModel } from "../proxy/body.ts";
import { authorizeModel, forward } from "../proxy/forward.ts";
import { takeKeepAlive } from "../proxy/keep_alive.ts";
import { sessionKeyOf } from "../proxy/session_key.ts";
import { translatedPlan } from "../proxy/translated.ts";
import { beginExchange } from "./_exchange.ts";

/** The Anthropic routes. */
export function messagesRoutes(ctx: GatewayContext): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  const limit = ctx.config.gateway.body_limit_mb * 1024 * 1024;
  const idleMs = ctx.config.gateway.upstream_idle_timeout_s * 1000;

  app.post("/messages", async (c) => {
    const ex = beginExchange(c, ctx, "messages");
    const { json } = await readJsonBody(c.req.raw, limit);
    const model = requireModel(json);
    const keepAlive = takeKeepAlive(json, c.req.raw.headers);
    const parsed = parseWithSchema(MessagesRequestSchema, json, "invalid_anthropic_body");
    if (!parsed.ok) throw parsed.error;
    const chat = anthropicToChatRequest(parsed.value);
    const session = sessionKeyOf("messages", c.req.raw.headers, json)?.key ?? null;
    return await forward(
      { ...ex, session, keepAliveS: keepAlive.seconds },
      model,
      translatedPlan({ kind: "messages" }, chat, ex.record, idleMs),
    );
  });

  app.post("/messages/count_tokens", async (c) => {
    const { record, keyModels } = beginExchange(c, ctx, "count_tokens");
    const { json } = await readJsonBody(c.req.raw, limit);
    const model = requireModel(json);
    // Accepted like everywhere, and moot here: counting loads nothing whose idle time it could set.
    takeKeepAlive(json, c.req.raw.headers);
    const parsed = parseWithSchema(CountTokensRequestSchema, json, "invalid_anthropic_body");
    if (!parsed.ok) throw parsed.error;
    const resolved = ctx.fleet.catalogue.resolve(model);
    record.model(ctx.fleet.isKnown(resolved) ? resolved : "unknown");
    authorizeModel({ ctx, keyModels }, model);
    // Counting never loads weights: a node serving the model counts with it, else one that lists it
    // counts with the tokenizer and template read from its files.
    const neuronModelId = ctx.fleet.catalogue.neuronId(resolved);
    const node = ctx.scheduler.tokenizerNode(neuronModelId);
    if (node === null) {
      throw new CortexError(`model '${model}' is not offered by any healthy node`, {
        code: "model_not_found",
        status: 404,
        param: "model",
      });
    }
    record.bind(resolved, node.name, 0);
    c.header("x-cortex-node", node.name);
    c.header("x-cortex-cold-load-ms", "0");
    const chat = anthropicCountTokensToChat(parsed.value);
    const counted = await node.client.tokenize({ ...chat, model: neuronModelId }, c.req.raw.signal);
    record.usage({ promptTokens: counted.count });
    record.finish(200);
    return c.json({ input_tokens: counted.count });
  });
  return app;
}
