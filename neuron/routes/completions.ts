/**
 * `POST /v1/completions`: a raw prompt, no chat template (the tokenizer's own special
 * tokens, e.g. a BOS, are added) — for base models such as stories260K.
 *
 * @module
 */
import { Hono } from "hono";
import { toCortexError, toOpenAIErrorBody } from "@cortex/core/errors";
import { type Completion, CompletionRequestSchema } from "@cortex/core/openai";
import type { GenerationDelta } from "../engine/generation.ts";
import type { ModelRegistry } from "../runtime/registry.ts";
import { usageOf } from "./_chat_chunks.ts";
import { randomHex, readJsonBody } from "./_http.ts";
import { prepareGeneration, runGeneration } from "./_inference.ts";
import { sseResponse } from "./sse.ts";

interface _Ids {
  id: string;
  created: number;
  model: string;
}

async function* _completionChunks(
  deltas: AsyncIterable<GenerationDelta>,
  ids: _Ids,
  echo: string | null,
): AsyncGenerator<Completion, void, undefined> {
  const chunk = (
    text: string,
    finish: Completion["choices"][number]["finish_reason"] = null,
  ): Completion => ({
    id: ids.id,
    object: "text_completion",
    created: ids.created,
    model: ids.model,
    choices: [{ index: 0, text, finish_reason: finish, logprobs: null }],
  });
  if (echo) yield chunk(echo);
  for await (const delta of deltas) {
    if (delta.type === "text" || delta.type === "reasoning") yield chunk(delta.text);
    else if (delta.type === "finish") {
      const last = chunk("", delta.finishReason);
      if (delta.matchedStop) {
        (last.choices[0] as unknown as Record<string, unknown>).stop_reason = delta.matchedStop;
      }
      yield last;
      yield {
        id: ids.id,
        object: "text_completion",
        created: ids.created,
        model: ids.model,
        choices: [],
        usage: usageOf(delta),
      };
    }
  }
}

/** The text-completions router. */
export function completionsRoutes(registry: ModelRegistry): Hono {
  const app = new Hono();
  app.post("/v1/completions", async (c) => {
    const request = await readJsonBody(c.req.raw, CompletionRequestSchema);
    const model = registry.acquire(request.model);
    const prompt = typeof request.prompt === "string" ? request.prompt : request.prompt[0];
    const tokens = model.tokenizer.encode(prompt, { addSpecialTokens: true });
    const prepared = await prepareGeneration(model, request, tokens, {
      promptParam: "prompt",
      signal: c.req.raw.signal,
    });
    const ids = { id: `cmpl-${randomHex()}`, created: Math.floor(Date.now() / 1000), model: request.model };
    const echo = request.echo ? prompt : null;
    if (request.stream) {
      const includeUsage = request.stream_options?.include_usage === true;
      return sseResponse(async (sink) => {
        try {
          for await (const chunk of _completionChunks(runGeneration(prepared, sink.signal), ids, echo)) {
            if (chunk.choices.length === 0 && !includeUsage) continue;
            sink.send(chunk);
          }
        } catch (error) {
          if (!sink.signal.aborted) sink.send(toOpenAIErrorBody(toCortexError(error)));
        }
        sink.send("[DONE]");
      });
    }
    let text = "";
    let finish: Completion["choices"][number]["finish_reason"] = null;
    let usage: Completion["usage"] = null;
    let stopReason: unknown = undefined;
    for await (const chunk of _completionChunks(runGeneration(prepared, c.req.raw.signal), ids, echo)) {
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices) {
        text += choice.text;
        if (choice.finish_reason) finish = choice.finish_reason;
        if ("stop_reason" in choice) stopReason = (choice as unknown as Record<string, unknown>).stop_reason;
      }
    }
    const choice: Record<string, unknown> = { index: 0, text, finish_reason: finish, logprobs: null };
    if (stopReason !== undefined) choice.stop_reason = stopReason;
    return c.json({ ...ids, object: "text_completion", choices: [choice], usage });
  });
  return app;
}
