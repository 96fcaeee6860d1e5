/**
 * The API app's one place where a failure becomes an answer, the Hono way: handlers and
 * middleware throw (a `CortexError`, or anything else for a bug), and {@linkcode errorHandler}
 * answers in the envelope of the dialect the path implies, with the error's status and
 * `Retry-After`, plus the headers the handler had set (`c.header`: `x-cortex-node`, …).
 * It also closes the request's measurements (`record`) with the error's status and code.
 *
 * @module
 */
import { CortexError, errorHeaders, toCortexError } from "@cortex/core/errors";
import type { Logger } from "@cortex/core/log";
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { GatewayEnv } from "./context.ts";
import { dialectOfPath, errorBody } from "./proxy/dialect.ts";

/**
 * The `app.onError` handler. Anything thrown that is not a `CortexError` is a bug: it is logged
 * (`unhandled_error`) and answered as a 500 `internal_error`.
 *
 * @example
 * ```ts ignore
 * app.onError(errorHandler(ctx.log));
 * ```
 */
export function errorHandler(log: Logger): ErrorHandler<GatewayEnv> {
  return (thrown, c) => {
    const error = toCortexError(thrown);
    if (!(thrown instanceof CortexError)) {
      log.error("unhandled_error", {
        request_id: c.get("requestId"),
        path: c.req.path,
        message: error.message,
      });
    }
    c.get("record")?.finish(error.status, String(error.code));
    return errorAnswer(c, error);
  };
}

/** The `app.notFound` handler: a 404 `not_found` in the path's dialect. */
export const notFoundHandler: NotFoundHandler<GatewayEnv> = (c) =>
  errorAnswer(
    c,
    new CortexError(`no route ${c.req.method} ${c.req.path}`, { code: "not_found", status: 404 }),
  );

/** The error as the JSON answer of the path's dialect, with the headers set on `c` so far. */
export function errorAnswer(c: Context<GatewayEnv>, error: CortexError): Response {
  return c.json(
    errorBody(dialectOfPath(c.req.path), error),
    error.status as ContentfulStatusCode,
    errorHeaders(error),
  );
}
