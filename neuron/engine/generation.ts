/**
 * One generation as a stream of deltas: generated token ids are detokenised incrementally,
 * cut at user stop strings, split into reasoning and visible text, and scanned for Qwen3
 * tool calls (`@cortex/qwen3`), ending with one `finish` delta that carries the finish
 * reason and usage. Every route (chat, Responses, completions) builds its wire format
 * from these deltas, so a streamed answer and a non-streamed one are the same text. When
 * log-probabilities are asked for, every generated token's entry rides on the first delta
 * emitted after it (text held back by stop-string matching or tool-call parsing included),
 * or on the finish delta — each token exactly once, in order. A call naming a tool that was not
 * offered is counted, renamed when its argument keys fit exactly one offered tool, else
 * surfaced as text: no call leaves under a made-up name.
 *
 * @module
 */
import type { ToolDefinition } from "@cortex/qwen3";
import type { SampledLogprobs, SamplingParams } from "../devices/mod.ts";
import type { DecodeConstraint } from "./decode_constraint.ts";
import { OutputPipeline, type ToolCallTally } from "./output_pipeline.ts";
import type { GenerationOutcome, Scheduler } from "./scheduler.ts";
import type { ModelTokenizer } from "./tokenizer.ts";

export { OutputPipeline } from "./output_pipeline.ts";

/** One alternative at a generated token's position. */
export interface TokenAlternative {
  /** Token id. */
  token: number;
  /** The token's text on its own (special tokens included). */
  text: string;
  /** The bytes the token stands for (`ModelTokenizer.tokenBytes`). */
  bytes: number[];
  /** Natural-log probability. */
  logprob: number;
}

/** The log-probabilities of one generated token, with token texts. Its `text` is the text it
 * added to the output in context (so the texts of all tokens concatenate to the output; `""`
 * while a UTF-8 character is incomplete), or its own text for a special token. */
export interface TokenLogprobs extends TokenAlternative {
  /** The most likely tokens, most likely first. */
  top: TokenAlternative[];
}

/** What every delta may carry: the log-probabilities of the tokens it is the first to follow. */
interface _WithLogprobs {
  /** Generated tokens' log-probabilities (only when asked for; never empty). */
  logprobs?: TokenLogprobs[];
}

/** Visible text. */
export interface TextDelta extends _WithLogprobs {
  /** Discriminant. */
  type: "text";
  /** The piece (never empty). */
  text: string;
}

/** Reasoning text (inside `<think>…</think>`). */
export interface ReasoningDelta extends _WithLogprobs {
  /** Discriminant. */
  type: "reasoning";
  /** The piece (never empty). */
  text: string;
}

/** A complete, valid tool call. */
export interface ToolCallDelta extends _WithLogprobs {
  /** Discriminant. */
  type: "tool_call";
  /** 0-based index among this turn's calls. */
  index: number;
  /** Call id (`call_…`). */
  id: string;
  /** Tool name. */
  name: string;
  /** Arguments as compact JSON object text. */
  arguments: string;
}

/** The last delta of a generation. */
export interface FinishDelta extends _WithLogprobs {
  /** Discriminant. */
  type: "finish";
  /** OpenAI finish reason. */
  finishReason: "stop" | "length" | "tool_calls";
  /** Prompt tokens. */
  promptTokens: number;
  /** Of those, the tokens taken from the prefix cache (not prefilled). */
  cachedTokens: number;
  /** Generated tokens (reasoning included). */
  completionTokens: number;
  /** Generated tokens whose text was reasoning. */
  reasoningTokens: number;
  /** The stop string that ended it, if one did. */
  matchedStop: string | null;
  /** Parsed calls that named a tool not offered (repaired ones included). */
  unofferedToolCalls: number;
  /** Of those, the calls renamed to the one offered tool their argument keys fit. */
  repairedToolCalls: number;
  /** Every `<tool_call>` block, by form and outcome (`cortex_tool_calls_total`). */
  toolCalls: readonly ToolCallTally[];
  /** Submission to first token, ms. */
  prefillMs: number;
  /** The engine steps' part of it (GenerationOutcome.prefillEngineMs), ms. */
  prefillEngineMs: number;
  /** First token to end, ms. */
  decodeMs: number;
}

/** Anything a generation yields. */
export type GenerationDelta = TextDelta | ReasoningDelta | ToolCallDelta | FinishDelta;

