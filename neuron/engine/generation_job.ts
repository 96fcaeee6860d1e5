/**
 * The plain data the scheduler (`scheduler.ts`) takes and gives: one generation's job and outcome, the
 * scheduler's options and its throughput figures.
 *
 * @module
 */
import type { SampledLogprobs, SamplingParams } from "../devices/mod.ts";
import type { DecodeConstraint } from "./decode_constraint.ts";

/** One generation handed to the scheduler. */
export interface GenerationJob {
  /** Prompt token ids (non-empty, shorter than the model's context). */
  promptTokens: readonly number[];
  /** Sampling parameters (temperature 0 = greedy). */
  sampling: SamplingParams;
  /** Token id → bias in [-100, 100], added natively to the logits before every sample. */
  logitBias?: ReadonlyMap<number, number>;
  /** When set (0..20): each generated token comes with its log-probabilities and this many top
   * alternatives (see `StepEntry.topLogprobs`). */
  topLogprobs?: number;
  /** Most tokens to generate (end-of-sequence tokens not counted). */
  maxTokens: number;
  /** Token ids that end the generation (not passed to `onToken`). */
  stopTokenIds: ReadonlySet<number>;
  /** Called with each generated token (and its log-probabilities when `topLogprobs` is set);
   * return false to stop (e.g. a stop string matched). A forced token's log-probability is 0. */
  onToken: (token: number, logprobs: SampledLogprobs | null) => boolean;
  /** Constrains the output (masks, forced tokens, an early end); absent: free sampling. */
  constraint?: DecodeConstraint;
  /** Aborts the generation; its KV slot is freed at the next step boundary. */
  signal?: AbortSignal;
}

/** Why a generation ended. */
export type FinishCause = "eos" | "length" | "stopped" | "cancelled";

/** How a generation went. */
export interface GenerationOutcome {
  /** Why it ended. */
  cause: FinishCause;
  /** Prompt tokens of the request. */
  promptTokens: number;
  /** Of those, the tokens whose keys and values came from the prefix cache instead of prefill. */
  cachedTokens: number;
  /** Tokens generated (forced ones included) and passed to `onToken`. */
  completionTokens: number;
  /** Submission to first token, in ms (queueing for a step included). */
  prefillMs: number;
  /** The engine's part of it: the start of the first step that fed this prompt to its first token, in
   * ms (the steps prefilling the prompt tokens not taken from the prefix cache). */
  prefillEngineMs: number;
  /** First token to the end, in ms. */
  decodeMs: number;
}

/** Options of the {@linkcode Scheduler}. */
export interface SchedulerOptions {
  /** Longest prompt chunk one sequence feeds in one step (default 256). */
  prefillChunkTokens?: number;
  /** Tokens one step may carry over all sequences (default 512; decodes are always included). */
  stepTokenBudget?: number;
  /**
   * TEST HOOK: a pause after every step, in ms (default 0). The tiny test models generate
   * hundreds of tokens in a few milliseconds; pacing them lets HTTP tests disconnect, unload
   * or shut down while a generation is provably still running. Never set in production.
   */
  testStepDelayMs?: number;
  /** Reuse prompt prefixes the KV slots still hold (prefix_cache.ts; default true). */
  prefixCache?: boolean;
  /** Device bytes the prefix cache's block pool may hold (prefix_blocks.ts; default 0: no pool). */
  prefixCacheBudgetBytes?: number;
  /** Hybrid models: the token before which a prompt's DeltaNet states are kept for reuse (a chat
   * template's `<|im_start|>`: the prompt's last one opens the turn being answered). Without it a
   * hybrid reuses nothing. */
  snapshotToken?: number;
}

/** Moving averages of throughput (α = 0.3), 0 before the first sample. */
export interface ThroughputStats {
  /** Prompt tokens per second of prefill. */
  prefillTokS: number;
  /** Generated tokens per second of decode. */
  decodeTokS: number;
}

/** What the engine steps carried, cumulative since the model loaded. */
export interface StepStats {
  /** Engine steps run. */
  steps: number;
  /** Sequences those steps carried (steps × batch size, summed). */
  sequences: number;
  /** Tokens those steps fed (prompt chunks and decoded tokens). */
  tokens: number;
}
