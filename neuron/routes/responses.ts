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
import { checkResponsesParameters, ResponsesRequestSchema } from "@cortex/core/responses";
import {
  ChatCompletionAccumulator,
  chatToResponsesResponse,
  ResponsesStreamTranslator,
  responsesToChatRequest,
} from "@cortex/core/translate";
import { buildChatPrompt } from "../engine/chat_prompt.ts";
import type { ModelRegistry } from "../runtime/registry.ts";
import { type ChatChunkOptions, chatChunks } from "./_chat_chunks.ts";
import { randomHex, readJsonBody } from "./_http.ts";
import { prepareGeneration, runGeneration } from "./_inference.ts";
import { sseResponse } from "./sse.ts";

/**
 * The Responses router. As in the original, the template's own thinking default applies
 * unless `reasoning.effort` says otherwise; reasoning becomes a reasoning item.
 */
export function responsesRoutes(registry: ModelRegistry): Hono {
  const app = new Hono();
  app.post("/v1/responses", async (c) => {
    const request = await readJsonBody(c.req.raw, ResponsesRequestSchema);
    checkResponsesParameters(request);
    const chat = responsesToChatRequest(request);
    const model = registry.acquire(request.model);
    const prompt = buildChatPrompt(model, chat, null);
    const prepared = await prepareGeneration(model, chat, prompt.tokens, {
      parsing: prompt.parsing,
      toolChoice: prompt.toolChoice,
      promptParam: "input",
      signal: c.req.raw.signal,
      log: c.get("requestLog"),
    });
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
