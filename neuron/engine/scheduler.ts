/**
 * Continuous batching for one loaded model: every step is one batched forward over all
 * running sequences (one token each while decoding, a chunk of prompt while prefilling);
 * new requests join at the next step boundary and finished or cancelled ones leave it,
 * giving their KV slot back at once. A generation may carry a {@linkcode DecodeConstraint}:
 * its masks ride on the generation's step entries (applied natively before sampling), and
 * the tokens it forces are output at once and fed with the next step, like a prompt chunk.
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import {
  type Model,
  PREFIX_BLOCK_TOKENS,
  type SampledLogprobs,
  type Sequence,
  type StepEntry,
  type TokenMask,
} from "../devices/mod.ts";
import { _contextError, _engineError } from "./_scheduler_errors.ts";
import type { DecodeConstraint } from "./decode_constraint.ts";
import type {
  FinishCause,
  GenerationJob,
  GenerationOutcome,
  SchedulerOptions,
  StepStats,
  ThroughputStats,
} from "./generation_job.ts";
import { PrefixBlockPool } from "./prefix_blocks.ts";
import { PrefixCache, type PrefixPlan } from "./prefix_cache.ts";

export type {
  FinishCause,
  GenerationJob,
  GenerationOutcome,
  SchedulerOptions,
  StepStats,
  ThroughputStats,
} from "./generation_job.ts";

interface _Running {
  job: GenerationJob;
  resolve: (outcome: GenerationOutcome) => void;
  reject: (error: unknown) => void;
  sequence: Sequence | null;
  /** Tokens to feed before the next sample: the prompt's rest while prefilling, then the last
   * sampled token and any forced after it. */
  queue: number[];
  /** True until the first sample: the queue is fed in budgeted chunks. */
  prefilling: boolean;
  /** The constraint's mask for the next sample. */
  mask: TokenMask | null;
  cached: number;
  /** Hybrids: tokens left to feed before the prompt's snapshot point (its last `snapshotToken`); the
   * chunk that reaches it ends there and keeps the states (-1: none). */
  untilSnapshot: number;
  generated: number;
  startedAt: number;
  firstStepAt: number | null;
  firstTokenAt: number | null;
  cancelled: boolean;
  /** Set when the constraint threw: the generation ends rejected with it. */
  failure: { error: unknown } | null;
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
  readonly #steps: StepStats = { steps: 0, sequences: 0, tokens: 0 };
  readonly #cache: PrefixCache;
  readonly #snapshotToken: number | null;

  /** Creates the scheduler of a loaded model. */
  constructor(model: Model, options: SchedulerOptions = {}) {
    this.#model = model;
    this.#chunk = Math.max(1, options.prefillChunkTokens ?? 256);
    this.#budget = Math.max(1, options.stepTokenBudget ?? 512);
    this.#stepDelayMs = Math.max(0, options.testStepDelayMs ?? 0);
    this.#snapshotToken = model.info.prefixReuse === "snapshot" ? options.snapshotToken ?? null : null;
    // A hybrid reuses prefixes only where its states were kept, which needs the snapshot token.
    const budget = options.prefixCacheBudgetBytes ?? 0;
    this.#cache = new PrefixCache(
      model.info.maxSequences,
      (options.prefixCache ?? true) && (model.info.prefixReuse === "any" || this.#snapshotToken !== null),
      model.info.prefixReuse === "snapshot",
      model.info.prefixBlockBytes > 0 && budget > 0
        ? new PrefixBlockPool(PREFIX_BLOCK_TOKENS, model.info.prefixBlockBytes, budget)
        : null,
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

  /** Sequences in the running batch now. */
  get batchSize(): number {
    return this.#running.length;
  }

  /** Engine steps and what they carried, cumulative (mean batch = sequences ÷ steps). */
  get stepStats(): StepStats {
    return { ...this.#steps };
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
        queue: [],
        prefilling: true,
        mask: null,
        cached: 0,
        untilSnapshot: -1,
        generated: 0,
        startedAt: performance.now(),
        firstStepAt: null,
        firstTokenAt: null,
        cancelled: false,
        failure: null,
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
      this.#steps.steps++;
      this.#steps.sequences += batch.length;
      for (const { entry } of batch) this.#steps.tokens += entry.tokens.length;
      let results;
      try {
        results = await this.#model.step(batch.map((b) => b.entry));
      } catch (error) {
        await this.#failBatch(batch.map((b) => b.running), error);
        continue;
      }
      for (let i = 0; i < batch.length; i++) {
        const { running, entry } = batch[i];
        this.#cache.append(running.sequence!.slot, Array.from(entry.tokens));
        if (running.untilSnapshot > 0) {
          running.untilSnapshot -= entry.tokens.length;
          if (entry.snapshot) this.#cache.snapshotted(running.sequence!.slot, running.sequence!.position);
        }
        running.queue.splice(0, entry.tokens.length);
        const ended = this.#advance(running, results[i].token, results[i].logprobs);
        if (ended !== null) await this.#leave(running, ended);
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
        await this.#keepEvicted(plan);
        running.sequence = await this.#model.newSequence({
          slot: plan.slot,
          sourceSlot: plan.sourceSlot,
          prefix: running.job.promptTokens.slice(0, plan.reuse),
          ...(plan.blocks.length > 0 ? { blocks: plan.blocks } : {}),
        });
        running.cached = plan.reuse;
        running.queue = running.job.promptTokens.slice(plan.reuse);
        if (this.#snapshotToken !== null) {
          // Split the prefill at the prompt's last snapshot token (a chat's last `<|im_start|>`: what
          // the conversation's next turn resends unchanged) and keep the states there.
          const cut = running.job.promptTokens.lastIndexOf(this.#snapshotToken);
          running.untilSnapshot = cut > plan.reuse ? cut - plan.reuse : -1;
        }
      } catch (error) {
        this.#cache.discard(plan.slot);
        running.reject(_engineError(error));
        continue;
      } finally {
        this.#cache.started(plan);
      }
      const ended = this.#decide(running);
      if (ended === null) this.#running.push(running);
      else await this.#finish(running, ended);
    }
  }

  // Before a plan's slot is overwritten: drops the pool blocks its budget evicted, then keeps what the
  // slot held in new blocks. A store the device refuses (out of memory) only loses those blocks.
  async #keepEvicted(plan: PrefixPlan): Promise<void> {
    await this.#model.dropPrefixBlocks(plan.drop);
    if (plan.spill === null) return;
    try {
      await this.#model.storePrefixBlocks(plan.spill.slot, plan.spill.firstPosition, plan.spill.ids);
    } catch {
      await this.#model.dropPrefixBlocks(this.#cache.spillFailed(plan));
    }
  }

  /** Drops at least `bytes` of prefix-cache blocks (or all unpinned ones) for a model load; returns
   * the bytes freed. */
  async reclaimPrefixBlocks(bytes: number): Promise<number> {
    const ids = this.#cache.reclaim(bytes);
    await this.#model.dropPrefixBlocks(ids);
    return ids.length * this.#model.info.prefixBlockBytes;
  }

  async #dropCancelled(): Promise<void> {
    const keep: _Running[] = [];
    for (const running of this.#running) {
      if (running.cancelled) await this.#finish(running, "cancelled");
      else keep.push(running);
    }
    this.#running = keep;
  }

  // Decodes first (the last token and any forced after it), then prompt chunks in arrival order
  // within the budget.
  #plan(): { running: _Running; entry: StepEntry }[] {
    const batch: { running: _Running; entry: StepEntry }[] = [];
    let budget = this.#budget;
    for (const running of this.#running) {
      if (running.prefilling) continue;
      batch.push({
        running,
        entry: { sequence: running.sequence!, tokens: [...running.queue], ..._samplingOf(running) },
      });
      budget -= running.queue.length;
    }
    for (const running of this.#running) {
      if (!running.prefilling) continue;
      const remaining = running.queue.length;
      const limit = running.untilSnapshot > 0 ? Math.min(this.#chunk, running.untilSnapshot) : this.#chunk;
      let n = Math.min(remaining, limit, Math.max(budget, 0));
      if (n === 0 && batch.length === 0) n = Math.min(remaining, limit);
      if (n === 0) continue;
      const tokens = running.queue.slice(0, n);
      const last = n === remaining;
      const snapshot = n === running.untilSnapshot;
      batch.push({
        running,
        entry: {
          sequence: running.sequence!,
          tokens,
          ...(last ? _samplingOf(running) : {}),
          ...(snapshot ? { snapshot: true } : {}),
        },
      });
      budget -= n;
    }
    return batch;
  }

  // Records a step's result for one generation; returns why it ends now, or null to go on.
  #advance(running: _Running, token: number | null, logprobs: SampledLogprobs | null): FinishCause | null {
    if (token === null) return null; // a prompt chunk that was not the last
    running.prefilling = false;
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
    const ended = this.#output(running, token, logprobs);
    if (ended !== null) return ended;
    if (running.sequence!.position >= this.#model.info.contextLength) return "length";
    running.queue = [token];
    return this.#decide(running, token);
  }

  // Passes one generated token on; returns why the generation ends with it, or null.
  #output(running: _Running, token: number, logprobs: SampledLogprobs | null): FinishCause | null {
    running.generated++;
    let keepGoing = true;
    try {
      keepGoing = running.job.onToken(token, logprobs);
    } catch {
      keepGoing = false;
    }
    if (!keepGoing) return "stopped";
    return running.generated >= running.job.maxTokens ? "length" : null;
  }

  // Asks the generation's constraint what comes before the next sample: a mask for it, tokens
  // forced first (output now, fed with the next step), or the end.
  // `sampled`: the token just sampled under the last decision (null before the first).
  #decide(running: _Running, sampled: number | null = null): FinishCause | null {
    running.mask = null;
    const constraint = running.job.constraint;
    if (constraint === undefined) return null;
    try {
      if (sampled !== null) constraint.accept(sampled);
      return this.#decideWith(constraint, running);
    } catch (error) {
      running.failure = { error };
      return "stopped";
    }
  }

  #decideWith(constraint: DecodeConstraint, running: _Running): FinishCause | null {
    while (true) {
      const action = constraint.next(this.#remaining(running));
      if (action.type === "free") return null;
      if (action.type === "mask") {
        running.mask = action.mask;
        return null;
      }
      if (action.type === "end") return "stopped";
      if (action.tokens.length === 0) throw new Error("a decode constraint forced no tokens");
      for (const token of action.tokens) {
        if (this.#remaining(running) <= 0) return "length";
        const top = running.job.topLogprobs ?? 0;
        const logprobs = running.job.topLogprobs === undefined
          ? null
          : { token, logprob: 0, top: top > 0 ? [{ token, logprob: 0 }] : [] };
        running.queue.push(token);
        const ended = this.#output(running, token, logprobs);
        if (ended !== null) return ended;
      }
    }
  }

  // Tokens the generation may still output: its budget, and the context left once the queue is fed.
  #remaining(running: _Running): number {
    const fed = running.sequence!.position + running.queue.length;
    return Math.max(
      0,
      Math.min(running.job.maxTokens - running.generated, this.#model.info.contextLength - fed),
    );
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
    if (running.failure !== null) running.reject(_engineError(running.failure.error));
    else running.resolve(outcome);
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
function _samplingOf(running: _Running): Pick<StepEntry, "sampling" | "logitBias" | "topLogprobs" | "mask"> {
  const job = running.job;
  const entry: Pick<StepEntry, "sampling" | "logitBias" | "topLogprobs" | "mask"> = {
    sampling: job.sampling,
  };
  if (job.logitBias && job.logitBias.size > 0) entry.logitBias = job.logitBias;
  if (job.topLogprobs !== undefined) entry.topLogprobs = job.topLogprobs;
  if (running.mask !== null) entry.mask = running.mask;
  return entry;
}
