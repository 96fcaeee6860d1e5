// Private: the steps every inference route shares between parsing the body and streaming —
// output cap, sampling, logit bias, prompt length, admission — and the wiring of a generation to a seat.
import { CortexError, toCortexError } from "@cortex/core/errors";
import type { Seat } from "../engine/admission.ts";
import { generate, type GenerationDelta, type OutputParsing } from "../engine/generation.ts";
import { type ResolvedSampling, resolveSampling, type SamplingRequest } from "../engine/sampling.ts";
import { toolChoiceConstraint } from "../engine/tool_call_constraint.ts";
import type { ToolChoicePlan } from "../engine/tool_choice.ts";
import type { LoadedModel } from "../runtime/loaded_model.ts";
import type { ModelRegistry } from "../runtime/registry.ts";
import type { PromptJob, PromptJobName } from "../prompts/mod.ts";
import { unsupported } from "./_http.ts";
import { parseLogitBias } from "./_token_params.ts";
import type { NeuronRequestLog } from "./request_log.ts";

/** Everything a generation needs, checked and admitted: errors happen before any streaming. */
export interface PreparedGeneration {
  /** The model. */
  model: LoadedModel;
  /** Prompt token ids. */
  promptTokens: number[];
  /** Resolved sampling. */
  sampling: ResolvedSampling;
  /** Token id → logit bias (empty: none). */
  logitBias: ReadonlyMap<number, number>;
  /** Alternatives per token when log-probabilities are asked for; undefined: not asked. */
  topLogprobs?: number;
  /** Output cap. */
  maxTokens: number;
  /** Stop strings. */
  stop: string[];
  /** Output parsing (absent: raw text). */
  parsing?: OutputParsing;
  /** The tool policy enforced by constrained decoding (absent: none, as for completions). */
  toolChoice?: ToolChoicePlan;
  /** The admission seat, released when the generation ends. */
  seat: Seat;
  /** The request's log entry (model, tokens, TTFT, finish reason go on it), if logged. */
  log?: NeuronRequestLog;
}

/** Fields of a request that shape generation. */
export interface GenerationRequest extends SamplingRequest {
  /** Number of choices (only 1). */
  n?: number | null;
  /** Output cap. */
  max_tokens?: number | null;
  /** Output cap (wins). */
  max_completion_tokens?: number | null;
  /** Stop strings. */
  stop?: string | string[] | null;
  /** Token id → logit bias. */
  logit_bias?: Record<string, unknown> | null;
}

/** The loaded model a parsed request names; the parsed request is dropped when there is none. */
export function acquireFor<K extends PromptJobName>(registry: ModelRegistry, job: PromptJob<K>): LoadedModel {
  try {
    return registry.acquire((job.request as { model: string }).model);
  } catch (error) {
    job.release();
    throw error;
  }
}

/** Validates, resolves and admits one request (may wait in the queue; 429 when full). */
export async function prepareGeneration(
  model: LoadedModel,
  request: GenerationRequest,
  promptTokens: number[],
  options: {
    parsing?: OutputParsing;
    toolChoice?: ToolChoicePlan;
    promptParam: string;
    signal?: AbortSignal;
    topLogprobs?: number;
    log?: NeuronRequestLog;
  },
): Promise<PreparedGeneration> {
  const log = options.log;
  if (log) {
    log.line.model = model.id;
    log.line.prompt_tokens = promptTokens.length;
    if (log.prompts) log.line.prompt = model.tokenizer.decode(promptTokens, { skipSpecialTokens: false });
  }
  if (request.n !== null && request.n !== undefined && request.n !== 1) {
    throw unsupported("n", `n: only 1 choice per request is supported, got ${request.n}`);
  }
  const tooLong = model.checkPromptLength(promptTokens.length, options.promptParam);
  if (tooLong) throw tooLong;
  if (promptTokens.length === 0) {
    throw new CortexError("the prompt is empty", {
      code: "invalid_request_body",
      status: 400,
      param: options.promptParam,
    });
  }
  const requested = request.max_completion_tokens ?? request.max_tokens ?? null;
  if (requested !== null && requested < 1) {
    const param = request.max_completion_tokens !== undefined && request.max_completion_tokens !== null
      ? "max_completion_tokens"
      : "max_tokens";
    throw new CortexError(`${param}: expected a number >= 1, got ${requested}`, {
      code: "invalid_request_body",
      status: 400,
      param,
    });
  }
  const room = model.info.contextLength - promptTokens.length;
  const stop = request.stop === null || request.stop === undefined
    ? []
    : (typeof request.stop === "string" ? [request.stop] : request.stop).filter((s) => s.length > 0);
  if (stop.length > 4) throw unsupported("stop", `stop: at most 4 stop sequences, got ${stop.length}`);
  const sampling = resolveSampling(request, model.generationConfig);
  const logitBias = parseLogitBias(request.logit_bias, model.info.vocabSize);
  const seat = await model.admission.acquire(options.signal);
  return {
    model,
    promptTokens,
    sampling,
    logitBias,
    topLogprobs: options.topLogprobs,
    maxTokens: Math.min(requested ?? room, room),
    stop,
    parsing: options.parsing,
    toolChoice: options.toolChoice,
    seat,
    log,
  };
}

