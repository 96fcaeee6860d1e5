/**
 * A model resident on a device together with everything serving it needs: tokenizer, chat
 * template, `generation_config.json` defaults, end-of-sequence ids, its continuous-batching
 * scheduler and its admission queue.
 *
 * @module
 */
import { fleetError, type PrefixCacheStats } from "@cortex/core/fleet";
import { CortexError } from "@cortex/core/errors";
import type { Model, ModelInfo } from "../devices/mod.ts";
import { Admission, type AdmissionLimits } from "../engine/admission.ts";
import { prefixCacheReport } from "../engine/prefix_cache.ts";
import { ChatTemplate } from "../engine/chat_template.ts";
import { type GenerationConfig, readGenerationConfig } from "../engine/sampling.ts";
import { Scheduler, type SchedulerOptions } from "../engine/scheduler.ts";
import { ModelTokenizer } from "../engine/tokenizer.ts";
import { ggufTokenizerFiles } from "../engine/gguf_tokenizer.ts";
import type { GgufHeader } from "../sources/gguf/mod.ts";

/** Serving assets read from a model folder before its weights are loaded. */
export interface ModelAssets {
  /** Tokenizer. */
  tokenizer: ModelTokenizer;
  /** Chat template (ChatML fallback when the folder has none). */
  template: ChatTemplate;
  /** Sampling defaults. */
  generationConfig: GenerationConfig;
}

/**
 * Reads tokenizer, template and generation config (422 `bad_model_folder` on a broken file).
 * For a `.gguf` file (`gguf` is its header) they come from the folder beside it when that
 * holds a `tokenizer.json`, else from the file's `tokenizer.ggml.*` metadata.
 */
export async function readModelAssets(path: string, gguf: GgufHeader | null = null): Promise<ModelAssets> {
  if (gguf === null) return await _folderAssets(path);
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  const besideIt = await Deno.stat(`${dir}/tokenizer.json`).then((s) => s.isFile, () => false);
  if (besideIt) return await _folderAssets(dir);
  const { tokenizerJson, config } = ggufTokenizerFiles(gguf, path);
  let tokenizer: ModelTokenizer;
  try {
    tokenizer = new ModelTokenizer(tokenizerJson, config);
  } catch (error) {
    throw new CortexError(
      `${path}: the tokenizer in its metadata is not usable: ${(error as Error).message}`,
      {
        code: "bad_model_folder",
        status: 422,
      },
    );
  }
  const template = ChatTemplate.fromGgufConfig(config, path);
  return { tokenizer, template, generationConfig: await readGenerationConfig(dir) };
}

async function _folderAssets(folder: string): Promise<ModelAssets> {
  const tokenizer = await ModelTokenizer.fromFolder(folder);
  const template = await ChatTemplate.fromFolder(folder, tokenizer.config);
  return { tokenizer, template, generationConfig: await readGenerationConfig(folder) };
}

/** Generations and tokens a model served, cumulative. */
export interface ServedCounts {
  /** Generations that ran to their end (not cancelled or failed). */
  generations: number;
  /** Prompt tokens of those. */
  promptTokens: number;
  /** Of those, tokens taken from the prefix cache. */
  cachedTokens: number;
  /** Tokens generated. */
  completionTokens: number;
}

/** A loaded, servable model. */
export class LoadedModel {
  /** The id it was loaded under. */
  readonly id: string;
  /** Its folder. */
  readonly folder: string;
  /** Where it came from (folder path or hub id). */
  readonly source: string;
  /** The engine model. */
  readonly model: Model;
  /** Tokenizer. */
  readonly tokenizer: ModelTokenizer;
  /** Chat template. */
  readonly template: ChatTemplate;
  /** Sampling defaults. */
  readonly generationConfig: GenerationConfig;
  /** Token ids that end a generation. */
  readonly stopTokenIds: ReadonlySet<number>;
  /** Continuous batching. */
  readonly scheduler: Scheduler;
  /** Seats and queue. */
  readonly admission: Admission;
  /** Largest prompt accepted, in tokens. */
  readonly maxPromptTokens: number;
  /** Load wall time in ms. */
  readonly loadMs: number;
  /** Parsed tool calls that named a tool not offered (cumulative), and those of them repaired. */
  readonly toolCallStats: { unoffered: number; repaired: number } = { unoffered: 0, repaired: 0 };
  /** What it served since it loaded (cumulative; `/metrics`). */
  readonly served: ServedCounts = { generations: 0, promptTokens: 0, cachedTokens: 0, completionTokens: 0 };
  /** `<tool_call>` blocks by `format outcome` (e.g. `"json ok"`), cumulative (`cortex_tool_calls_total`). */
  readonly toolCalls: Map<string, number> = new Map();

