/**
 * `POST /tokenize`: the exact prompt token count of a chat (rendered through the model's
 * template with its tools, as `/v1/chat/completions` would) or of a raw prompt (as
 * `/v1/completions` would); the gateway's Anthropic `count_tokens` uses it. A model that is not loaded
 * is counted with its tokenizer and template read from its files — no weights are loaded.
 *
 * @module
 */
import { Hono } from "hono";
import type { TokenizeResponse } from "@cortex/core/fleet";
import type { PromptPool } from "../prompts/mod.ts";
import type { ModelRegistry } from "../runtime/registry.ts";
import { readJsonBytes } from "./_http.ts";

/** The tokenize router. */
export function tokenizeRoutes(registry: ModelRegistry, prompts: PromptPool): Hono {
  const app = new Hono();
  app.post("/tokenize", async (c) => {
    const job = await prompts.parse("tokenize", await readJsonBytes(c.req.raw));
    let model;
    try {
      model = await registry.promptAssets(job.request.model);
    } catch (error) {
      job.release();
      throw error;
    }
    const { count } = await job.build(model, {});
    const body: TokenizeResponse = { model: job.request.model, count };
    return c.json(body);
  });
  return app;
}
