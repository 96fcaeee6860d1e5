/**
 * The models of one neuron and their lifecycle: loads (single-flight per id, concurrent
 * across ids, memory-checked before the engine is asked), unloads (refused or drained while
 * requests are in flight), the `/models` listing and per-model `/health` figures. A failed
 * load stays listed (status `failed`, with its error) for `failed_load_ttl_s`, then is
 * dropped: a bad id leaves no lasting entry.
 *
 * Unload while requests run: `wait: false` (the default) refuses with 409 `model_busy` and
 * touches nothing; `wait: true` stops admitting (new requests get 503 `model_unloading`),
 * lets running and queued requests finish — streams included — for up to `timeout_ms`, then
 * unloads; if they are still running at the deadline the model is kept serving and the
 * answer is 409 `model_busy`.
 *
 * @module
 */
import type { NeuronConfig } from "@cortex/core/config";
import { CortexError } from "@cortex/core/errors";
import { Logger } from "@cortex/core/log";
import {
  fleetError,
  type LoadModelRequest,
  type LoadModelResult,
  type LoadProgress,
  type ModelLoadStats,
  type NeuronModelInfo,
  type UnloadModelRequest,
  type UnloadModelResult,
  type WeightRepack,
} from "@cortex/core/fleet";
import { type DeviceInfo, type Plugin, PluginError } from "../devices/mod.ts";
import { type CatalogEntry, describeSource, type ModelCatalog } from "../sources/catalog.ts";
import { resolveModel } from "../sources/model_path.ts";
import type { SchedulerOptions } from "../engine/scheduler.ts";
import type { PoolModel } from "../prompts/mod.ts";
import { LoadedModel, readModelAssets } from "./loaded_model.ts";
import { defaultContextLength, estimateNeed, loadErrorToCortex, pickDevices } from "./placement.ts";
import { refuseUnfittingConfig } from "./preflight.ts";

interface _Slot {
  id: string;
  source: string;
  status: "loading" | "loaded" | "unloading" | "failed";
  progress: LoadProgress | null;
  error: CortexError | null;
  loading: Promise<LoadedModel> | null;
  loaded: LoadedModel | null;
  architecture: string | null;
  weightType: string | null;
  /** When the load failed (`performance.now()`), or null. */
  failedAt: number | null;
}

/** Options of the {@linkcode ModelRegistry}. */
export interface RegistryOptions {
  /** The opened engine. */
  plugin: Plugin;
  /** Model sources. */
  catalog: ModelCatalog;
  /** The neuron's config (admission limits, device selection, prompt cap). */
  config: NeuronConfig;
  /** Scheduler options of every model (e.g. the step-pacing test hook). */
  scheduler?: SchedulerOptions;
  /** Loads, unloads and failures are logged here (default: nowhere). */
  log?: Logger;
}

/** Loaded and loading models, by id. */
export class ModelRegistry {
  readonly #plugin: Plugin;
  readonly #catalog: ModelCatalog;
  readonly #config: NeuronConfig;
  readonly #scheduler: SchedulerOptions;
  readonly #slots = new Map<string, _Slot>();
  /** Tokenizers and templates read for models that are not loaded (`promptAssets`). */
  readonly #assets = new Map<string, Promise<PoolModel>>();
  readonly #log: Logger;
  #draining = false;

  /** Creates an empty registry. */
  constructor(options: RegistryOptions) {
    this.#plugin = options.plugin;
    this.#catalog = options.catalog;
    this.#config = options.config;
    this.#scheduler = options.scheduler ?? {};
    this.#log = options.log ?? Logger.silent("neuron");
  }