  /** Wraps a freshly loaded engine model. */
  constructor(options: {
    id: string;
    folder: string;
    source: string;
    model: Model;
    assets: ModelAssets;
    admission: AdmissionLimits;
    maxPromptTokens: number | null;
    loadMs: number;
    scheduler?: SchedulerOptions;
  }) {
    this.id = options.id;
    this.folder = options.folder;
    this.source = options.source;
    this.model = options.model;
    this.tokenizer = options.assets.tokenizer;
    this.template = options.assets.template;
    this.generationConfig = options.assets.generationConfig;
    this.loadMs = options.loadMs;
    const stops = new Set<number>(options.model.info.eosTokenIds);
    const configured = options.assets.generationConfig.eos_token_id;
    for (const id of Array.isArray(configured) ? configured : configured === undefined ? [] : [configured]) {
      stops.add(id);
    }
    const eos = options.assets.tokenizer.eosToken;
    const eosId = eos === null ? null : options.assets.tokenizer.tokenId(eos);
    if (eosId !== null) stops.add(eosId);
    this.stopTokenIds = stops;
    // A hybrid keeps its states at a chat prompt's last `<|im_start|>` (the prefix cache's cut).
    const imStart = options.assets.tokenizer.tokenId("<|im_start|>");
    this.scheduler = new Scheduler(options.model, {
      ...(imStart === null ? {} : { snapshotToken: imStart }),
      ...options.scheduler,
    });
    const seats = Math.min(options.admission.maxInFlight, options.model.info.maxSequences);
    this.admission = new Admission({ ...options.admission, maxInFlight: seats });
    const contextPrompt = options.model.info.contextLength - 1;
    this.maxPromptTokens = Math.min(contextPrompt, options.maxPromptTokens ?? contextPrompt);
  }

  /** Engine facts. */
  get info(): ModelInfo {
    return this.model.info;
  }

  /** Vocabulary size (as `info.vocabSize`). */
  get vocabSize(): number {
    return this.model.info.vocabSize;
  }

  /** Device memory it holds in MB (weights and KV cache). */
  get memoryUsedMb(): number {
    return Math.ceil((this.info.weightBytes + this.info.kvCacheBytes) / 2 ** 20);
  }

  /** The prefix-cache figures, its held tokens sized by the KV-cache bytes of one slot's token (over every rank). */
  prefixCacheReport(): PrefixCacheStats {
    const info = this.model.info;
    return prefixCacheReport(
      this.scheduler.prefixCache,
      info.kvCacheBytes / Math.max(1, info.maxSequences * info.contextLength),
    );
  }

  /** Requests running or queued. */
  get busy(): number {
    const stats = this.admission.stats;
    return stats.inFlight + stats.queueDepth;
  }

  /** A 400 `context_length_exceeded` when a prompt is too long, else null. */
  checkPromptLength(promptTokens: number, param: string): CortexError | null {
    if (promptTokens <= this.maxPromptTokens) return null;
    return fleetError(
      "context_length_exceeded",
      `this model's maximum prompt length is ${this.maxPromptTokens} tokens (context ${this.info.contextLength}); ` +
        `your prompt has ${promptTokens} tokens. Shorten the prompt.`,
      { param, extras: { prompt_tokens: promptTokens, max: this.maxPromptTokens } },
    );
  }

  /** Stops serving (refusing waiters with `error`), ends generations and frees the engine model. */
  async unload(error: CortexError): Promise<void> {
    this.admission.close(error);
    await this.scheduler.close(error);
    await this.model.unload();
  }
}
