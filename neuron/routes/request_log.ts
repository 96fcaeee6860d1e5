/**
 * The neuron's request log: every request gets the gateway's `x-request-id` (or a new one),
 * echoed in the response header, and one line when its response's last byte has gone —
 * model, status, prompt/completion/cached tokens, TTFT, duration, finish reason, error code,
 * and the prompt's text only when `[log] prompts = true`. The inference routes fill the line
 * in through {@linkcode NeuronRequestLog}; `/health`, `/models` and `/metrics` polls are `debug`.
 *
 * @module
 */
import {
  type Logger,
  newRequestLine,
  onResponseEnd,
  REQUEST_ID_HEADER,
  requestIdFrom,
  type RequestLine,
  requestLineFields,
} from "@cortex/core/log";
import type { MiddlewareHandler } from "hono";

/** One request's log entry as the routes see it. */
export interface NeuronRequestLog {
  /** The line written when the response ends. */
  line: RequestLine;
  /** `performance.now()` at arrival (TTFT is measured from it). */
  startedAt: number;
  /** Whether the prompt's text may go on the line (`[log] prompts`). */
  prompts: boolean;
}

declare module "hono" {
  interface ContextVariableMap {
    /** The request's log entry (set by {@linkcode requestLog}). */
    requestLog: NeuronRequestLog;
  }
}

const _POLLED = new Set(["/health", "/models", "/metrics", "/version", "/discovery"]);

/**
 * The request-id and request-log middleware.
 *
 * @example
 * ```ts ignore
 * app.use("*", requestLog(logger, { prompts: false }));
 * ```
 */
export function requestLog(log: Logger, options: { prompts: boolean }): MiddlewareHandler {
  return async (c, next) => {
    const startedAt = performance.now();
    const requestId = requestIdFrom(c.req.header(REQUEST_ID_HEADER));
    const line = newRequestLine(requestId, c.req.method, c.req.path);
    c.set("requestLog", { line, startedAt, prompts: options.prompts });
    await next();
    c.res.headers.set(REQUEST_ID_HEADER, requestId);
    const level = _POLLED.has(c.req.path) ? "debug" : "info";
    if (!log.enabled(level)) return;
    const status = c.res.status;
    if (status >= 400 && line.error === null) line.error = await _errorCode(c.res);
    line.stream = (c.res.headers.get("content-type") ?? "").includes("text/event-stream");
    c.res = onResponseEnd(c.res, (outcome) => {
      line.status = outcome === "cancelled" ? 499 : status;
      if (outcome === "cancelled") line.error ??= "client_closed_request";
      line.duration_ms = Math.round(performance.now() - startedAt);
      log.log(level, "request", requestLineFields(line));
    });
  };
}

async function _errorCode(response: Response): Promise<string | null> {
  try {
    const code = (await response.clone().json() as { error?: { code?: unknown } })?.error?.code;
    return typeof code === "string" ? code : null;
  } catch {
    return null;
  }
}