/** How to read the model's output text. */
export interface OutputParsing {
  /** Split `<think>` reasoning out (the tokenizer has the markers). */
  reasoning: boolean;
  /** The prompt already opened a `<think>` block. */
  startInThink: boolean;
  /** Tools offered: parse `<tool_call>` blocks against them (null: tool calls stay text). */
  tools: readonly ToolDefinition[] | null;
  /** The prompt neither opened nor closed a `<think>` block: the model may open one. */
  mayOpenThink?: boolean;
}

/** Options of {@linkcode generate}. */
export interface GenerateOptions {
  /** The model's scheduler. */
  scheduler: Scheduler;
  /** The model's tokenizer. */
  tokenizer: ModelTokenizer;
  /** Prompt token ids. */
  promptTokens: readonly number[];
  /** Sampling parameters. */
  sampling: SamplingParams;
  /** Token id → logit bias in [-100, 100]. */
  logitBias?: ReadonlyMap<number, number>;
  /** When set (0..20): log-probabilities of each token with this many alternatives. */
  topLogprobs?: number;
  /** Most tokens to generate. */
  maxTokens: number;
  /** End-of-sequence token ids. */
  stopTokenIds: ReadonlySet<number>;
  /** User stop strings (matched across tokens, never emitted). */
  stop?: readonly string[];
  /** Reasoning / tool-call parsing (absent: raw text, as for `/v1/completions`). */
  parsing?: OutputParsing;
  /** Cancels the generation (frees its KV slot). */
  signal?: AbortSignal;
  /** Constrains the output (forced tool calls, a masked-out opener). */
  constraint?: DecodeConstraint;
  /** End the generation once this many tool calls are complete (`parallel_tool_calls: false`: 1). */
  maxToolCalls?: number;
}

/**
 * Runs a generation on the scheduler and yields its deltas; the last one is a
 * {@linkcode FinishDelta}. Breaking out of the loop cancels the generation (its KV slot is
 * freed at the next step). Engine failures are thrown.
 */
export async function* generate(options: GenerateOptions): AsyncGenerator<GenerationDelta, void, undefined> {
  const pipeline = new OutputPipeline(options.tokenizer, {
    stop: options.stop,
    parsing: options.parsing,
    promptTail: options.promptTokens.slice(-4),
  });
  const queue: GenerationDelta[] = [];
  let wake: (() => void) | null = null;
  const notify = (): void => {
    wake?.();
    wake = null;
  };
  const onToken = (token: number, logprobs: SampledLogprobs | null): boolean => {
    const { deltas, stopped } = pipeline.push(token, logprobs);
    queue.push(...deltas);
    notify();
    return !stopped && pipeline.toolCalls < (options.maxToolCalls ?? Infinity);
  };
  const abort = new AbortController();
  const onOuterAbort = (): void => abort.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });
  if (options.signal?.aborted) abort.abort(options.signal.reason);
  const state: { failure: { error: unknown } | null; outcome: GenerationOutcome | null } = {
    failure: null,
    outcome: null,
  };
  const done = options.scheduler.generate({
    promptTokens: options.promptTokens,
    sampling: options.sampling,
    logitBias: options.logitBias,
    topLogprobs: options.topLogprobs,
    maxTokens: options.maxTokens,
    stopTokenIds: options.stopTokenIds,
    onToken,
    signal: abort.signal,
    constraint: options.constraint,
  }).then((result) => {
    state.outcome = result;
  }, (error) => {
    state.failure = { error };
  }).finally(notify);

  try {
    while (true) {
      while (queue.length > 0) yield queue.shift()!;
      if (state.failure !== null) throw state.failure.error;
      if (state.outcome !== null) break;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    const ended = state.outcome!;
    yield* pipeline.finish();
    const trailing = pipeline.takePendingLogprobs();
    yield {
      ...(trailing.length > 0 ? { logprobs: trailing } : {}),
      type: "finish",
      finishReason: pipeline.finishReason(ended.cause === "length"),
      promptTokens: ended.promptTokens,
      cachedTokens: ended.cachedTokens,
      completionTokens: ended.completionTokens,
      reasoningTokens: pipeline.reasoningTokens,
      matchedStop: pipeline.matchedStop,
      unofferedToolCalls: pipeline.unofferedToolCalls,
      repairedToolCalls: pipeline.repairedToolCalls,
      toolCalls: pipeline.toolCallTallies,
      prefillMs: ended.prefillMs,
      prefillEngineMs: ended.prefillEngineMs,
      decodeMs: ended.decodeMs,
    };
  } finally {
    options.signal?.removeEventListener("abort", onOuterAbort);
    if (state.outcome === null && state.failure === null) {
      abort.abort(new Error("generation consumer went away"));
      await done;
    }
  }
}
