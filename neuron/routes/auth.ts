/**
 * Bearer-token check for every route when `neuron.toml` sets a token (the gateway sends
 * it); a missing or wrong token is a 401 `invalid_api_key` envelope.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { fleetError } from "@cortex/core/fleet";

function _sameBytes(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/**
 * A middleware requiring `Authorization: Bearer <token>`; with a null token it lets
 * everything through.
 *
 * @example
 * ```ts ignore
 * app.use("*", bearerAuth(config.token));
 * ```
 */
export function bearerAuth(token: string | null): MiddlewareHandler {
  return async (c, next) => {
    if (token !== null) {
      const header = c.req.header("authorization") ?? "";
      const match = /^Bearer\s+(.+)$/i.exec(header.trim());
      if (!match || !_sameBytes(match[1], token)) {
        throw fleetError("invalid_api_key", "missing or wrong bearer token for this neuron");
      }
    }
    await next();
  };
}
