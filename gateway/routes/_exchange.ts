// Private to the routes: how an inference route begins a request.
import type { Context } from "hono";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import type { Dialect } from "../proxy/dialect.ts";
import type { Exchange } from "../proxy/forward.ts";
import { RequestRecord } from "../proxy/request_record.ts";

/**
 * Begins an inference request in `dialect`: its measurements (kept on `c`, so that the app's
 * error handler finishes them when the handler throws) and its exchange for `forward`.
 */
export function beginExchange(c: Context<GatewayEnv>, ctx: GatewayContext, dialect: Dialect): Exchange {
  const record = new RequestRecord(ctx.metrics, dialect, c.get("startedAt"), c.get("requestLine"));
  c.set("record", record);
  return {
    ctx,
    request: c.req.raw,
    requestId: c.get("requestId"),
    record,
    keyModels: c.get("keyModels"),
    keyName: c.get("keyName"),
    header: c.header,
  };
}