  // Drops failed loads older than `failed_load_ttl_s` (checked lazily: no timer outlives the registry).
  #pruneFailed(): void {
    const ttlMs = this.#config.failed_load_ttl_s * 1000;
    const now = performance.now();
    for (const [id, slot] of this.#slots) {
      if (slot.status === "failed" && slot.failedAt !== null && now - slot.failedAt >= ttlMs) {
        this.#slots.delete(id);
      }
    }
  }

  /**
   * Devices this neuron may use (the plugin's, minus CUDA devices excluded by `devices.cuda`). Their free
   * memory counts the prefix-cache blocks held there, which a load drops before it is refused.
   */
  devices(): DeviceInfo[] {
    return this.#usableDevices().map((d) => ({
      ...d,
      memoryFreeBytes: d.memoryFreeBytes + this.poolBytesOn(d.index),
    }));
  }

  #usableDevices(): DeviceInfo[] {
    const cuda = this.#config.devices.cuda;
    return this.#plugin.devices().filter((d) =>
      d.backend === "cpu" || cuda === "all" || (Array.isArray(cuda) && cuda.includes(d.index))
    );
  }

  /** Bytes of prefix-cache blocks the loaded models hold on `device` (each rank holds an equal share). */
  poolBytesOn(device: number): number {
    let bytes = 0;
    for (const loaded of this.#loadedModels()) {
      const devices = loaded.model.info.devices;
      if (devices.includes(device)) bytes += loaded.scheduler.prefixCache.poolBytes / devices.length;
    }
    return Math.round(bytes);
  }

  #loadedModels(): LoadedModel[] {
    return [...this.#slots.values()].flatMap((slot) => (slot.loaded ? [slot.loaded] : []));
  }

  // Drops prefix-cache blocks on `devices` until each has `perDevice` bytes free (all of them with
  // `perDevice` Infinity), so a load that fits only without them is not refused.
  async #reclaimFor(devices: readonly number[], perDevice: number): Promise<void> {
    for (const device of devices) {
      const info = this.#usableDevices().find((d) => d.index === device);
      let short = perDevice - (info?.memoryFreeBytes ?? 0);
      for (const loaded of this.#loadedModels()) {
        if (short <= 0) break;
        const ranks = loaded.model.info.devices;
        if (!ranks.includes(device)) continue;
        short -= (await loaded.scheduler.reclaimPrefixBlocks(short * ranks.length)) / ranks.length;
      }
    }
  }

  /** Loads a model (or joins its load in progress); an already-loaded model is a success. */
  async load(request: LoadModelRequest): Promise<LoadModelResult> {
    if (this.#draining) throw fleetError("shutting_down", "the neuron is shutting down");
    const slot = this.#slots.get(request.model_id);
    if (slot?.status === "loaded" && slot.loaded) return this.#result(slot.loaded, true);
    if (slot?.status === "loading" && slot.loading) return this.#result(await slot.loading, true);
    if (slot?.status === "unloading") {
      throw fleetError("model_busy", `model '${request.model_id}' is being unloaded; retry once it is gone`);
    }
    const entry = await this.#catalog.resolve(request.model_id);
    if (entry === null) {
      throw fleetError(
        "model_not_found",
        `model '${request.model_id}' is not configured, not a folder in models_dir and not a hub id "[hf:]org/name"`,
        { param: "model_id" },
      );
    }
    const fresh: _Slot = {
      id: request.model_id,
      source: describeSource(entry.source),
      status: "loading",
      progress: null,
      error: null,
      loading: null,
      loaded: null,
      architecture: null,
      weightType: null,
      failedAt: null,
    };
    this.#slots.set(request.model_id, fresh);
    fresh.loading = this.#load(fresh, entry, request);
    try {
      const loaded = await fresh.loading;
      return this.#result(loaded, false);
    } finally {
      fresh.loading = null;
    }
  }

  /** Unloads a model; see the module doc for what happens to requests in flight. */
  async unload(request: UnloadModelRequest): Promise<UnloadModelResult> {
    this.#pruneFailed();
    const slot = this.#slots.get(request.model_id);
    if (!slot || slot.status === "failed") {
      throw fleetError("model_not_found", `model '${request.model_id}' is not loaded`, { param: "model_id" });
    }
    if (slot.status === "loading") {
      throw fleetError("model_busy", `model '${request.model_id}' is still loading; unload it once loaded`);
    }
    if (slot.status === "unloading") {
      throw fleetError("model_busy", `model '${request.model_id}' is already being unloaded`);
    }
    const loaded = slot.loaded!;
    if (loaded.busy > 0) {
      if (!request.wait) {
        throw fleetError(
          "model_busy",
          `model '${request.model_id}' has ${loaded.busy} requests in flight; retry with "wait": true to let them finish first`,
          { extras: { in_flight: loaded.busy } },
        );
      }
      slot.status = "unloading";
      loaded.admission.close(_unloadingError(request.model_id));
      const timeoutMs = request.timeout_ms ?? 30_000;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const drained = await Promise.race([
        loaded.admission.whenIdle().then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (!drained) {
        loaded.admission.reopen();
        slot.status = "loaded";
        throw fleetError(
          "model_busy",
          `model '${request.model_id}' still has ${loaded.busy} requests in flight after ${timeoutMs} ms; it stays loaded`,
          { extras: { in_flight: loaded.busy } },
        );
      }
    }
    slot.status = "unloading";
    const freed = loaded.memoryUsedMb;
    try {
      await loaded.unload(_unloadingError(request.model_id));
    } finally {
      this.#slots.delete(request.model_id);
    }
    this.#log.info("model_unloaded", { model: request.model_id, memory_freed_mb: freed });
    return { status: "unloaded", model_id: request.model_id, memory_freed_mb: freed };
  }

  /** The loaded model for an inference request, or the error explaining why it cannot serve. */
  /**
   * What tokenizing a prompt for `modelId` needs — its tokenizer and chat template — without loading
   * weights: the loaded model's, else read from its files when they are on this machine (cached per id).
   * A model known only as an uncached hub id is a 404 saying so (counting would need a download).
   */
  async promptAssets(modelId: string): Promise<PoolModel> {
    const slot = this.#slots.get(modelId);
    if (slot?.status === "loaded" && slot.loaded) return slot.loaded;
    const cached = this.#assets.get(modelId);
    if (cached) return await cached;
    const entry = await this.#catalog.resolve(modelId);
    if (entry === null) throw fleetError("model_not_found", `model '${modelId}' is not known to this neuron`);
    const path = await this.#catalog.localPath(entry);
    if (path === null) {
      throw fleetError(
        "model_not_found",
        `model '${modelId}' is neither loaded nor cached on this neuron; its tokenizer would need a download`,
        { param: "model" },
      );
    }
    const reading = resolveModel(path, null).then(async (resolved) => {
      const assets = await readModelAssets(resolved.path, resolved.gguf?.header ?? null);
      return {
        ...assets,
        folder: resolved.path,
        maxPromptTokens: this.#config.max_prompt_tokens ?? Number.MAX_SAFE_INTEGER,
        vocabSize: assets.tokenizer.idLimit,
      };
    });
    this.#assets.set(modelId, reading);
    reading.catch(() => this.#assets.delete(modelId));
    return await reading;
  }

  acquire(modelId: string): LoadedModel {
    if (this.#draining) throw fleetError("shutting_down", "the neuron is shutting down");
    const slot = this.#slots.get(modelId);
    if (slot?.status === "loaded" && slot.loaded) {
      const fault = slot.loaded.scheduler.fault;
      if (fault) throw fault;
      return slot.loaded;
    }
    if (slot?.status === "loading") {
      throw new CortexError(`model '${modelId}' is still loading`, {
        code: "model_loading",
        status: 503,
        retryAfter: 2,
        param: "model",
      });
    }
    if (slot?.status === "unloading") throw _unloadingError(modelId);
    throw fleetError(
      "model_not_found",
      `model '${modelId}' is not loaded on this neuron (POST /models/load first)`,
      {
        param: "model",
      },
    );
  }

  /** Every model on offer or in the registry, for `GET /models`. */
  async list(): Promise<NeuronModelInfo[]> {
    this.#pruneFailed();
    const out: NeuronModelInfo[] = [];
    const seen = new Set<string>();
    for (const slot of this.#slots.values()) {
      seen.add(slot.id);
      out.push(this.#slotInfo(slot));
    }
    for (const entry of await this.#catalog.list()) {
      if (seen.has(entry.id)) continue;
      out.push({
        id: entry.id,
        status: "available",
        source: describeSource(entry.source),
        devices: [],
        memory_used_mb: null,
        memory_required_mb: null,
        capabilities: ["text"],
        limit: null,
        tool_call: false,
        reasoning: false,
        architecture: null,
        progress: null,
        error: null,
      });
    }
    return out;
  }

  /** The models loaded now (for `/metrics`). */
  loadedModels(): LoadedModel[] {
    const out: LoadedModel[] = [];
    for (const slot of this.#slots.values()) {
      if (slot.status === "loaded" && slot.loaded) out.push(slot.loaded);
    }
    return out;
  }

  /** Per loaded model figures for `GET /health`. */
  loadStats(): ModelLoadStats[] {
    const out: ModelLoadStats[] = [];
    for (const slot of this.#slots.values()) {
      if (!slot.loaded) continue;
      const stats = slot.loaded.admission.stats;
      const throughput = slot.loaded.scheduler.throughput;
      out.push({
        id: slot.id,
        in_flight: stats.inFlight,
        queue_depth: stats.queueDepth,
        max_in_flight: slot.loaded.admission.limits.maxInFlight,
        max_queue: slot.loaded.admission.limits.maxQueue,
        rejected_queue_full: stats.rejectedQueueFull,
        rejected_timeout: stats.rejectedTimeout,
        completed: stats.completed,
        cancelled: slot.loaded.scheduler.cancelled,
        tool_calls_unoffered: slot.loaded.toolCallStats.unoffered,
        tool_calls_repaired: slot.loaded.toolCallStats.repaired,
        tok_s_prefill: Math.round(throughput.prefillTokS * 10) / 10,
        tok_s_decode: Math.round(throughput.decodeTokS * 10) / 10,
        prefix_cache: slot.loaded.prefixCacheReport(),
      });
    }
    return out;
  }

  /** Closes admission everywhere (queued requests get 503 `shutting_down`; running ones go on). */
  beginDrain(): void {
    this.#draining = true;
    const error = fleetError("shutting_down", "the neuron is shutting down");
    for (const slot of this.#slots.values()) slot.loaded?.admission.close(error);
  }

  /** Waits (up to `timeoutMs`) for running requests, then unloads every model. */
  async drainAndUnloadAll(timeoutMs: number): Promise<void> {
    this.beginDrain();
    const idle = Promise.all([...this.#slots.values()].map((s) => s.loaded?.admission.whenIdle()));
    await Promise.race([idle, new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
    const error = fleetError("shutting_down", "the neuron is shutting down");
    for (const slot of [...this.#slots.values()]) {
      if (!slot.loaded) continue;
      try {
        await slot.loaded.unload(error);
      } catch (e) {
        this.#log.error("unload_failed", { model: slot.id, message: (e as Error).message });
      }
      this.#slots.delete(slot.id);
    }
  }

  async #load(slot: _Slot, entry: CatalogEntry, request: LoadModelRequest): Promise<LoadedModel> {
    const started = performance.now();
    try {
      const quant = request.quant || entry.quant;
      const maxSequences = request.max_sequences ?? entry.maxSequences ??
        this.#config.admission.max_in_flight;
      const materialized = await this.#catalog.materialize(
        entry,
        (progress) => (slot.progress = progress),
        undefined,
        quant,
        (config) =>
          refuseUnfittingConfig(config, {
            modelId: request.model_id,
            quant,
            contextLength: request.context_length ?? entry.contextLength,
            maxSequences,
            devices: this.devices(),
            requested: request.devices ?? entry.devices,
          }),
      );
      const resolved = await resolveModel(materialized, quant);
      const folder = resolved.path;
      const inspected = resolved.info;
      slot.architecture = inspected.architecture;
      slot.weightType = inspected.weightType;
      const assets = await readModelAssets(folder, resolved.gguf?.header ?? null);
      const contextLength = request.context_length ?? entry.contextLength ??
        defaultContextLength(inspected.maxPositionEmbeddings);
      const need = estimateNeed(inspected, contextLength, maxSequences);
      const devices = pickDevices(this.devices(), request.devices ?? entry.devices, need.total);
      slot.progress = {
        phase: "loading",
        done_bytes: 0,
        total_bytes: inspected.weightBytes,
        files_done: 0,
        files_total: inspected.weightFiles.length,
      };
      let model;
      const isq = resolved.isqQuant ? { quant: resolved.isqQuant } : {};
      const load = () => this.#plugin.loadModel(folder, { devices, contextLength, maxSequences, ...isq });
      try {
        await this.#reclaimFor(devices, need.total / devices.length);
        // The estimate may fall short of what the engine reserves: out of memory drops every block there
        // and tries once more.
        model = await load().catch(async (error) => {
          if (!(error instanceof PluginError && error.code === "out_of_memory")) throw error;
          if (!devices.some((d) => this.poolBytesOn(d) > 0)) throw error;
          await this.#reclaimFor(devices, Infinity);
          return await load();
        });
      } catch (error) {
        throw loadErrorToCortex(
          error,
          request.model_id,
          need,
          devices[0],
          this.devices().find((d) => d.index === devices[0]),
        );
      }
      const loaded = new LoadedModel({
        id: request.model_id,
        folder,
        source: slot.source,
        model,
        assets,
        admission: {
          maxInFlight: this.#config.admission.max_in_flight,
          maxQueue: this.#config.admission.max_queue,
          maxWaitMs: this.#config.admission.max_wait_s * 1000,
        },
        maxPromptTokens: this.#config.max_prompt_tokens,
        loadMs: performance.now() - started,
        scheduler: this.#scheduler,
      });
      slot.loaded = loaded;
      slot.status = "loaded";
      slot.progress = null;
      this.#log.info("model_loaded", {
        model: request.model_id,
        devices: devices.join(","),
        load_ms: Math.round(loaded.loadMs),
        memory_mb: loaded.memoryUsedMb,
        context: loaded.info.contextLength,
        slots: loaded.info.maxSequences,
      });
      return loaded;
    } catch (error) {
      const failure = error instanceof CortexError ? error : fleetError("model_load_failed", String(error));
      slot.status = "failed";
      slot.error = failure;
      slot.progress = null;
      slot.failedAt = performance.now();
      this.#log.warn("model_load_failed", {
        model: request.model_id,
        code: String(failure.code),
        message: failure.message,
      });
      throw failure;
    }
  }

  #result(loaded: LoadedModel, already: boolean): LoadModelResult {
    return {
      status: "loaded",
      model_id: loaded.id,
      already_loaded: already,
      devices: loaded.info.devices,
      memory_used_mb: loaded.memoryUsedMb,
      load_ms: already ? 0 : Math.round(loaded.loadMs),
    };
  }

  #slotInfo(slot: _Slot): NeuronModelInfo {
    const loaded = slot.loaded;
    return {
      id: slot.id,
      status: slot.status,
      source: slot.source,
      devices: loaded ? loaded.info.devices : [],
      memory_used_mb: loaded ? loaded.memoryUsedMb : null,
      memory_required_mb: null,
      capabilities: ["text"],
      limit: loaded
        ? {
          context: loaded.info.contextLength,
          input: loaded.maxPromptTokens,
          output: loaded.info.contextLength - 1,
        }
        : null,
      tool_call: loaded ? loaded.tokenizer.markers.toolCall : false,
      reasoning: loaded ? loaded.tokenizer.markers.reasoning : false,
      architecture: loaded ? loaded.info.architecture : slot.architecture,
      // The engine's own dtype once loaded (what it holds), the inspection's before.
      weight_type: loaded ? _weightType(loaded) : slot.weightType,
      weight_bytes: loaded ? loaded.info.weightBytes : null,
      progress: slot.progress,
      error: slot.error ? { code: String(slot.error.code), message: slot.error.message } : null,
      prefix_cache: loaded ? loaded.prefixCacheReport() : null,
      repack: loaded ? _repack(loaded) : null,
    };
  }
}

/** The engine's background repack of the model's weights, as of now. */
function _repack(loaded: LoadedModel): WeightRepack {
  const state = loaded.model.repackState();
  return { pending_bytes: state.pendingBytes, ready_seconds: state.readySeconds, failed: state.failed };
}

/** The engine's dominant matrix type (`weightDtype`, else the embedding's `dtype`), upper-cased. */
function _weightType(loaded: LoadedModel): string {
  const info = loaded.info as { weightDtype?: string; dtype: string };
  return (info.weightDtype ?? info.dtype).toUpperCase();
}

function _unloadingError(modelId: string): CortexError {
  return new CortexError(`model '${modelId}' is being unloaded`, {
    code: "model_unloading",
    status: 503,
    retryAfter: 5,
    param: "model",
  });
}
