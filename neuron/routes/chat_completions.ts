/**
 * `POST /v1/chat/completions`: the model's chat template, reasoning split into
 * `reasoning_content` (or inline `<think>` with the `x-include-thinking` header), tool calls
 * parsed into `tool_calls`, streamed as SSE or returned whole — the whole answer being the
 * reassembly of the very chunks a stream would carry.
 *
 * @module
 */
import { Hono } from "hono";
import { toCortexError, toOpenAIErrorBody } from "@cortex/core/errors";
import { ChatCompletionRequestSchema, checkChatParameters } from "@cortex/core/openai";
import { ChatCompletionAccumulator } from "@cortex/core/translate";
import { buildChatPrompt } from "../engine/chat_prompt.ts";
import type { ModelRegistry } from "../runtime/registry.ts";
import { type ChatChunkOptions, chatChunks } from "./_chat_chunks.ts";
import { randomHex, readJsonBody } from "./_http.ts";
import { prepareGeneration, runGeneration, timingHeaders } from "./_inference.ts";
import { sseResponse } from "./sse.ts";

/** True for `x-include-thinking: 1 | true | yes` (case-insensitive). */
export function includeThinkingHeader(value: string | undefined): boolean {
  return ["1", "true", "yes"].includes((value ?? "").trim().toLowerCase());
}

/**
 * Whether the prompt should open thinking: `reasoning_effort` decides when given (`none` and
 * `minimal` turn it off, as the Responses translation does), else the `x-include-thinking` header.
 */
export function thinkingWanted(effort: string | null | undefined, header: boolean): boolean {
  if (typeof effort !== "string") return header;
  return effort !== "none" && effort !== "minimal";
}

/**
 * The chat-completions router.
 *
 * @example
 * ```ts ignore
 * app.route("/", chatCompletionsRoutes(registry));
 * ```
 */
export function chatCompletionsRoutes(registry: ModelRegistry): Hono {
  const app = new Hono();
  app.post("/v1/chat/completions", async (c) => {
    const request = await readJsonBody(c.req.raw, ChatCompletionRequestSchema);
    checkChatParameters(request);
    const inlineThinking = includeThinkingHeader(c.req.header("x-include-thinking"));
    const model = registry.acquire(request.model);
    const prompt = buildChatPrompt(model, request, thinkingWanted(request.reasoning_effort, inlineThinking));
    const prepared = await prepareGeneration(model, request, prompt.tokens, {
      parsing: prompt.parsing,
      toolChoice: prompt.toolChoice,
      promptParam: "messages",
      signal: c.req.raw.signal,
      log: c.get("requestLog"),
      topLogprobs: request.logprobs === true ? request.top_logprobs ?? 0 : undefined,
    });
    const ids: ChatChunkOptions = {
      id: `chatcmpl-${randomHex()}`,
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      inlineThinking,
      logprobs: request.logprobs === true,
    };
    if (request.stream) {
      const includeUsage = request.stream_options?.include_usage === true;
      return sseResponse(async (sink) => {
        try {
          for await (const chunk of chatChunks(runGeneration(prepared, sink.signal), ids)) {
            if (chunk.choices.length === 0 && !includeUsage) continue;
            sink.send(chunk);
          }
        } catch (error) {
          if (!sink.signal.aborted) sink.send(toOpenAIErrorBody(toCortexError(error)));
        }
        sink.send("[DONE]");
      });
    }
    const accumulator = new ChatCompletionAccumulator();
    const timed = timingHeaders(runGeneration(prepared, c.req.raw.signal));
    for await (const chunk of chatChunks(timed.deltas, ids)) accumulator.push(chunk);
    return c.json(accumulator.result(), 200, timed.headers());
  });
  return app;
}
