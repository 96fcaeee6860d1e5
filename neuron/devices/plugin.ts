/**
 * `Plugin`: opens the native engine (one runtime with its devices and worker threads), lists
 * devices and loads models. Device work is awaited through the completion queue in `_jobs.ts`.
 * @module
 */

import {
  cString,
  CX,
  defaultLibraryPath,
  DEVICE_FIELD as D,
  EXPECTED_ABI_VERSION,
  MODEL_FIELD as M,
  openLibrary,
  type PluginLibrary,
  readCString,
} from "./_ffi.ts";
import { type JobOutput, JobQueue } from "./_jobs.ts";
import { codeForStatus, PluginError } from "./errors.ts";
import { type JobSubmitter, Model } from "./model.ts";
import type {
  CpuIsa,
  DeviceInfo,
  LoadOptions,
  ModelInfo,
  PluginOptions,
  RepackWhen,
  WeightDType,
} from "./types.ts";

// DType codes of CX_MODEL_FIELD_DTYPE / CX_MODEL_FIELD_WEIGHT_DTYPE (3 = a type the engine cannot use).
const DTYPES: readonly (WeightDType | null)[] = [
  "f32",
  "f16",
  "bf16",
  null,
  "q8_0",
  "q4_0",
  "q4_k",
  "q5_k",
  "q6_k",
];
const CPU_ISAS: readonly CpuIsa[] = ["auto", "scalar", "avx2", "avx512", "amx"];
/** LoadOptions.repack → CX_REPACK_* (cortex_plugin.h). */
const REPACK_WHEN: Readonly<Record<RepackWhen, number>> = { background: 0, load: 1, never: 2 };
const ERROR_CAP = 4096;

