/**
 * `POST /v1/completions`: a raw prompt, no chat template (the tokenizer's own special
 * tokens, e.g. a BOS, are added) or a prompt of token ids (fed as given) — for base models such
 * as stories260K. `logprobs: N` returns OpenAI's legacy per-token log-probabilities.
 *
 * @module
 */
import { Hono } from "hono";
import { toCortexError, toOpenAIErrorBody } from "@cortex/core/errors";
import type { Completion, CompletionLogprobs } from "@cortex/core/openai";
import type { GenerationDelta, TokenLogprobs } from "../engine/generation.ts";
import type { PromptPool } from "../prompts/mod.ts";
import type { ModelRegistry } from "../runtime/registry.ts";
import { usageOf } from "./_chat_chunks.ts";
import { randomHex, readJsonBytes } from "./_http.ts";
import { acquireFor, prepareGeneration, runGeneration } from "./_inference.ts";
import { completionPrompt } from "./_token_params.ts";
import { sseResponse } from "./sse.ts";

interface _Ids {
  id: string;
  created: number;
  model: string;
}

/** Legacy-shape log-probabilities of some tokens; `offset` is the text offset of the first. */
function _legacyLogprobs(entries: readonly TokenLogprobs[], offset: number): CompletionLogprobs {
  const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  for (const entry of entries) {
    out.tokens.push(entry.text);
    out.token_logprobs.push(entry.logprob);
    const top: Record<string, number> = {};
    for (const alternative of entry.top) {
      if (!(alternative.text in top)) top[alternative.text] = alternative.logprob;
    }
    out.top_logprobs.push(top);
    out.text_offset.push(offset);
    offset += entry.text.length;
  }
  return out;
}

async function* _completionChunks(
  deltas: AsyncIterable<GenerationDelta>,
  ids: _Ids,
  echo: string | null,
  withLogprobs: boolean,
): AsyncGenerator<Completion, void, undefined> {
  let offset = echo?.length ?? 0;
  const chunk = (
    text: string,
    finish: Completion["choices"][number]["finish_reason"] = null,
    entries: readonly TokenLogprobs[] = [],
  ): Completion => {
    const logprobs = withLogprobs ? _legacyLogprobs(entries, offset) : null;
    for (const entry of entries) offset += entry.text.length;
    return {
      id: ids.id,
      object: "text_completion",
      created: ids.created,
      model: ids.model,
      choices: [{ index: 0, text, finish_reason: finish, logprobs }],
    };
  };
  if (echo) yield chunk(echo);
  for await (const delta of deltas) {
    if (delta.type === "text" || delta.type === "reasoning") yield chunk(delta.text, null, delta.logprobs);
    else if (delta.type === "finish") {
      const last = chunk("", delta.finishReason, delta.logprobs);
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

function _appendLogprobs(into: CompletionLogprobs, more: CompletionLogprobs): void {
  into.tokens.push(...more.tokens);
  into.token_logprobs.push(...more.token_logprobs);
  into.top_logprobs.push(...more.top_logprobs);
  into.text_offset.push(...more.text_offset);
}

/** The text-completions router. */
export function completionsRoutes(registry: ModelRegistry, prompts: PromptPool): Hono {
  const app = new Hono();
  app.post("/v1/completions", async (c) => {
    const job = await prompts.parse("completions", await readJsonBytes(c.req.raw));
    const request = job.request;
    const model = acquireFor(registry, job);
    const { tokens } = await job.build(model, {});
    const prompt = completionPrompt(request.prompt, model.info.vocabSize);
    const withLogprobs = request.logprobs !== null && request.logprobs !== undefined;
    const prepared = await prepareGeneration(model, request, tokens, {
      promptParam: "prompt",
      signal: c.req.raw.signal,
      log: c.get("requestLog"),
      topLogprobs: withLogprobs ? request.logprobs! : undefined,
    });
    const ids = { id: `cmpl-${randomHex()}`, created: Math.floor(Date.now() / 1000), model: request.model };
    const echo = !request.echo ? null : "ids" in prompt ? model.tokenizer.decode(prompt.ids) : prompt.text;
    const chunks = (signal: AbortSignal): AsyncGenerator<Completion, void, undefined> =>
      _completionChunks(runGeneration(prepared, signal), ids, echo, withLogprobs);
    if (request.stream) {
      const includeUsage = request.stream_options?.include_usage === true;
      return sseResponse(async (sink) => {
        try {
          for await (const chunk of chunks(sink.signal)) {
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
    const logprobs: CompletionLogprobs | null = withLogprobs
      ? { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] }
      : null;
    for await (const chunk of chunks(c.req.raw.signal)) {
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices) {
        text += choice.text;
        if (choice.finish_reason) finish = choice.finish_reason;
        if (logprobs && choice.logprobs) _appendLogprobs(logprobs, choice.logprobs);
        if ("stop_reason" in choice) stopReason = (choice as unknown as Record<string, unknown>).stop_reason;
      }
    }
    const choice: Record<string, unknown> = { index: 0, text, finish_reason: finish, logprobs };
    if (stopReason !== undefined) choice.stop_reason = stopReason;
    return c.json({ ...ids, object: "text_completion", choices: [choice], usage });
  });
  return app;
}
