/**
 * The API-key middleware: with keys configured, every route but `/health`, `/`, `/api/hello` and the
 * dashboard's static page (`/ui`, which asks for a key itself) needs a known key (401 otherwise) and
 * admin routes need an admin key (403), thrown for the app's error handler, which answers in the
 * client's dialect. Without keys, every request passes (as an admin).
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import type { MiddlewareHandler } from "hono";
import type { GatewayEnv } from "../context.ts";
import { type KeyRing, presentedKey } from "./keys.ts";

/** Options of {@linkcode apiKeyAuth}. */
export interface ApiKeyAuthOptions {
  /** Paths answered without a key. */
  publicPaths: readonly string[];
  /** Path prefix of the admin routes. */
  adminPrefix: string;
}

// `/api/hello` is Claude Code's reachability probe (sent without a key).
const _defaults = {
  publicPaths: ["/health", "/", "/api/hello", "/ui", "/ui/app.js", "/ui/app.css", "/ui/favicon.svg"],
  adminPrefix: "/admin",
} satisfies ApiKeyAuthOptions;

/**
 * Builds the middleware.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { KeyRing } from "./keys.ts";
 * import { apiKeyAuth } from "./middleware.ts";
 * const app = new Hono();
 * app.use(apiKeyAuth(await KeyRing.create([{ name: "ops", key: "secret-key-1", models: [], admin: true }])));
 * // refusals are thrown: the app's onError (`gateway/error_handler.ts`) answers them
 * ```
 */
export function apiKeyAuth(
  keys: KeyRing,
  options: Partial<ApiKeyAuthOptions> = {},
): MiddlewareHandler<GatewayEnv> {
  const { publicPaths, adminPrefix } = { ..._defaults, ...options };
  return async (c, next) => {
    c.set("keyName", null);
    c.set("keyModels", []);
    c.set("keyAdmin", !keys.required);
    const path = c.req.path;
    if (!keys.required || publicPaths.includes(path) || c.req.method === "OPTIONS") return await next();
    const secret = presentedKey(c.req.raw.headers);
    if (!secret) {
      throw new CortexError("missing API key: send `Authorization: Bearer <key>` or `x-api-key: <key>`", {
        code: "invalid_api_key",
        status: 401,
        type: "authentication_error",
      });
    }
    const key = await keys.lookup(secret);
    if (!key) {
      throw new CortexError("invalid API key", {
        code: "invalid_api_key",
        status: 401,
        type: "authentication_error",
      });
    }
    if (path.startsWith(adminPrefix) && !key.admin) {
      throw new CortexError(`API key '${key.name}' is not an admin key; admin routes need one`, {
        code: "permission_denied",
        status: 403,
      });
    }
    c.set("keyName", key.name);
    c.set("keyModels", key.models);
    c.set("keyAdmin", key.admin);
    return await next();
  };
}
