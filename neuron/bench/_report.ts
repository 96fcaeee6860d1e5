/**
 * Assembles the bench's JSON documents from plain measurements: cortex's report (the same keys in
 * every mode), and the side-by-side document `{cortex, llama_cpp, ratio, passes}` when llama.cpp's
 * llama-bench ran on the same GGUF file. Medians are taken over every sample of every pass.
 * @module
 */

import type { ColdLoad, CortexPass, RepackFigures } from "./_cortex_run.ts";
import type { LlamaPass } from "./_llama_bench.ts";
import { median, round } from "./_stats.ts";

/** Everything cortex's report is made of. */
export interface CortexReportInput {
  /** What the weights are, in words. */
  model: string;
  /** The safetensors folder, or null for a GGUF run. */
  modelFolder: string | null;
  /** The GGUF file, or null for a safetensors run. */
  modelFile: string | null;
  modelFileBytes: number | null;
  modelGenerated: boolean;
  modelGenerateSeconds: number;
  quant: string | null;
  /** The type holding most of the matrix bytes (ModelInfo.weightDtype). */
  weightDtype: string;
  /** The embedding table's type (ModelInfo.dtype). */
  embeddingDtype: string;
  weightBytes: number;
  kvCacheBytes: number;
  bytesPerToken: number;
  device: { name: string; threads: number; kernels: string | null };
  loadSeconds: number;
  /** Where the load's seconds went inside the plugin (ModelInfo.load); omitted from old callers. */
  loadBreakdown?: { seconds: number; read: number; allocate: number; repack: number };
  /** The background repack after the load (waited for before the passes); omitted from old callers. */
  repack?: RepackFigures;
  /** Seconds to read the model's files end to end with the page cache warm (as `cat` does). */
  fileReadSeconds?: number;
  /** The load from a cold page cache against reading the files cold, where measured. */
  coldLoad?: ColdLoad | null;
  firstStepSeconds: number;
  promptTokens: number;
  decodeBatch8TokensPerSecond: number;
  passes: CortexPass[];
}

/** cortex's report: the keys of the single-pass report, medians over the passes, and `passes` when there are several. */
export function cortexReport(input: CortexReportInput): Record<string, unknown> {
  const rounds = input.passes.flatMap((pass, p) =>
    pass.rounds.map((r) => (input.passes.length > 1 ? { pass: p + 1, ...r } : r))
  );
  const bandwidth = median(rounds.map((r) => r.memoryReadBandwidthBytesPerSecond));
  const prefillSeconds = median(input.passes.map((p) => p.prefillSeconds));
  const report: Record<string, unknown> = {
    model: input.model,
    ...(input.modelFolder !== null ? { modelFolder: input.modelFolder } : {}),
    ...(input.modelFile !== null ? { modelFile: input.modelFile, modelFileBytes: input.modelFileBytes } : {}),
    modelGenerated: input.modelGenerated,
    modelGenerateSeconds: input.modelGenerated ? round(input.modelGenerateSeconds, 2) : 0,
    quant: input.quant,
    weightDtype: input.weightDtype,
    embeddingDtype: input.embeddingDtype,
    weightBytes: input.weightBytes,
    kvCacheBytes: input.kvCacheBytes,
    device: input.device,
    loadSeconds: round(input.loadSeconds, 3),
    ...loadKeys(input),
    ...(input.repack ? { repack: input.repack } : {}),
    firstStepSeconds: round(input.firstStepSeconds, 3),
    promptTokens: input.promptTokens,
    prefillSeconds: round(prefillSeconds, 3),
    prefillTokensPerSecond: round(median(input.passes.map((p) => p.prefillTokensPerSecond)), 1),
    decodeBatch1TokensPerSecond: round(median(rounds.map((r) => r.decodeTokensPerSecond)), 2),
    decodeBatch1ContextTokens: input.promptTokens,
    decodeBatch8TokensPerSecond: round(input.decodeBatch8TokensPerSecond, 2),
    peakRssBytes: input.passes[0]?.peakRssBytes ?? null,
    bytesPerToken: input.bytesPerToken,
    memoryReadBandwidthBytesPerSecond: Math.round(bandwidth),
    decodeBoundTokensPerSecond: round(bandwidth / input.bytesPerToken, 2),
    decodeFractionOfBandwidthBound: round(median(rounds.map((r) => r.decodeFractionOfBandwidthBound)), 3),
    decodeBatch1Rounds: rounds,
  };
  if (input.passes.length > 1) {
    report.passes = input.passes.map((pass, p) => ({
      pass: p + 1,
      prefillTokensPerSecond: pass.prefillTokensPerSecond,
      decodeBatch1TokensPerSecond: pass.decodeBatch1TokensPerSecond,
      decodeFractionOfBandwidthBound: pass.decodeFractionOfBandwidthBound,
    }));
  }
  return report;
}

/** `load` (the plugin's split: read, allocate, repack, and the rest of the load as `other`),
 * `loadOverFileRead` (load ÷ reading the files with the page cache warm) and `coldLoad`, where measured. */
