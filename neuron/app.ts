/**
 * The neuron's HTTP surface: the request log (outermost: `x-request-id`, one line per
 * request), the control API, Prometheus `/metrics` and the OpenAI-compatible inference
 * routes, composed from small routers, behind an optional bearer token. Every error —
 * thrown by a handler, a bad body, an unknown route — leaves as an OpenAI error envelope.
 *
 * @module
 */
import { Hono } from "hono";
import { CortexError } from "@cortex/core/errors";
import { Logger } from "@cortex/core/log";
import { bearerAuth } from "./routes/auth.ts";
import { chatCompletionsRoutes } from "./routes/chat_completions.ts";
import { completionsRoutes } from "./routes/completions.ts";
import { controlRoutes, type ControlState } from "./routes/control.ts";
import { errorResponse } from "./routes/_http.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { requestLog } from "./routes/request_log.ts";
import { responsesRoutes } from "./routes/responses.ts";
import { tokenizeRoutes } from "./routes/tokenize.ts";
import type { PromptPool } from "./prompts/mod.ts";

/** What the app serves from. */
export interface NeuronAppState extends ControlState {
  /** Bearer token the gateway must send, or null. */
  token: string | null;
  /** Where the inference routes parse, render and tokenise prompts (large ones off the main thread). */
  prompts: PromptPool;
  /** Request lines go here (default: nowhere). */
  log?: Logger;
  /** Put prompt text on request lines (`[log] prompts`, default false). */
  logPrompts?: boolean;
}

/**
 * Builds the Hono app.
 *
 * @example
 * ```ts ignore
 * const app = createNeuronApp(state);
 * Deno.serve({ port: 13131 }, app.fetch);
 * ```
 */
export function createNeuronApp(state: NeuronAppState): Hono {
  const app = new Hono();
  app.onError((error) => errorResponse(error));
  app.notFound((c) =>
    errorResponse(
      new CortexError(`no route ${c.req.method} ${c.req.path}`, { code: "not_found", status: 404 }),
    )
  );
  app.use("*", requestLog(state.log ?? Logger.silent("neuron"), { prompts: state.logPrompts ?? false }));
  app.use("*", bearerAuth(state.token));
  app.route("/", controlRoutes(state));
  app.route("/", metricsRoutes(state.registry));
  app.route("/", chatCompletionsRoutes(state.registry, state.prompts));
  app.route("/", responsesRoutes(state.registry, state.prompts));
  app.route("/", completionsRoutes(state.registry, state.prompts));
  app.route("/", tokenizeRoutes(state.registry, state.prompts));
  return app;
}
