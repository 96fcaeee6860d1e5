/**
 * `POST /v1/responses`: the Responses request is translated to a chat request
 * (`@cortex/core/translate`), generated like a chat completion, and its chunks translated
 * back — to Responses stream events (`response.created`, `response.in_progress`, reasoning,
 * message and function-call items, one terminal event) or to a whole response object with
 * reasoning and function-call items.
 *
 * @module
 */
import { Hono } from "hono";
import { toCortexError } from "@cortex/core/errors";
import {
  ChatCompletionAccumulator,
  chatErrorToResponses,
  chatToResponsesResponse,
  ResponsesStreamTranslator,
} from "@cortex/core/translate";
import type { PromptPool } from "../prompts/mod.ts";
import type { ModelRegistry } from "../runtime/registry.ts";
import { type ChatChunkOptions, chatChunks } from "./_chat_chunks.ts";
import { randomHex, readJsonBytes } from "./_http.ts";
import { acquireFor, type PreparedGeneration, prepareGeneration, runGeneration } from "./_inference.ts";
import { sseResponse } from "./sse.ts";

/**
 * The Responses router. As in the original, the template's own thinking default applies
 * unless `reasoning.effort` says otherwise; reasoning becomes a reasoning item.
 */
export function responsesRoutes(registry: ModelRegistry, prompts: PromptPool): Hono {
  const app = new Hono();
  app.post("/v1/responses", async (c) => {
    const job = await prompts.parse("responses", await readJsonBytes(c.req.raw));
    const request = job.request;
    const model = acquireFor(registry, job);
    // Refusals name the Responses fields (`input`, not the chat request's `messages`).
    let prepared: PreparedGeneration;
    try {
      const prompt = await job.build(model, {});
      prepared = await prepareGeneration(model, prompt.chat, prompt.tokens, {
        parsing: prompt.parsing,
        toolChoice: prompt.toolChoice,
        promptParam: "input",
        signal: c.req.raw.signal,
        log: c.get("requestLog"),
      });
    } catch (error) {
      throw chatErrorToResponses(toCortexError(error));
    }
    const suffix = randomHex();
    const ids: ChatChunkOptions = {
      id: `chatcmpl-${suffix}`,
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      inlineThinking: false,
    };
    const translation = { responseId: `resp_${suffix}`, request };
    if (request.stream) {
      return sseResponse(async (sink) => {
        const translator = new ResponsesStreamTranslator(translation);
        const emit = (event: { type: string }): void => sink.send(event, event.type);
        try {
          for await (const chunk of chatChunks(runGeneration(prepared, sink.signal), ids)) {
            translator.push(chunk, emit);
          }
        } catch (error) {
          if (sink.signal.aborted) return;
          translator.push({ type: "error", error: toCortexError(error) }, emit);
        }
        translator.finish(emit);
      });
    }
    const accumulator = new ChatCompletionAccumulator();
    for await (const chunk of chatChunks(runGeneration(prepared, c.req.raw.signal), ids)) {
      accumulator.push(chunk);
    }
    return c.json(chatToResponsesResponse(accumulator.result(), translation));
  });
  return app;
}
