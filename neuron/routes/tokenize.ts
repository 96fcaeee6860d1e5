/**
 * `POST /tokenize`: the exact prompt token count of a chat (rendered through the model's
 * template with its tools, as `/v1/chat/completions` would) or of a raw prompt (as
 * `/v1/completions` would); the gateway's Anthropic `count_tokens` uses it.
 *
 * @module
 */
import { Hono } from "hono";
import type { TokenizeResponse } from "@cortex/core/fleet";
import type { PromptPool } from "../prompts/mod.ts";
import type { ModelRegistry } from "../runtime/registry.ts";
import { readJsonBytes } from "./_http.ts";
import { acquireFor } from "./_inference.ts";

/** The tokenize router. */
export function tokenizeRoutes(registry: ModelRegistry, prompts: PromptPool): Hono {
  const app = new Hono();
  app.post("/tokenize", async (c) => {
    const job = await prompts.parse("tokenize", await readJsonBytes(c.req.raw));
    const model = acquireFor(registry, job);
    const { count } = await job.build(model, {});
    const body: TokenizeResponse = { model: job.request.model, count };
    return c.json(body);
  });
  return app;
}
