/**
 * Continuous batching for one loaded model: every step is one batched forward over all
 * running sequences (one token each while decoding, a chunk of prompt while prefilling);
 * new requests join at the next step boundary and finished or cancelled ones leave it,
 * giving their KV slot back at once.
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import type { Model, SampledLogprobs, SamplingParams, Sequence, StepEntry } from "../devices/mod.ts";
import { PrefixCache } from "./prefix_cache.ts";

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
   * return false to stop (e.g. a stop string matched). */
  onToken: (token: number, logprobs: SampledLogprobs | null) => boolean;
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
  /** Tokens generated and passed to `onToken`. */
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
  /** Reuse prompt prefixes the KV slots still hold (prefix_cache.ts; default true). Hybrid models never do. */
  prefixCache?: boolean;
}

/** Moving averages of throughput (α = 0.3), 0 before the first sample. */
export interface ThroughputStats {
  /** Prompt tokens per second of prefill. */
  prefillTokS: number;
  /** Generated tokens per second of decode. */
  decodeTokS: number;
}

interface _Running {
  job: GenerationJob;
  resolve: (outcome: GenerationOutcome) => void;
  reject: (error: unknown) => void;
  sequence: Sequence | null;
  fed: number;
  cached: number;
  next: number | null;
  generated: number;
  startedAt: number;
  firstStepAt: number | null;
  firstTokenAt: number | null;
  cancelled: boolean;
}

const _EMA = 0.3;

/**
 * The batching loop of one model. It runs while there is work and idles otherwise.
 *
 * @example
 * ```ts ignore
 * import { Scheduler } from "./scheduler.ts";
 * const scheduler = new Scheduler(model);
 * const tokens: number[] = [];
 * const outcome = await scheduler.generate({
 *   promptTokens: [1, 2, 3], sampling: GREEDY, maxTokens: 8, stopTokenIds: new Set([2]),
 *   onToken: (t) => (tokens.push(t), true),
 * });
 * ```
 */
export class Scheduler {
  readonly #model: Model;
  readonly #chunk: number;
  readonly #budget: number;
  readonly #stepDelayMs: number;
  #cancelled = 0;
  #waiting: _Running[] = [];
  #running: _Running[] = [];
  #loop: Promise<void> | null = null;
  #closed: CortexError | null = null;
  #fault: CortexError | null = null;
  #throughput: ThroughputStats = { prefillTokS: 0, decodeTokS: 0 };
  readonly #cache: PrefixCache;

