/**
 * The API app: the request log (request id, arrival time, one line per request), CORS
 * (preflight answered before auth), API keys,
 * then the routes — `/health`, `/v1/models`, `/v1/chat/completions`, `/v1/completions`,
 * `/v1/responses`, `/v1/messages`, `/v1/messages/count_tokens`, `/admin/*` and the dashboard
 * `/ui`. Handlers and middleware throw; one error handler answers in the path's dialect.
 *
 * @module
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import type { KeyRing } from "./auth/keys.ts";
import { apiKeyAuth } from "./auth/middleware.ts";
import type { GatewayContext, GatewayEnv } from "./context.ts";
import { errorHandler, notFoundHandler } from "./error_handler.ts";
import { requestLog } from "./log/request_log.ts";
import { adminRoutes } from "./routes/admin.ts";
import { healthRoutes } from "./routes/health.ts";
import { messagesRoutes } from "./routes/messages.ts";
import { modelRoutes } from "./routes/models.ts";
import { openAIRoutes } from "./routes/openai.ts";
import { responsesRoutes } from "./routes/responses.ts";
import { uiRoutes } from "./routes/ui.ts";

/** Builds the API app over a gateway context and its keys. */
export function createApp(ctx: GatewayContext, keys: KeyRing): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  const created = Math.floor(Date.now() / 1000);
  const corsHandler = cors({
    origin: "*",
    exposeHeaders: ["x-request-id", "x-cortex-node", "x-cortex-cold-load-ms", "x-cortex-affinity"],
  });
  app.use(requestLog(ctx.log));
  // Only browsers send Origin; API clients skip the CORS work.
  app.use((c, next) => (c.req.raw.headers.has("origin") ? corsHandler(c, next) : next()));
  app.use(apiKeyAuth(keys));
  app.route("/", healthRoutes(ctx));
  app.route("/v1/models", modelRoutes(ctx, created));
  app.route("/v1", openAIRoutes(ctx));
  app.route("/v1", responsesRoutes(ctx));
  app.route("/v1", messagesRoutes(ctx));
  app.route("/admin", adminRoutes(ctx));
  app.route("/ui", uiRoutes(ctx));
  app.notFound(notFoundHandler);
  app.onError(errorHandler(ctx.log));
  return app;
}
