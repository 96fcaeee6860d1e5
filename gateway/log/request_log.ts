/**
 * The gateway's request log: the outermost middleware gives every request its
 * `x-request-id` (the client's when valid, else a new one), echoes it in the response
 * header, and writes one line per request when the response's last byte has gone, with
 * what the handlers filled in (key name, dialect, model, node, tokens, TTFT, cold load,
 * finish reason, error code). Health probes (`/health`, `/`) are logged at `debug`.
 *
 * @module
 */
import {
  type Logger,
  newRequestLine,
  onResponseEnd,
  REQUEST_ID_HEADER,
  requestIdFrom,
  requestLineFields,
} from "@cortex/core/log";
import type { MiddlewareHandler } from "hono";
import type { GatewayEnv } from "../context.ts";

/**
 * The request-id and request-log middleware.
 *
 * @example
 * ```ts ignore
 * app.use(requestLog(ctx.log));
 * ```
 */
export function requestLog(log: Logger): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const startedAt = performance.now();
    const requestId = requestIdFrom(c.req.header(REQUEST_ID_HEADER));
    const line = newRequestLine(requestId, c.req.method, c.req.path);
    Object.assign(line, { key: null, dialect: null, node: null, cold_load_ms: null });
    c.set("startedAt", startedAt);
    c.set("requestId", requestId);
    c.set("requestLine", line);
    await next();
    c.res.headers.set(REQUEST_ID_HEADER, requestId);
    const level = c.req.path === "/health" || c.req.path === "/" ? "debug" : "info";
    if (!log.enabled(level)) return;
    const status = c.res.status;
    if (status >= 400 && line.error === null) line.error = await _errorCode(c.res);
    const streamed = (c.res.headers.get("content-type") ?? "").includes("text/event-stream");
    c.res = onResponseEnd(c.res, (outcome) => {
      line.status ??= outcome === "cancelled" ? 499 : status;
      line.stream = streamed;
      line.key = c.get("keyName") ?? null;
      line.duration_ms = Math.round(performance.now() - startedAt);
      log.log(level, "request", requestLineFields(line));
    });
  };
}

// The code of an error answer no handler named (auth, unknown routes): the OpenAI envelope's
// `code`, else the Anthropic envelope's `type`.
async function _errorCode(response: Response): Promise<string | null> {
  if (!(response.headers.get("content-type") ?? "").includes("application/json")) return null;
  try {
    const body = await response.clone().json() as { error?: { code?: unknown; type?: unknown } };
    const code = body?.error?.code ?? body?.error?.type;
    return typeof code === "string" ? code : null;
  } catch {
    return null;
  }
}
