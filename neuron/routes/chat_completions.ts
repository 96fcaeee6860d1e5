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
import { ChatCompletionAccumulator } from "@cortex/core/translate";
import type { PromptPool } from "../prompts/mod.ts";
import type { ModelRegistry } from "../runtime/registry.ts";
import { type ChatChunkOptions, chatChunks } from "./_chat_chunks.ts";
import { randomHex, readJsonBytes } from "./_http.ts";
import { acquireFor, prepareGeneration, runGeneration, timingHeaders } from "./_inference.ts";
import { sseResponse } from "./sse.ts";

/** True for `x-include-thinking: 1 | true | yes` (case-insensitive). */
export function includeThinkingHeader(value: string | undefined): boolean {
  return ["1", "true", "yes"].includes((value ?? "").trim().toLowerCase());
}

/**
 * The chat-completions router.
 *
 * @example
 * ```ts ignore
 * app.route("/", chatCompletionsRoutes(registry, prompts));
 * ```
 */
export function chatCompletionsRoutes(registry: ModelRegistry, prompts: PromptPool): Hono {
  const app = new Hono();
  app.post("/v1/chat/completions", async (c) => {
    const job = await prompts.parse("chat", await readJsonBytes(c.req.raw));
    const request = job.request;
    const inlineThinking = includeThinkingHeader(c.req.header("x-include-thinking"));
    const model = acquireFor(registry, job);
    const prompt = await job.build(model, { inlineThinking });
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
    if (request.stream && request.stream_options?.include_prompt_usage === true) {
      ids.promptUsage = prompt.tokens.length;
    }
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