/**
 * Runs a prepared generation, its tool policy enforced; the seat is released when it ends or the
 * consumer leaves. Calls to tools that were not offered, tool-call blocks by form and outcome,
 * and the tokens served are counted on the model; TTFT, tokens, finish reason or error go on
 * the request's log line.
 */
export async function* runGeneration(
  prepared: PreparedGeneration,
  signal?: AbortSignal,
): AsyncGenerator<GenerationDelta, void, undefined> {
  const model = prepared.model;
  const line = prepared.log?.line ?? null;
  const plan = prepared.toolChoice;
  const constraint = plan && prepared.parsing
    ? toolChoiceConstraint(
      plan,
      { tokenizer: model.tokenizer, vocabSize: model.info.vocabSize, stopTokenIds: model.stopTokenIds },
      prepared.parsing,
    )
    : undefined;
  try {
    for await (
      const delta of generate({
        scheduler: model.scheduler,
        tokenizer: model.tokenizer,
        promptTokens: prepared.promptTokens,
        sampling: prepared.sampling,
        logitBias: prepared.logitBias,
        topLogprobs: prepared.topLogprobs,
        maxTokens: prepared.maxTokens,
        stopTokenIds: model.stopTokenIds,
        stop: prepared.stop,
        parsing: prepared.parsing,
        signal,
        constraint,
        maxToolCalls: plan?.parallel === false ? 1 : undefined,
      })
    ) {
      if (delta.type === "finish") {
        model.toolCallStats.unoffered += delta.unofferedToolCalls;
        model.toolCallStats.repaired += delta.repairedToolCalls;
        _countServed(prepared, delta);
      } else if (line && line.ttft_ms === null) {
        line.ttft_ms = Math.round(performance.now() - prepared.log!.startedAt);
      }
      yield delta;
    }
  } catch (error) {
    if (line) line.error = String(toCortexError(error).code);
    throw error;
  } finally {
    prepared.seat.release();
  }
}

function _countServed(
  prepared: PreparedGeneration,
  finish: Extract<GenerationDelta, { type: "finish" }>,
): void {
  const served = prepared.model.served;
  served.generations++;
  served.promptTokens += finish.promptTokens;
  served.cachedTokens += finish.cachedTokens;
  served.completionTokens += finish.completionTokens;
  for (const { format, outcome } of finish.toolCalls) {
    const key = `${format} ${outcome}`;
    prepared.model.toolCalls.set(key, (prepared.model.toolCalls.get(key) ?? 0) + 1);
  }
  const line = prepared.log?.line;
  if (!line) return;
  line.prompt_tokens = finish.promptTokens;
  line.cached_tokens = finish.cachedTokens;
  line.completion_tokens = finish.completionTokens;
  line.finish_reason = finish.finishReason;
}

/**
 * Passes `deltas` through and keeps the finish delta's timing as response headers for a
 * non-streamed answer: `x-cortex-prefill-ms` (the engine steps from the request's first step to its
 * first token: the prefill of the prompt tokens the prefix cache did not hold) and
 * `x-cortex-queue-ms` (submission to that first step).
 */
export function timingHeaders(
  deltas: AsyncIterable<GenerationDelta>,
): { deltas: AsyncIterable<GenerationDelta>; headers: () => Record<string, string> } {
  const seen: { finish: Extract<GenerationDelta, { type: "finish" }> | null } = { finish: null };
  async function* tap(): AsyncGenerator<GenerationDelta, void, undefined> {
    for await (const delta of deltas) {
      if (delta.type === "finish") seen.finish = delta;
      yield delta;
    }
  }
  return {
    deltas: tap(),
    headers: (): Record<string, string> => {
      const finish = seen.finish;
      if (finish === null) return {};
      return {
        "x-cortex-prefill-ms": finish.prefillEngineMs.toFixed(1),
        "x-cortex-queue-ms": (finish.prefillMs - finish.prefillEngineMs).toFixed(1),
      };
    },
  };
}