function loadKeys(input: CortexReportInput): Record<string, unknown> {
  const keys: Record<string, unknown> = {};
  const split = input.loadBreakdown;
  if (split) {
    keys.load = {
      seconds: round(split.seconds, 3),
      read: round(split.read, 3),
      allocate: round(split.allocate, 3),
      repack: round(split.repack, 3),
      other: round(Math.max(0, split.seconds - split.read - split.allocate - split.repack), 3),
    };
  }
  if (input.fileReadSeconds !== undefined && input.fileReadSeconds > 0) {
    keys.fileReadSeconds = round(input.fileReadSeconds, 3);
    keys.loadOverFileRead = round(input.loadSeconds / input.fileReadSeconds, 2);
  }
  if (input.coldLoad) {
    keys.coldLoad = {
      fileReadSeconds: round(input.coldLoad.fileReadSeconds, 3),
      loadSeconds: round(input.coldLoad.loadSeconds, 3),
      // the fraction of the disk's sequential read rate the load reached
      diskRateFraction: round(input.coldLoad.fileReadSeconds / input.coldLoad.loadSeconds, 2),
      passes: input.coldLoad.passes.map((p) => ({
        fileReadSeconds: round(p.fileReadSeconds, 3),
        loadSeconds: round(p.loadSeconds, 3),
      })),
    };
  }
  return keys;
}

/** How llama-bench was run, for the document. */
export interface LlamaRunInput {
  binary: string;
  gguf: string;
  args: { prefill: string[]; decode: string[] };
  passes: LlamaPass[];
}

/** The `llama_cpp` part: build and model facts from its first test, medians over every repetition of every pass. */
export function llamaReport(input: LlamaRunInput): Record<string, unknown> {
  const first = input.passes[0].prefill;
  const decode = input.passes[0].decode;
  return {
    binary: input.binary,
    modelFile: input.gguf,
    buildCommit: first.buildCommit,
    buildNumber: first.buildNumber,
    cpuInfo: first.cpuInfo,
    backends: first.backends,
    modelType: first.modelType,
    modelSizeBytes: first.modelSizeBytes,
    threads: first.threads,
    batch: first.nBatch,
    ubatch: first.nUbatch,
    kvCacheTypes: `${first.typeK}/${first.typeV}`,
    promptTokens: first.nPrompt,
    prefillTokensPerSecond: round(median(input.passes.flatMap((p) => p.prefill.samplesTokensPerSecond)), 1),
    decodeTokens: decode.nGen,
    decodeContextTokens: decode.nDepth,
    decodeTokensPerSecond: round(median(input.passes.flatMap((p) => p.decode.samplesTokensPerSecond)), 2),
    args: input.args,
    passes: input.passes.map((pass, p) => ({
      pass: p + 1,
      prefillTokensPerSecond: round(median(pass.prefill.samplesTokensPerSecond), 1),
      prefillSamplesTokensPerSecond: pass.prefill.samplesTokensPerSecond.map((s) => round(s, 2)),
      decodeTokensPerSecond: round(median(pass.decode.samplesTokensPerSecond), 2),
      decodeSamplesTokensPerSecond: pass.decode.samplesTokensPerSecond.map((s) => round(s, 2)),
    })),
  };
}

/**
 * The side-by-side document: `{cortex, llama_cpp, ratio: {decode, prefill}, passes}`, ratio = cortex ÷
 * llama.cpp (above 1: cortex is faster), from the medians and, in `passes`, pass by pass.
 */
export function sideBySideReport(
  cortex: CortexReportInput,
  llama: LlamaRunInput,
): Record<string, unknown> {
  if (cortex.passes.length !== llama.passes.length) {
    throw new Error(`${cortex.passes.length} cortex passes but ${llama.passes.length} llama.cpp passes`);
  }
  const ours = cortexReport(cortex);
  const theirs = llamaReport(llama);
  return {
    cortex: ours,
    llama_cpp: theirs,
    ratio: {
      decode: round(
        (ours.decodeBatch1TokensPerSecond as number) / (theirs.decodeTokensPerSecond as number),
        3,
      ),
      prefill: round((ours.prefillTokensPerSecond as number) / (theirs.prefillTokensPerSecond as number), 3),
    },
    passes: cortex.passes.map((pass, p) => {
      const other = llama.passes[p];
      const llamaDecode = median(other.decode.samplesTokensPerSecond);
      const llamaPrefill = median(other.prefill.samplesTokensPerSecond);
      return {
        pass: p + 1,
        cortex: {
          prefillTokensPerSecond: pass.prefillTokensPerSecond,
          decodeBatch1TokensPerSecond: pass.decodeBatch1TokensPerSecond,
        },
        llama_cpp: {
          prefillTokensPerSecond: round(llamaPrefill, 1),
          decodeTokensPerSecond: round(llamaDecode, 2),
        },
        ratio: {
          decode: round(pass.decodeBatch1TokensPerSecond / llamaDecode, 3),
          prefill: round(pass.prefillTokensPerSecond / llamaPrefill, 3),
        },
      };
    }),
  };
}
