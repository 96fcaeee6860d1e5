/**
 * `Model` and `Sequence`: a loaded model, its KV-slot-owning sequences, and the batched `step`
 * that feeds tokens to several sequences in one forward pass (continuous batching).
 * @module
 */

import { CX, type PluginLibrary } from "./_ffi.ts";
import type { JobOutput } from "./_jobs.ts";
import { PluginError } from "./errors.ts";
import type { ModelInfo, RepackState, SamplingParams, StepEntry, StepResult } from "./types.ts";

/** @internal How a Model reaches its runtime: submit one job through the completion queue. */
export type JobSubmitter = (
  call: (
    symbols: PluginLibrary["symbols"],
    runtime: number,
    job: Int32Array,
    err: Uint8Array,
    cap: number,
  ) => number,
) => Promise<JobOutput>;

function samplingFields(params: SamplingParams, entry: number): number[] {
  const fields = [
    params.temperature,
    params.topK,
    params.topP,
    params.minP,
    params.seed,
    params.presencePenalty,
    params.frequencyPenalty,
    params.repetitionPenalty,
  ];
  if (!fields.every(Number.isFinite)) {
    throw new PluginError(
      "invalid_argument",
      `entry ${entry}: every sampling parameter must be a finite number`,
    );
  }
  return fields;
}

// An entry's (token, value) pairs for the native bias: with an `allow` mask exactly the allowed tokens
// (each with its logit bias, else 0; CX_STEP_ALLOWED_ONLY forbids the rest), else the logit bias
// followed by the `deny` tokens at -Infinity.
function _biasPairs(entry: StepEntry, i: number): { tokens: Int32Array; values: Float32Array } {
  const bias = entry.logitBias ?? new Map<number, number>();
  for (const token of bias.keys()) {
    if (!Number.isInteger(token)) {
      throw new PluginError("invalid_argument", `entry ${i}: logit bias token ${token} is not an integer`);
    }
  }
  const mask = entry.mask;
  if (mask && "allow" in mask) {
    return { tokens: mask.allow, values: Float32Array.from(mask.allow, (token) => bias.get(token) ?? 0) };
  }
  const denied = mask?.deny.length ?? 0;
  const tokens = new Int32Array(bias.size + denied);
  const values = new Float32Array(bias.size + denied);
  let at = 0;
  for (const [token, value] of bias) {
    tokens[at] = token;
    values[at++] = value;
  }
  if (mask) {
    tokens.set(mask.deny, at);
    values.fill(-Infinity, at);
  }
  return { tokens, values };
}

/** Positions in one prefix-cache block (`Model.storePrefixBlocks`). */
export const PREFIX_BLOCK_TOKENS: number = CX.PREFIX_BLOCK_TOKENS;

/** Where `Model.newSequence` starts a sequence. */
export interface SequenceStart {
  /** The free KV slot to take (default: the lowest free one). */
  slot?: number;
  /** The slot whose positions 0 .. prefix.length - 1 hold `prefix`'s keys and values. */
  sourceSlot?: number;
  /** Tokens the sequence starts with, already computed (not fed again). Not for hybrid models. */
  prefix?: readonly number[];
  /** Prefix-cache blocks holding `prefix`'s keys and values instead of `sourceSlot`: block i gives
   * positions i·B .. (i+1)·B − 1 (B = {@linkcode PREFIX_BLOCK_TOKENS}); `prefix` has blocks.length·B tokens. */
  blocks?: readonly number[];
}

/** A sequence: one KV slot of a model and the tokens it has been fed. */
export class Sequence {
  /** Native handle, unique within the plugin. */
  readonly id: number;
  readonly #model: Model;
  #position = 0;
  #freed = false;

  /** The KV slot it holds (0 .. maxSequences - 1). */
  readonly slot: number;

  /** @internal Created by `Model.newSequence`. */
  constructor(model: Model, id: number, slot: number) {
    this.#model = model;
    this.id = id;
    this.slot = slot;
  }

  /** Tokens held in its KV cache. */
  get position(): number {
    return this.#position;
  }

  /** The model this sequence belongs to. */
  get model(): Model {
    return this.#model;
  }

  /** True once freed (or its model unloaded). */
  get freed(): boolean {
    return this.#freed;
  }

  /** Gives the KV slot back. */
  async free(): Promise<void> {
    if (this.#freed) return;
    this.#freed = true;
    await this.#model._freeSequence(this);
  }

  /** @internal */
  _advance(position: number): void {
    this.#position = position;
  }

  /** @internal */
  _markFreed(): void {
    this.#freed = true;
  }
}

/** A model resident on a device. */
export class Model {
  /** Static facts (architecture, sizes, dtype, memory, special tokens). */
  readonly info: ModelInfo;
  readonly #submit: JobSubmitter;
  readonly #handle: number;
  readonly #sequences = new Set<Sequence>();
  readonly #readRepack: () => RepackState;
  #unloaded = false;

