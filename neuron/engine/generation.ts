/**
 * One generation as a stream of deltas: generated token ids are detokenised incrementally,
 * cut at user stop strings, split into reasoning and visible text, and scanned for Qwen3
 * tool calls (`@cortex/qwen3`), ending with one `finish` delta that carries the finish
 * reason and usage. Every route (chat, Responses, completions) builds its wire format
 * from these deltas, so a streamed answer and a non-streamed one are the same text. When
 * log-probabilities are asked for, every generated token's entry rides on the first delta
 * emitted after it (text held back by stop-string matching or tool-call parsing included),
 * or on the finish delta — each token exactly once, in order.
 *
 * @module
 */
import { AssistantStreamParser, ThinkSplitter, ToolCallParser, type ToolDefinition } from "@cortex/qwen3";
import type { SampledLogprobs, SamplingParams } from "../devices/mod.ts";
import type { GenerationOutcome, Scheduler } from "./scheduler.ts";
import type { DecodeStream } from "./decode_stream.ts";
import { StopMatcher } from "./stop_matcher.ts";
import type { ModelTokenizer } from "./tokenizer.ts";

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
}

type _Parsed = { type: string; text?: string; raw?: string; id?: string; name?: string; arguments?: string };

/** The part of a text parser the pipeline uses. */
interface _Parser {
  push(text: string): _Parsed[];
  finish(): _Parsed[];
}

function _parser(parsing: OutputParsing | undefined): _Parser | null {
  if (!parsing) return null;
  const tools = parsing.tools ?? undefined;
  if (parsing.tools && parsing.reasoning) {
    return new AssistantStreamParser({ tools, startInThink: parsing.startInThink, streamArguments: false });
  }
  if (parsing.tools) return new ToolCallParser({ tools, streamArguments: false });
  if (parsing.reasoning) return new ThinkSplitter({ startInThink: parsing.startInThink });
  return null;
}

/**
 * The token → delta transform of one generation, without scheduling: each generated token
 * is detokenised, cut at stop strings and parsed. Tool calls come out only once complete and
 * valid (a call the model abandons half-way is never half-sent to a client); a malformed
 * `<tool_call>` block that cannot be repaired comes out as visible text, never dropped.
 *
 * @example
 * ```ts ignore
 * const pipeline = new OutputPipeline(tokenizer, { stop: ["\n\n"] });
 * for (const id of tokenizer.encode("Hello\n\nworld")) if (pipeline.push(id).stopped) break;
 * pipeline.finish(); // [{type: "text", text: "Hello"}]
 * ```
 */
export class OutputPipeline {
  readonly #tokenizer: ModelTokenizer;
  readonly #decoder: DecodeStream;
  #pendingLogprobs: TokenLogprobs[] = [];
  readonly #stops: StopMatcher;
  readonly #parser: _Parser | null;
  #queue: GenerationDelta[] = [];
  #toolCalls = 0;
  /** Tokens whose text was reasoning. */
  reasoningTokens = 0;
  /** The stop string that matched, if any. */
  matchedStop: string | null = null;

  /** Creates the pipeline of one generation. */
  constructor(
    tokenizer: ModelTokenizer,
    options: { stop?: readonly string[]; parsing?: OutputParsing; promptTail?: readonly number[] } = {},
  ) {
    this.#tokenizer = tokenizer;
    this.#decoder = tokenizer.decodeStream(options.promptTail ?? []);
    this.#stops = new StopMatcher(options.stop ?? []);
    this.#parser = _parser(options.parsing);
  }

  /** Tool calls emitted so far. */
  get toolCalls(): number {
    return this.#toolCalls;
  }

  /**
   * Feeds one generated token (with its log-probabilities when asked for); `stopped` is true once
   * a stop string matched.
   */
  push(
    token: number,
    logprobs: SampledLogprobs | null = null,
  ): { deltas: GenerationDelta[]; stopped: boolean } {
    const piece = this.#decoder.push(token);
    if (logprobs !== null) this.#pendingLogprobs.push(this.#withText(logprobs, piece));
    const match = this.#stops.push(piece);
    if (this.#feed(match.text)) this.reasoningTokens++;
    if (match.stopped) this.matchedStop = match.matched;
    return { deltas: this.#take(), stopped: match.stopped };
  }

  /** Ends the text: flushes held-back bytes and text and closes the parsers. */
  finish(): GenerationDelta[] {
    if (!this.#stops.stopped) {
      const tail = this.#stops.push(this.#decoder.flush());
      this.#feed(tail.text);
      if (tail.stopped) this.matchedStop = tail.matched;
      else this.#feed(this.#stops.flush());
    }
    if (this.#parser !== null) { for (const event of this.#parser.finish()) this.#emit(event); }
    return this.#take();
  }

  /** The finish reason for how the engine ended (`length` unless stopped otherwise). */
  finishReason(engineLength: boolean): FinishDelta["finishReason"] {
    const base = engineLength && this.matchedStop === null ? "length" : "stop";
    return this.#toolCalls > 0 && base === "stop" ? "tool_calls" : base;
  }

  /** Log-probabilities of tokens no delta carried yet (for the finish delta). */
  takePendingLogprobs(): TokenLogprobs[] {
    const out = this.#pendingLogprobs;
    this.#pendingLogprobs = [];
    return out;
  }

  #take(): GenerationDelta[] {
    const out = this.#queue;
    this.#queue = [];
    if (out.length > 0 && this.#pendingLogprobs.length > 0) {
      out[0] = { ...out[0], logprobs: this.takePendingLogprobs() };
    }
    return out;
  }

  #withText(logprobs: SampledLogprobs, piece: string): TokenLogprobs {
    const tokenizer = this.#tokenizer;
    const alone = (token: number): string => tokenizer.decode([token], { skipSpecialTokens: false });
    const special = tokenizer.specialIds.has(logprobs.token);
    return {
      token: logprobs.token,
      text: special ? alone(logprobs.token) : piece,
      bytes: tokenizer.tokenBytes(logprobs.token),
      logprob: logprobs.logprob,
      top: logprobs.top.map((t) => ({
        token: t.token,
        text: alone(t.token),
        bytes: tokenizer.tokenBytes(t.token),
        logprob: t.logprob,
      })),
    };
  }

  // Returns whether the text produced reasoning.
  #feed(text: string): boolean {
    if (text === "") return false;
    if (this.#parser === null) {
      this.#queue.push({ type: "text", text });
      return false;
    }
    let reasoning = false;
    for (const event of this.#parser.push(text)) reasoning = this.#emit(event) || reasoning;
    return reasoning;
  }

  #emit(event: _Parsed): boolean {
    switch (event.type) {
      case "text":
        this.#queue.push({ type: "text", text: event.text! });
        return false;
      case "reasoning":
        this.#queue.push({ type: "reasoning", text: event.text! });
        return true;
      case "tool_call_end":
        this.#queue.push({
          type: "tool_call",
          index: this.#toolCalls++,
          id: event.id!,
          name: event.name!,
          arguments: event.arguments!,
        });
        return false;
      case "malformed":
        this.#queue.push({ type: "text", text: event.raw! });
        return false;
      default:
        return false;
    }
  }
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
    return !stopped;
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
