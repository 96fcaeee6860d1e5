/**
 * Plain data types of the engine's TypeScript surface: devices, load options, model facts,
 * sampling parameters and step entries/results.
 * @module
 */

import type { Sequence } from "./model.ts";

/** The compute backend of a device. */
export type Backend = "cpu" | "cuda";

/** Instruction set of the CPU kernels: `auto` = the best the CPU has (cpuid); `amx` = the AVX-512
 * kernels with Intel AMX tiles for bf16 and Q8_0 / Q4_K / Q6_K matmuls. */
export type CpuIsa = "auto" | "scalar" | "avx2" | "avx512" | "amx";

/** One device of the plugin runtime, with fresh memory figures. */
export interface DeviceInfo {
  /** Index to pass in `LoadOptions.devices`. */
  index: number;
  /** CPU model name or GPU name. */
  name: string;
  backend: Backend;
  /** CPU: the configured budget. CUDA: device memory. */
  memoryTotalBytes: number;
  /** CPU: budget minus resident weights and KV caches. CUDA: last figure the worker saw. */
  memoryFreeBytes: number;
  /** e.g. "8.9" for CUDA devices; null on CPU. */
  computeCapability: string | null;
  /** e.g. "avx2 fma f16c avx512f" on CPU; null on CUDA. */
  cpuFeatures: string | null;
  /** Compute threads (CPU) or multiprocessors (CUDA). */
  threads: number;
  /** True after a fatal error on this device; its jobs then fail fast. */
  poisoned: boolean;
  /** The instruction set its CPU kernels run with; null on CUDA. */
  cpuIsa: Exclude<CpuIsa, "auto"> | null;
}

/** Options of `Plugin.open`. */
export interface PluginOptions {
  /** Path of the plugin; default `cuda_plugin/build/libcortex_plugin.so` in this repository. */
  libraryPath?: string;
  /** Split the CPU into N devices (default 1). */
  cpuDevices?: number;
  /** Memory budget per CPU device in bytes (default: physical RAM divided evenly over the CPU devices). */
  cpuMemoryBudgetBytes?: number;
  /** Compute threads per CPU device (default: available cores / cpuDevices). */
  cpuThreadsPerDevice?: number;
  /** CPU kernel instruction set (default `auto`); one the CPU lacks is an `invalid_argument` error.
   * Lets tests run the AVX2 and scalar kernels on an AVX-512 machine. */
  cpuIsa?: CpuIsa;
}

/** Options of `Plugin.loadModel`. */
export interface LoadOptions {
  /**
   * Device indexes; default: the first CPU device. More than one = tensor parallel: rank i on
   * `devices[i]`, all CPU or all CUDA, each listed once; heads, KV heads and intermediate_size must
   * divide by the count (else `unsupported_architecture` naming the numbers).
   */
  devices?: number[];
  /** KV cache length per sequence (default: max_position_embeddings capped at 4096). */
  contextLength?: number;
  /** KV slots, i.e. sequences that can live at once (default 8). */
  maxSequences?: number;
  /**
   * In-situ quantization of a safetensors model at load: "q8_0", "q4_0", "q4_k", "q5_k", "q6_k" or
   * "q4_k_m" (case-insensitive, "_" optional: "q80", "Q4_K_M", "q6k"); the embedding and lm_head
   * included, with llama-quantize's per-tensor rules. Another value, or any value with a `.gguf`
   * path, rejects with `invalid_argument`. Default: none.
   */
  quant?: string;
  /**
   * When the weights move into the layouts the CPU kernels read fastest: "background" (default) serves
   * the mapped file's layout as soon as its pages are in and repacks while the device is idle (the
   * same results; prefill reaches full speed once `Model.repackState().pendingBytes` is 0), "load"
   * repacks before the load resolves, "never" keeps serving the file's layout (no second copy in
   * memory, slower prefill). Another value rejects with `invalid_argument`.
   */
  repack?: RepackWhen;
}

/** LoadOptions.repack. */
export type RepackWhen = "background" | "load" | "never";

/** A model's background repack (LoadOptions.repack), as of the call. */
export interface RepackState {
  /** Weight bytes still served from the mapped file (all devices); 0 when every copy serves. */
  pendingBytes: number;
  /** Device seconds spent repacking so far, summed over devices. */
  seconds: number;
  /** Seconds from the load's start until nothing was pending; null while something is. */
  readySeconds: number | null;
  /** True when it stopped on an error (the rest keeps serving from the mapping; the plugin logged why). */
  failed: boolean;
}

/** Weight types the engine computes with (ModelInfo.dtype / weightDtype). */
export type WeightDType = "f32" | "f16" | "bf16" | "q8_0" | "q4_0" | "q4_k" | "q5_k" | "q6_k";