  /** @internal Created by `Plugin.loadModel`. */
  constructor(submit: JobSubmitter, handle: number, info: ModelInfo, readRepack: () => RepackState) {
    this.#submit = submit;
    this.#handle = handle;
    this.info = info;
    this.#readRepack = readRepack;
  }

  /**
   * How far the background repack (LoadOptions.repack) has come, as of now.
   *
   * @example
   * ```ts
   * while (model.repackState().pendingBytes > 0) await new Promise((r) => setTimeout(r, 50));
   * ```
   */
  repackState(): RepackState {
    this.#assertLoaded();
    return this.#readRepack();
  }

  /** Native handle. */
  get handle(): number {
    return this.#handle;
  }

  /**
   * Takes a KV slot; rejects with out_of_memory when every slot is in use. With `start`, takes slot
   * `start.slot` (must be free) and, with `start.prefix`, begins at position prefix.length: the
   * prefix's keys and values are copied from slot `start.sourceSlot` (busy, free, or the slot itself),
   * which the caller vouches holds exactly that prefix at positions 0 .. prefix.length - 1.
   */
  async newSequence(start?: SequenceStart): Promise<Sequence> {
    this.#assertLoaded();
    const prefix = Int32Array.from(start?.prefix ?? []);
    const blocks = Int32Array.from(start?.blocks ?? []);
    if (blocks.length > 0 && prefix.length !== blocks.length * CX.PREFIX_BLOCK_TOKENS) {
      throw new PluginError(
        "invalid_argument",
        `${blocks.length} prefix blocks hold ${
          blocks.length * CX.PREFIX_BLOCK_TOKENS
        } tokens, the prefix has ${prefix.length}`,
      );
    }
    const { ints } = await this.#submit((lib, runtime, job, err, cap) =>
      blocks.length > 0
        ? lib.cx_submit_new_sequence_from_blocks(
          runtime,
          this.#handle,
          start?.slot ?? -1,
          blocks.length,
          blocks,
          prefix,
          job,
          err,
          cap,
        )
        : lib.cx_submit_new_sequence_ex(
          runtime,
          this.#handle,
          start?.slot ?? -1,
          start?.sourceSlot ?? -1,
          prefix.length,
          prefix,
          job,
          err,
          cap,
        )
    );
    const sequence = new Sequence(this, Number(ints[0]), Number(ints[1]));
    sequence._advance(prefix.length);
    this.#sequences.add(sequence);
    return sequence;
  }

