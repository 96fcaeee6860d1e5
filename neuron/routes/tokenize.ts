/**
 * `POST /tokenize`: the exact prompt token count of a chat (rendered through the model's
 * template with its tools, as `/v1/chat/completions` would) or of a raw prompt (as
 * `/v1/completions` would); the gateway's Anthropic `count_tokens` uses it. A model that is not loaded
 * is counted with its tokenizer and template read from its files — no weights are loaded.
 *
 * @module
 */
import { Hono } from "hono";
import { TokenizeRequestSchema, type TokenizeResponse } from "@cortex/core/fleet";
import { buildChatPrompt } from "../engine/chat_prompt.ts";
import type { ModelRegistry } from "../runtime/registry.ts";
import { readJsonBody } from "./_http.ts";

/** The tokenize router. */
export function tokenizeRoutes(registry: ModelRegistry): Hono {
  const app = new Hono();
  app.post("/tokenize", async (c) => {
    const request = await readJsonBody(c.req.raw, TokenizeRequestSchema);
    const model = await registry.promptAssets(request.model);
    const count = request.messages !== undefined
      ? buildChatPrompt(model, {
        messages: request.messages,
        tools: request.tools,
        chat_template_kwargs: request.chat_template_kwargs,
      }, false)
        .tokens.length
      : model.tokenizer.encode(request.prompt ?? "", { addSpecialTokens: true }).length;
    const body: TokenizeResponse = { model: request.model, count };
    return c.json(body);
  });
  return app;
}
