/**
 * `POST /v1/messages` (Anthropic Messages, translated to chat completions and back) and
 * `POST /v1/messages/count_tokens` (exact: the neuron that serves the model renders the
 * conversation with the model's template and counts it with its tokenizer).
 *
 * @module
 */
import { CountTokensRequestSchema, MessagesRequestSchema } from "@cortex/core/anthropic";
import { CortexError, parseWithSchema, toCortexError } from "@cortex/core/errors";
import { anthropicCountTokensToChat, anthropicToChatRequest } from "@cortex/core/translate";
import { Hono } from "hono";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { readJsonBody, requireModel } from "../proxy/body.ts";
import { errorResponse } from "../proxy/dialect.ts";
import { authorizeModel, forward } from "../proxy/forward.ts";
import { RequestRecord } from "../proxy/request_record.ts";
import { sessionKeyOf } from "../proxy/session_key.ts";
import { translatedPlan } from "../proxy/translated.ts";

/** The Anthropic routes. */
export function messagesRoutes(ctx: GatewayContext): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  const limit = ctx.config.gateway.body_limit_mb * 1024 * 1024;
  const idleMs = ctx.config.gateway.upstream_idle_timeout_s * 1000;

  app.post("/messages", async (c) => {
    const record = new RequestRecord(ctx.metrics, "messages", c.get("startedAt"), c.get("requestLine"));
    const requestId = c.get("requestId");
    try {
      const { json } = await readJsonBody(c.req.raw, limit);
      const model = requireModel(json);
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
          keyName: c.get("keyName"),
          session,
        },
        model,
        translatedPlan({ kind: "messages" }, chat, record, idleMs),
      );
    } catch (error) {
      const e = toCortexError(error);
      record.finish(e.status, String(e.code));
      return errorResponse("messages", e, { "x-request-id": requestId });
    }
  });

  app.post("/messages/count_tokens", async (c) => {
    const record = new RequestRecord(ctx.metrics, "count_tokens", c.get("startedAt"), c.get("requestLine"));
    const requestId = c.get("requestId");
    const headers: Record<string, string> = { "x-request-id": requestId };
    try {
      const { json } = await readJsonBody(c.req.raw, limit);
      const model = requireModel(json);
      const parsed = parseWithSchema(CountTokensRequestSchema, json, "invalid_anthropic_body");
      if (!parsed.ok) throw parsed.error;
      const resolved = ctx.fleet.catalogue.resolve(model);
      record.model(ctx.fleet.isKnown(resolved) ? resolved : "unknown");
      authorizeModel({ ctx, keyModels: c.get("keyModels") }, model);
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
      headers["x-cortex-node"] = node.name;
      headers["x-cortex-cold-load-ms"] = "0";
      const chat = anthropicCountTokensToChat(parsed.value);
      const counted = await node.client.tokenize({ ...chat, model: neuronModelId }, c.req.raw.signal);
      record.usage({ promptTokens: counted.count });
      record.finish(200);
      return c.json({ input_tokens: counted.count }, 200, headers);
    } catch (error) {
      const e = toCortexError(error);
      record.finish(e.status, String(e.code));
      return errorResponse("count_tokens", e, headers);
    }
  });
  return app;
}