  /**
   * One batched forward pass over all entries. Each entry feeds its tokens to its sequence and may
   * ask for a natively sampled next token and/or logits. An invalid entry (token id ≥ vocab, past
   * the context length, freed sequence) fails the whole step before any sequence changes.
   */
  async step(entries: StepEntry[]): Promise<StepResult[]> {
    this.#assertLoaded();
    if (entries.length === 0) throw new PluginError("invalid_argument", "step needs at least one entry");
    const n = entries.length;
    const sequences = new Int32Array(n);
    const counts = new Int32Array(n);
    const flags = new Int32Array(n);
    const sampling = new Float64Array(n * CX.SAMPLING_FIELDS);
    const topLogprobs = new Int32Array(n);
    const biasCounts = new Int32Array(n);
    let total = 0;
    let biasPairs = 0;
    const entryPairs = entries.map((entry, i) => {
      if (entry.sequence.model !== this) {
        throw new PluginError(
          "invalid_argument",
          `entry ${i}: sequence ${entry.sequence.id} belongs to another model`,
        );
      }
      if (entry.sequence.freed) {
        throw new PluginError("invalid_argument", `entry ${i}: sequence ${entry.sequence.id} was freed`);
      }
      if (entry.tokens.length === 0) {
        throw new PluginError("invalid_argument", `entry ${i}: needs at least one token`);
      }
      if ((entry.logitBias?.size || entry.topLogprobs !== undefined) && !entry.sampling) {
        throw new PluginError("invalid_argument", `entry ${i}: logitBias and topLogprobs need sampling`);
      }
      if (entry.mask && !entry.sampling) {
        throw new PluginError("invalid_argument", `entry ${i}: a mask restricts sampling; it needs sampling`);
      }
      if (entry.mask && "allow" in entry.mask && entry.mask.allow.length === 0) {
        throw new PluginError("invalid_argument", `entry ${i}: a mask must allow at least one token`);
      }
      sequences[i] = entry.sequence.id;
      counts[i] = entry.tokens.length;
      total += entry.tokens.length;
      flags[i] = (entry.sampling ? CX.STEP_SAMPLE : 0) | (entry.wantLogits ? CX.STEP_LOGITS : 0) |
        (entry.allLogits ? CX.STEP_ALL_LOGITS : 0) |
        (entry.topLogprobs !== undefined ? CX.STEP_LOGPROBS : 0) |
        (entry.mask && "allow" in entry.mask ? CX.STEP_ALLOWED_ONLY : 0) |
        (entry.snapshot ? CX.STEP_SNAPSHOT : 0);
      if (entry.sampling) sampling.set(samplingFields(entry.sampling, i), i * CX.SAMPLING_FIELDS);
      if (entry.topLogprobs !== undefined) {
        if (!Number.isInteger(entry.topLogprobs)) {
          throw new PluginError(
            "invalid_argument",
            `entry ${i}: topLogprobs ${entry.topLogprobs} is not an integer`,
          );
        }
        topLogprobs[i] = entry.topLogprobs;
      }
      const pairs = _biasPairs(entry, i);
      biasCounts[i] = pairs.tokens.length;
      biasPairs += pairs.tokens.length;
      return pairs;
    });
    const tokens = new Int32Array(total);
    const biasTokens = new Int32Array(biasPairs);
    const biasValues = new Float32Array(biasPairs);
    let offset = 0;
    let pair = 0;
    entries.forEach((entry, i) => {
      for (const token of entry.tokens) {
        if (!Number.isInteger(token)) {
          throw new PluginError("invalid_argument", `entry ${i}: token ${token} is not an integer`);
        }
        tokens[offset++] = token;
      }
      biasTokens.set(entryPairs[i].tokens, pair);
      biasValues.set(entryPairs[i].values, pair);
      pair += entryPairs[i].tokens.length;
    });
    const { ints, floats } = await this.#submit((lib, runtime, job, err, cap) =>
      lib.cx_submit_step_ex(
        runtime,
        this.#handle,
        n,
        sequences,
        counts,
        tokens,
        flags,
        sampling,
        topLogprobs,
        biasCounts,
        biasTokens,
        biasValues,
        job,
        err,
        cap,
      )
    );
    const vocab = this.info.vocabSize;
    let at = 0;
    const results = entries.map((entry, i): StepResult => {
      entry.sequence._advance(Number(ints[n + i]));
      const token = ints[i] < 0n ? null : Number(ints[i]);
      const rows = entry.allLogits ? entry.tokens.length : entry.wantLogits ? 1 : 0;
      const logits = rows > 0 ? floats.slice(at, at + rows * vocab) : null;
      at += rows * vocab;
      return { token, logits, logprobs: null };
    });
    // Log-probabilities follow: per asking entry, its top ids (ints) and 1 + top values (floats).
    let idAt = 2 * n;
    entries.forEach((entry, i) => {
      if (entry.topLogprobs === undefined || results[i].token === null) return;
      const top = [];
      for (let k = 0; k < entry.topLogprobs; k++) {
        top.push({ token: Number(ints[idAt + k]), logprob: floats[at + 1 + k] });
      }
      results[i].logprobs = { token: results[i].token!, logprob: floats[at], top };
      idAt += entry.topLogprobs;
      at += 1 + entry.topLogprobs;
    });
    return results;
  }

  /**
   * Prefix cache: copies positions firstPosition + i·B .. firstPosition + (i+1)·B − 1 of KV slot `slot`
   * (B = {@linkcode PREFIX_BLOCK_TOKENS}) into new blocks named `ids[i]` (unused ids of the caller's
   * choosing), reserving `info.prefixBlockBytes` each on the model's devices; rejects with out_of_memory
   * (nothing stored) when they do not fit. Not for hybrid models.
   */
  async storePrefixBlocks(slot: number, firstPosition: number, ids: readonly number[]): Promise<void> {
    this.#assertLoaded();
    const list = Int32Array.from(ids);
    await this.#submit((lib, runtime, job, err, cap) =>
      lib.cx_submit_prefix_store(runtime, this.#handle, slot, firstPosition, list.length, list, job, err, cap)
    );
  }

  /** Frees prefix-cache blocks (ids not stored are skipped). */
  async dropPrefixBlocks(ids: readonly number[]): Promise<void> {
    if (this.#unloaded || ids.length === 0) return;
    const list = Int32Array.from(ids);
    await this.#submit((lib, runtime, job, err, cap) =>
      lib.cx_submit_prefix_drop(runtime, this.#handle, list.length, list, job, err, cap)
    );
  }

  /** Frees weights, KV cache and every sequence of the model. */
  async unload(): Promise<void> {
    if (this.#unloaded) return;
    this.#unloaded = true;
    for (const sequence of this.#sequences) sequence._markFreed();
    this.#sequences.clear();
    await this.#submit((lib, runtime, job, err, cap) =>
      lib.cx_submit_unload(runtime, this.#handle, job, err, cap)
    );
  }

  /** @internal */
  async _freeSequence(sequence: Sequence): Promise<void> {
    this.#sequences.delete(sequence);
    if (this.#unloaded) return;
    await this.#submit((lib, runtime, job, err, cap) =>
      lib.cx_submit_free_sequence(runtime, this.#handle, sequence.id, job, err, cap)
    );
  }

  #assertLoaded(): void {
    if (this.#unloaded) throw new PluginError("invalid_argument", `model ${this.#handle} was unloaded`);
  }
}