  /** Creates the scheduler of a loaded model. */
  constructor(model: Model, options: SchedulerOptions = {}) {
    this.#model = model;
    this.#chunk = Math.max(1, options.prefillChunkTokens ?? 256);
    this.#budget = Math.max(1, options.stepTokenBudget ?? 512);
    this.#stepDelayMs = Math.max(0, options.testStepDelayMs ?? 0);
    this.#cache = new PrefixCache(
      model.info.maxSequences,
      (options.prefixCache ?? true) && model.info.prefixReuse,
    );
  }

  /** The model's prefix cache (its figures for /models, /health and metrics). */
  get prefixCache(): PrefixCache {
    return this.#cache;
  }

  /** Generations ended because their consumer went away (cumulative). */
  get cancelled(): number {
    return this.#cancelled;
  }

  /** Generations holding a KV slot or about to. */
  get active(): number {
    return this.#waiting.length + this.#running.length;
  }

  /** Throughput moving averages. */
  get throughput(): ThroughputStats {
    return { ...this.#throughput };
  }

  /** Set after a device fault: the model can no longer serve. */
  get fault(): CortexError | null {
    return this.#fault;
  }

  /**
   * Runs one generation in the batch; resolves when it ends (also when cancelled). Rejects
   * when the engine fails or the scheduler is closed.
   */
  generate(job: GenerationJob): Promise<GenerationOutcome> {
    const refused = this.#closed ?? this.#fault;
    if (refused) return Promise.reject(refused);
    const context = this.#model.info.contextLength;
    if (job.promptTokens.length === 0) {
      return Promise.reject(
        new CortexError("the prompt is empty", { code: "invalid_request_body", status: 400 }),
      );
    }
    if (job.promptTokens.length >= context) {
      return Promise.reject(_contextError(job.promptTokens.length, context));
    }
    return new Promise((resolve, reject) => {
      const running: _Running = {
        job,
        resolve,
        reject,
        sequence: null,
        fed: 0,
        cached: 0,
        next: null,
        generated: 0,
        startedAt: performance.now(),
        firstStepAt: null,
        firstTokenAt: null,
        cancelled: false,
      };
      if (job.signal?.aborted) running.cancelled = true;
      job.signal?.addEventListener("abort", () => (running.cancelled = true), { once: true });
      this.#waiting.push(running);
      this.#loop ??= this.#run().finally(() => (this.#loop = null));
    });
  }

  /**
   * Refuses new generations with `error`, ends running ones as cancelled and waits until
   * every KV slot is free.
   */
  async close(error: CortexError): Promise<void> {
    this.#closed = error;
    for (const running of [...this.#waiting, ...this.#running]) running.cancelled = true;
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (this.#waiting.length > 0 || this.#running.length > 0) {
      await this.#admitWaiting();
      await this.#dropCancelled();
      if (this.#running.length === 0) continue;
      const batch = this.#plan();
      const stepAt = performance.now();
      for (const { running } of batch) running.firstStepAt ??= stepAt;
      let results;
      try {
        results = await this.#model.step(batch.map((b) => b.entry));
      } catch (error) {
        await this.#failBatch(batch.map((b) => b.running), error);
        continue;
      }
      for (let i = 0; i < batch.length; i++) {
        this.#cache.append(batch[i].running.sequence!.slot, Array.from(batch[i].entry.tokens));
        const ended = this.#advance(batch[i].running, results[i].token, results[i].logprobs);
        if (ended !== null) await this.#leave(batch[i].running, ended);
      }
      if (this.#stepDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.#stepDelayMs));
    }
  }

  async #admitWaiting(): Promise<void> {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const running of waiting) {
      if (running.cancelled) {
        if (!this.#closed) this.#cancelled++;
        running.resolve(this.#outcome(running, "cancelled"));
        continue;
      }
      const plan = this.#cache.plan(running.job.promptTokens);
      if (plan === null) {
        running.reject(
          _engineError(Object.assign(new Error("every KV slot is in use"), { code: "out_of_memory" })),
        );
        continue;
      }
      try {
        running.sequence = await this.#model.newSequence({
          slot: plan.slot,
          sourceSlot: plan.sourceSlot,
          prefix: running.job.promptTokens.slice(0, plan.reuse),
        });
        running.fed = running.cached = plan.reuse;
        this.#running.push(running);
      } catch (error) {
        this.#cache.discard(plan.slot);
        running.reject(_engineError(error));
      }
    }
  }

  async #dropCancelled(): Promise<void> {
    const keep: _Running[] = [];
    for (const running of this.#running) {
      if (running.cancelled) await this.#finish(running, "cancelled");
      else keep.push(running);
    }
    this.#running = keep;
  }

  // Decodes first (one token each), then prompt chunks in arrival order within the budget.
  #plan(): { running: _Running; entry: StepEntry }[] {
    const batch: { running: _Running; entry: StepEntry }[] = [];
    let budget = this.#budget;
    for (const running of this.#running) {
      if (running.next === null) continue;
      batch.push({
        running,
        entry: { sequence: running.sequence!, tokens: [running.next], ..._samplingOf(running.job) },
      });
      budget--;
    }
    for (const running of this.#running) {
      if (running.next !== null) continue;
      const remaining = running.job.promptTokens.length - running.fed;
      let n = Math.min(remaining, this.#chunk, Math.max(budget, 0));
      if (n === 0 && batch.length === 0) n = Math.min(remaining, this.#chunk);
      if (n === 0) continue;
      const tokens = running.job.promptTokens.slice(running.fed, running.fed + n);
      const last = running.fed + n === running.job.promptTokens.length;
      batch.push({
        running,
        entry: { sequence: running.sequence!, tokens, ...(last ? _samplingOf(running.job) : {}) },
      });
      budget -= n;
    }
    return batch;
  }

  // Records a step's result for one generation; returns why it ends now, or null to go on.
  #advance(running: _Running, token: number | null, logprobs: SampledLogprobs | null): FinishCause | null {
    if (running.next === null) {
      running.fed = running.sequence!.position;
      if (token === null) return null; // a prompt chunk that was not the last
    }
    if (token === null) return null;
    if (running.firstTokenAt === null) {
      running.firstTokenAt = performance.now();
      this.#sample(
        "prefillTokS",
        running.job.promptTokens.length - running.cached,
        running.firstTokenAt - running.startedAt,
      );
    }
    if (running.cancelled) return "cancelled";
    if (running.job.stopTokenIds.has(token)) return "eos";
    running.generated++;
    let keepGoing = true;
    try {
      keepGoing = running.job.onToken(token, logprobs);
    } catch {
      keepGoing = false;
    }
    if (!keepGoing) return "stopped";
    if (running.generated >= running.job.maxTokens) return "length";
    if (running.sequence!.position >= this.#model.info.contextLength) return "length";
    running.next = token;
    return null;
  }

  async #leave(running: _Running, cause: FinishCause): Promise<void> {
    this.#running = this.#running.filter((r) => r !== running);
    await this.#finish(running, cause);
  }

  async #finish(running: _Running, cause: FinishCause): Promise<void> {
    try {
      await running.sequence?.free();
    } catch {
      // the model may be unloading; its slots go with it
    }
    if (running.sequence) this.#cache.release(running.sequence.slot);
    const outcome = this.#outcome(running, cause);
    if (cause === "cancelled" && !this.#closed) this.#cancelled++;
    if (cause !== "cancelled" && outcome.generatedTokens > 1 && outcome.decodeMs > 0) {
      this.#sample("decodeTokS", outcome.generatedTokens - 1, outcome.decodeMs);
    }
    running.resolve(outcome);
  }

  async #failBatch(batch: _Running[], error: unknown): Promise<void> {
    const failure = _engineError(error);
    if ((error as { code?: string })?.code === "device_poisoned") this.#fault = failure;
    for (const running of batch) {
      this.#running = this.#running.filter((r) => r !== running);
      try {
        await running.sequence?.free();
      } catch {
        // nothing more to do for a failed slot
      }
      if (running.sequence) this.#cache.discard(running.sequence.slot);
      running.reject(failure);
    }
  }

  #outcome(running: _Running, cause: FinishCause): GenerationOutcome & { generatedTokens: number } {
    const now = performance.now();
    const first = running.firstTokenAt ?? now;
    return {
      cause,
      promptTokens: running.job.promptTokens.length,
      cachedTokens: running.cached,
      completionTokens: running.generated,
      generatedTokens: running.generated + (cause === "eos" ? 1 : 0),
      prefillMs: first - running.startedAt,
      prefillEngineMs: first - (running.firstStepAt ?? first),
      decodeMs: now - first,
    };
  }

  #sample(key: keyof ThroughputStats, tokens: number, ms: number): void {
    if (ms <= 0 || tokens <= 0) return;
    const rate = tokens / (ms / 1000);
    const previous = this.#throughput[key];
    this.#throughput[key] = previous === 0 ? rate : previous + _EMA * (rate - previous);
  }
}