function checkCount(name: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new PluginError("invalid_argument", `${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

/** The native engine: one runtime, its devices and their worker threads. */
export class Plugin {
  /** ABI version reported by the loaded library. */
  readonly abiVersion: number;
  readonly #lib: PluginLibrary;
  readonly #runtime: number;
  readonly #jobs: JobQueue;
  readonly #err = new Uint8Array(ERROR_CAP);
  #closed = false;
  readonly #onExit = (event: Event): void => {
    // Join the worker threads before the process goes away (a live device thread at exit crashes
    // the process). Only the native side is touched: no promise work during teardown.
    if (event.type !== "unload" && event.defaultPrevented) return;
    if (!this.#closed) this.#lib.symbols.cx_runtime_close(this.#runtime);
  };

  private constructor(lib: PluginLibrary, runtime: number) {
    this.#lib = lib;
    this.#runtime = runtime;
    this.abiVersion = lib.symbols.cx_abi_version();
    this.#jobs = new JobQueue(lib, runtime);
    for (const type of ["unload", "unhandledrejection", "error"]) {
      globalThis.addEventListener(type, this.#onExit);
    }
  }

  /**
   * Opens the plugin and creates a runtime (CUDA devices first, then CPU devices).
   *
   * @example
   * ```ts ignore
   * const plugin = Plugin.open({ cpuMemoryBudgetBytes: 8 * 2 ** 30 });
   * const model = await plugin.loadModel("/models/Qwen3-0.6B");
   * plugin.close();
   * ```
   */
  static open(options: PluginOptions = {}): Plugin {
    checkCount("cpuDevices", options.cpuDevices, 0, 64);
    checkCount("cpuThreadsPerDevice", options.cpuThreadsPerDevice, 1, 1024);
    checkCount("cpuMemoryBudgetBytes", options.cpuMemoryBudgetBytes, 1, Number.MAX_SAFE_INTEGER);
    const isa = CPU_ISAS.indexOf(options.cpuIsa ?? "auto");
    if (isa < 0) {
      throw new PluginError(
        "invalid_argument",
        `cpuIsa must be one of ${CPU_ISAS.join(", ")}, got ${JSON.stringify(options.cpuIsa)}`,
      );
    }
    const lib = openLibrary(options.libraryPath ?? defaultLibraryPath());
    const version = lib.symbols.cx_abi_version();
    if (version !== EXPECTED_ABI_VERSION) {
      lib.close();
      throw new PluginError(
        "internal",
        `plugin ABI version ${version} does not match the wrapper's ${EXPECTED_ABI_VERSION}; rebuild the plugin`,
      );
    }
    const out = new Int32Array(1);
    const err = new Uint8Array(ERROR_CAP);
    const status = lib.symbols.cx_runtime_open_ex(
      options.cpuDevices ?? 1,
      BigInt(options.cpuMemoryBudgetBytes ?? 0),
      options.cpuThreadsPerDevice ?? 0,
      isa,
      out,
      err,
      ERROR_CAP,
    );
    if (status !== CX.OK) {
      lib.close();
      throw new PluginError(codeForStatus(status), readCString(err));
    }
    return new Plugin(lib, out[0]);
  }

  /** Every device with fresh memory figures. */
  devices(): DeviceInfo[] {
    this.#assertOpen();
    const count = this.#lib.symbols.cx_device_count(this.#runtime);
    const devices: DeviceInfo[] = [];
    for (let index = 0; index < count; index++) devices.push(this.#deviceInfo(index));
    return devices;
  }

  /** Asks a device's worker for its memory figures (a job on its queue). */
  async queryMemory(device: number): Promise<{ totalBytes: number; freeBytes: number }> {
    const { ints } = await this.#submit((job, err, cap) =>
      this.#lib.symbols.cx_submit_memory_query(this.#runtime, device, job, err, cap)
    );
    return { totalBytes: Number(ints[0]), freeBytes: Number(ints[1]) };
  }

  /**
   * Loads a model onto a device: a Hugging Face folder (config.json + safetensors) or a `.gguf`
   * file (a split GGUF by any of its shards). `options.quant` quantizes a safetensors model at load.
   *
   * @example
   * ```ts
   * const gguf = await plugin.loadModel("/models/Qwen3-0.6B-Q8_0.gguf");
   * const isq = await plugin.loadModel("/models/Qwen3-0.6B", { quant: "q4_k_m" });
   * ```
   */
  async loadModel(path: string, options: LoadOptions = {}): Promise<Model> {
    checkCount("contextLength", options.contextLength, 1, 2 ** 31 - 1);
    checkCount("maxSequences", options.maxSequences, 1, 1024);
    const devices = options.devices ?? [this.#defaultDevice()];
    const deviceIndexes = Int32Array.from(devices);
    const pathText = cString(path);
    const quant = cString(options.quant ?? "");
    const when = options.repack ?? "background";
    if (!Object.hasOwn(REPACK_WHEN, when)) {
      throw new PluginError(
        "invalid_argument",
        `repack ${JSON.stringify(options.repack)} is not one of ${Object.keys(REPACK_WHEN).join(", ")}`,
      );
    }
    const { ints } = await this.#submit((job, err, cap) =>
      this.#lib.symbols.cx_submit_load_repack(
        this.#runtime,
        deviceIndexes,
        deviceIndexes.length,
        pathText,
        options.contextLength ?? 0,
        options.maxSequences ?? 0,
        quant,
        REPACK_WHEN[when],
        job,
        err,
        cap,
      )
    );
    const handle = Number(ints[0]);
    const submit: JobSubmitter = (call) =>
      this.#submit((job, err, cap) => call(this.#lib.symbols, this.#runtime, job, err, cap));
    return new Model(submit, handle, this.#modelInfo(handle), () => this.#modelInfo(handle).repack);
  }

  /** Stops and joins every worker thread; pending jobs reject. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const type of ["unload", "unhandledrejection", "error"]) {
      globalThis.removeEventListener(type, this.#onExit);
    }
    this.#lib.symbols.cx_runtime_close(this.#runtime);
    this.#jobs.close(() => this.#lib.close());
  }

  /** True once `close()` ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Measures device `device`'s memory read bandwidth in bytes/s: its compute threads stream a
   * `bytes` buffer (default 1 GiB; make it much larger than the last-level cache) several times and
   * the best pass counts. The bound decode speed is judged against (weight bytes per token ÷ this).
   * CPU devices only.
   */
  async measureReadBandwidth(device: number, bytes = 2 ** 30): Promise<number> {
    const { floats } = await this.#submit((job, err, cap) =>
      this.#lib.symbols.cx_debug_submit_bandwidth(this.#runtime, device, BigInt(bytes), job, err, cap)
    );
    return floats[0];
  }

  /** TEST HOOK: a job that keeps device `device`'s worker busy for `ms` milliseconds. */
  testHookSleep(device: number, ms: number): Promise<void> {
    return this.#submit((job, err, cap) =>
      this.#lib.symbols.cx_debug_submit_sleep(this.#runtime, device, ms, job, err, cap)
    )
      .then(() => undefined);
  }

  /** TEST HOOK: a job that raises a fatal error on device `device`, poisoning it. Rejects with that error. */
  testHookPoison(device: number): Promise<void> {
    return this.#submit((job, err, cap) =>
      this.#lib.symbols.cx_debug_submit_fault(this.#runtime, device, job, err, cap)
    )
      .then(() => undefined);
  }

  #submit(call: (job: Int32Array, err: Uint8Array, cap: number) => number): Promise<JobOutput> {
    if (this.#closed) return Promise.reject(new PluginError("internal", "the plugin is closed"));
    return this.#jobs.submit(call);
  }

  #assertOpen(): void {
    if (this.#closed) throw new PluginError("internal", "the plugin is closed");
  }

  #defaultDevice(): number {
    // The CUDA compute backend is not implemented yet: default to the first CPU device.
    const cpu = this.devices().find((device) => device.backend === "cpu");
    if (!cpu) {
      throw new PluginError(
        "not_found",
        "no CPU device: open the plugin with cpuDevices >= 1 or pass devices",
      );
    }
    return cpu.index;
  }

  #deviceInfo(index: number): DeviceInfo {
    const out = new BigInt64Array(CX.DEVICE_FIELDS);
    const name = new Uint8Array(256);
    const features = new Uint8Array(512);
    const status = this.#lib.symbols.cx_device_info(
      this.#runtime,
      index,
      out,
      name,
      256,
      features,
      512,
      this.#err,
      ERROR_CAP,
    );
    if (status !== CX.OK) throw new PluginError(codeForStatus(status), readCString(this.#err));
    const cuda = out[D.BACKEND] === 1n;
    return {
      index,
      name: readCString(name),
      backend: cuda ? "cuda" : "cpu",
      memoryTotalBytes: Number(out[D.MEMORY_TOTAL]),
      memoryFreeBytes: Number(out[D.MEMORY_FREE]),
      computeCapability: cuda ? `${out[D.CC_MAJOR]}.${out[D.CC_MINOR]}` : null,
      cpuFeatures: cuda ? null : readCString(features),
      threads: Number(out[D.THREADS]),
      poisoned: out[D.POISONED] === 1n,
      cpuIsa: cuda
        ? null
        : (["scalar", "avx2", "avx512", "amx"] as const)[Number(out[D.CPU_ISA]) - 1] ?? null,
    };
  }

  #modelInfo(handle: number): ModelInfo {
    const out = new BigInt64Array(CX.MODEL_FIELDS);
    const architecture = new Uint8Array(256);
    const status = this.#lib.symbols.cx_model_info(
      this.#runtime,
      handle,
      out,
      architecture,
      256,
      this.#err,
      ERROR_CAP,
    );
    if (status !== CX.OK) throw new PluginError(codeForStatus(status), readCString(this.#err));
    const field = (i: number): number => Number(out[i]);
    const bos = field(M.BOS);
    return {
      architecture: readCString(architecture),
      vocabSize: field(M.VOCAB),
      contextLength: field(M.CONTEXT),
      hiddenSize: field(M.HIDDEN),
      layers: field(M.LAYERS),
      dtype: DTYPES[field(M.DTYPE)] ?? "f32",
      weightDtype: DTYPES[field(M.WEIGHT_DTYPE)] ?? "f32",
      weightBytes: field(M.WEIGHT_BYTES),
      kvCacheBytes: field(M.KV_BYTES),
      bosTokenId: bos < 0 ? null : bos,
      maxSequences: field(M.MAX_SEQUENCES),
      devices: Array.from({ length: field(M.N_DEVICES) }, (_, i) => field(M.DEVICES + i)),
      eosTokenIds: Array.from({ length: field(M.N_EOS) }, (_, i) => field(M.EOS + i)),
      prefixReuse: field(M.PREFIX_REUSE) === 2 ? "snapshot" : "any",
      prefixBlockBytes: field(M.PREFIX_BLOCK_BYTES),
      load: {
        seconds: field(M.LOAD_US) / 1e6,
        read: field(M.LOAD_READ_US) / 1e6,
        allocate: field(M.LOAD_ALLOCATE_US) / 1e6,
        repack: field(M.LOAD_REPACK_US) / 1e6,
        deferredBytes: field(M.REPACK_DEFERRED_BYTES),
      },
      repack: {
        pendingBytes: field(M.REPACK_PENDING_BYTES),
        seconds: field(M.REPACK_US) / 1e6,
        readySeconds: field(M.REPACK_READY_US) > 0 ? field(M.REPACK_READY_US) / 1e6 : null,
        failed: field(M.REPACK_FAILED) === 1,
      },
    };
  }
}
