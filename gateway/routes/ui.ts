/**
 * The dashboard: `GET /ui` (the page), `/ui/app.js`, `/ui/app.css` and `/ui/favicon.svg` (its only assets, served
 * from string modules so that it works offline and needs no read permission), all public —
 * the page asks for a key itself — and `GET /ui/state`, which needs a key when keys are set.
 * Loads and unloads go through the existing `/admin` routes.
 *
 * @module
 */
import { Hono } from "hono";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { UI_PAGE } from "../ui/page.ts";
import { UI_SCRIPT } from "../ui/script.ts";
import { dashboardState } from "../ui/state.ts";
import { UI_ICON, UI_STYLE } from "../ui/style.ts";

// The page loads nothing but its own script and style, and talks only to this gateway.
const _csp = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

function _asset(body: string, type: string): () => Response {
  return () =>
    new Response(body, {
      headers: {
        "content-type": `${type}; charset=utf-8`,
        "content-security-policy": _csp,
        "x-content-type-options": "nosniff",
        "cache-control": "no-cache",
      },
    });
}

/** `GET /ui`, `/ui/app.js`, `/ui/app.css`, `/ui/favicon.svg`, `/ui/state`. */
export function uiRoutes(ctx: GatewayContext): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  app.get("/", _asset(UI_PAGE, "text/html"));
  app.get("/app.js", _asset(UI_SCRIPT, "text/javascript"));
  app.get("/app.css", _asset(UI_STYLE, "text/css"));
  app.get("/favicon.svg", _asset(UI_ICON, "image/svg+xml"));
  app.get("/state", (c) => {
    c.header("cache-control", "no-store");
    return c.json(dashboardState(ctx, c.get("keyAdmin")));
  });
  return app;
}