// The sampling part of a generation's step entry.
function _samplingOf(job: GenerationJob): Pick<StepEntry, "sampling" | "logitBias" | "topLogprobs"> {
  const entry: Pick<StepEntry, "sampling" | "logitBias" | "topLogprobs"> = { sampling: job.sampling };
  if (job.logitBias && job.logitBias.size > 0) entry.logitBias = job.logitBias;
  if (job.topLogprobs !== undefined) entry.topLogprobs = job.topLogprobs;
  return entry;
}

function _contextError(promptTokens: number, context: number): CortexError {
  return new CortexError(
    `this model's maximum context length is ${context} tokens and at least one must be left to generate; ` +
      `the prompt has ${promptTokens} tokens`,
    {
      code: "context_length_exceeded",
      status: 400,
      param: "messages",
      extras: { prompt_tokens: promptTokens, max: context - 1 },
    },
  );
}

function _engineError(error: unknown): CortexError {
  if (error instanceof CortexError) return error;
  const code = (error as { code?: string })?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === "device_poisoned") {
    return new CortexError(`device fault: ${message}`, { code: "backend_unavailable", status: 503 });
  }
  if (code === "out_of_memory") {
    return new CortexError(`no free KV slot: ${message}`, {
      code: "rate_limit_exceeded",
      status: 429,
      retryAfter: 1,
    });
  }
  return new CortexError(`engine error: ${message}`, { code: "internal_error", status: 500 });
}
