/**
 * `POST /v1/responses`: the OpenAI Responses API, translated to chat completions for the
 * neuron and back (`proxy/translated.ts`).
 *
 * @module
 */
import { parseWithSchema, toCortexError } from "@cortex/core/errors";
import { checkResponsesParameters, ResponsesRequestSchema } from "@cortex/core/responses";
import { responsesToChatRequest } from "@cortex/core/translate";
import { Hono } from "hono";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { readJsonBody, requireModel } from "../proxy/body.ts";
import { errorResponse } from "../proxy/dialect.ts";
import { forward } from "../proxy/forward.ts";
import { takeKeepAlive } from "../proxy/keep_alive.ts";
import { RequestRecord } from "../proxy/request_record.ts";
import { sessionKeyOf } from "../proxy/session_key.ts";
import { translatedPlan } from "../proxy/translated.ts";

/** The Responses route. */
export function responsesRoutes(ctx: GatewayContext): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  const limit = ctx.config.gateway.body_limit_mb * 1024 * 1024;
  const idleMs = ctx.config.gateway.upstream_idle_timeout_s * 1000;
  app.post("/responses", async (c) => {
    const record = new RequestRecord(ctx.metrics, "responses", c.get("startedAt"));
    const requestId = c.get("requestId");
    try {
      const { json } = await readJsonBody(c.req.raw, limit);
      const model = requireModel(json);
      const keepAlive = takeKeepAlive(json, c.req.raw.headers);
      const parsed = parseWithSchema(ResponsesRequestSchema, json);
      if (!parsed.ok) throw parsed.error;
      checkResponsesParameters(parsed.value);
      const chat = responsesToChatRequest(parsed.value);
      const session = sessionKeyOf("responses", c.req.raw.headers, json)?.key ?? null;
      return await forward(
        {
          ctx,
          request: c.req.raw,
          requestId,
          dialect: "responses",
          record,
          keyModels: c.get("keyModels"),
          session,
          keepAliveS: keepAlive.seconds,
        },
        model,
        translatedPlan({ kind: "responses", request: parsed.value }, chat, record, idleMs),
      );
    } catch (error) {
      const e = toCortexError(error);
      record.finish(e.status);
      return errorResponse("responses", e, { "x-request-id": requestId });
    }
  });
  return app;
}