/** Static facts of a loaded model. */
export interface ModelInfo {
  architecture: string;
  vocabSize: number;
  contextLength: number;
  hiddenSize: number;
  layers: number;
  /** Type of the embedding table. */
  dtype: WeightDType;
  /** The type holding most of the matrix bytes ("q8_0" for a Q8_0 GGUF or ISQ q8_0; "q4_k" for Q4_K_M). */
  weightDtype: WeightDType;
  /** Bytes of weights reserved, summed over the devices of a tensor-parallel model. */
  weightBytes: number;
  /** Bytes of KV cache reserved, summed over the devices (each rank holds its KV heads). */
  kvCacheBytes: number;
  /** The devices holding the model, in rank order. */
  devices: number[];
  bosTokenId: number | null;
  eosTokenIds: number[];
  /** KV slots (LoadOptions.maxSequences). */
  maxSequences: number;
  /** Where a sequence may start from a cached prefix (`Model.newSequence`'s `start.prefix`): `any`
   * prefix, or for hybrid models (whose DeltaNet states are not kept per position) only a prefix
   * ending where a `snapshot` step of the source slot ended. */
  prefixReuse: "any" | "snapshot";
  /** Device bytes of one prefix-cache block (`Model.storePrefixBlocks`, PREFIX_BLOCK_TOKENS
   * positions), summed over the devices; 0 for hybrid models, which keep no blocks. */
  prefixBlockBytes: number;
  /** Where the load's time went, in seconds, on the first device (a tensor-parallel model's ranks
   * load side by side): `read` bringing the file's pages in (from the page cache or the disk),
   * `allocate` faulting in the memory repacked weights and the KV cache take, `repack` moving weights
   * into the layouts the kernels read; `seconds` is the whole load inside the plugin; `deferredBytes`
   * the weight bytes it left to the background repack (LoadOptions.repack). */
  load: LoadBreakdown;
  /** The background repack as the load left it (`Model.repackState()` reads it anew). */
  repack: RepackState;
}

/** Seconds of one model load, split by what they were spent on ({@linkcode ModelInfo.load}). */
export interface LoadBreakdown {
  seconds: number;
  read: number;
  allocate: number;
  repack: number;
  deferredBytes: number;
}

/** Sampling parameters of one step entry. temperature 0 = greedy. */
export interface SamplingParams {
  /** 0 = greedy (argmax after penalties). */
  temperature: number;
  /** 0 = off. */
  topK: number;
  /** (0, 1]; 1 = off. */
  topP: number;
  /** [0, 1]; 0 = off. */
  minP: number;
  /** Seeds the sequence's RNG (an integer below 2^53); a new value reseeds it. */
  seed: number;
  /** OpenAI presence penalty over the tokens this sequence has generated. */
  presencePenalty: number;
  /** OpenAI frequency penalty over the tokens this sequence has generated. */
  frequencyPenalty: number;
  /** HF repetition penalty over every token of the sequence (prompt and generated); 1 = off. */
  repetitionPenalty: number;
}

/**
 * A hard restriction on the token an entry samples (constrained decoding): only the tokens of
 * `allow`, or any token but those of `deny`. Forbidden tokens get a logit of -infinity natively, so
 * no temperature, penalty or bias can pick them; their log-probabilities are -Infinity.
 */
export type TokenMask = { allow: Int32Array } | { deny: Int32Array };

/** One sequence's part of a batched step. */
export interface StepEntry {
  sequence: Sequence;
  /** Tokens to feed; more than one = a prefill chunk. */
  tokens: number[] | Int32Array;
  /** Hybrid models: keep the sequence's DeltaNet states as they are after this step, so a later
   * sequence may start from the prefix fed so far (`Model.newSequence`'s `start`); dense: no effect. */
  snapshot?: boolean;
  /** When given, the engine samples the next token natively. */
  sampling?: SamplingParams;
  /** When true, the last position's logits are returned. */
  wantLogits?: boolean;
  /** When true, the logits of every fed position are returned (tokens.length × vocab, row-major). */
  allLogits?: boolean;
  /** Token id → value in [-100, 100], added natively to the logits before sampling (greedy too);
   * needs `sampling`. Returned `logits` stay unbiased. */
  logitBias?: ReadonlyMap<number, number>;
  /** When set (0..20): the sampled token's log-probability and this many most likely alternatives
   * are returned (needs `sampling`). They are the log-softmax of the logits after `logitBias` and
   * `mask` and before penalties, temperature and truncation, computed natively. */
  topLogprobs?: number;
  /** Which tokens may be sampled (needs `sampling`; `allow` must not be empty). Applied on the
   * device thread with `logitBias`, before sampling. */
  mask?: TokenMask;
}

/** A token and its log-probability. */
export interface TokenLogprob {
  /** Token id. */
  token: number;
  /** Natural-log probability. */
  logprob: number;
}

/** The log-probabilities of one sampled token (`StepEntry.topLogprobs`). */
export interface SampledLogprobs extends TokenLogprob {
  /** The most likely tokens, most likely first (ties: lower id first). */
  top: TokenLogprob[];
}

/** The outcome of one step entry. */
export interface StepResult {
  /** The sampled token, or null when the entry had no `sampling`. */
  token: number | null;
  /** Last position's logits (`wantLogits`), every position's (`allLogits`), else null. */
  logits: Float32Array | null;
  /** The sampled token's log-probabilities (`topLogprobs` set), else null. */
  logprobs: SampledLogprobs | null;
}

/** Greedy decoding with no penalties. */
export const GREEDY: SamplingParams = Object.freeze({
  temperature: 0,
  topK: 0,
  topP: 1,
  minP: 0,
  seed: 0,
  presencePenalty: 0,
  frequencyPenalty: 0,
  repetitionPenalty: 1,
});
