/**
 * cortex's side of the engine bench: load a model (safetensors folder, optionally quantized at load,
 * or a GGUF file) on one CPU device, then measure decode at batch 8 and, in passes, prefill and
 * decode batch 1. Each pass prefills a fresh sequence and then runs rounds of (bandwidth probe,
 * decode steps), so each round's bandwidth fraction pairs figures taken together.
 * @module
 */

import {
  type CpuIsa,
  type DeviceInfo,
  GREEDY,
  type LoadOptions,
  type Model,
  Plugin,
  type RepackWhen,
  type Sequence,
} from "../devices/mod.ts";
import type { IsqType } from "./_flags.ts";
import { dropPageCache, modelFiles, readFiles } from "./_file_read.ts";
import { median, round } from "./_stats.ts";

/** What to load and how. */
export interface CortexOpenOptions {
  /** A safetensors model folder or a `.gguf` file. */
  path: string;
  threads?: number;
  isa: CpuIsa;
  /** Quantize the safetensors weights at load (ISQ). */
  quant?: IsqType;
  /** KV length per sequence. */
  contextLength: number;
  /** Also load once from a cold page cache (dropped first, where permitted) against the disk's read rate. */
  cold?: boolean;
  /** When the engine repacks the weights (default background). */
  repack?: RepackWhen;
}

/** The background repack after the warm load (LoadOptions.repack), waited for before any pass. */
export interface RepackFigures {
  when: RepackWhen;
  /** Weight bytes the load left to the background. */
  deferredBytes: number;
  /** Seconds from the load's start until every weight's copy served (null: nothing deferred). */
  readySeconds: number | null;
  /** Device seconds the repack took. */
  deviceSeconds: number;
  failed: boolean;
}

/** One cold read of the files and one cold load, each after dropping the page cache. */
export interface ColdPass {
  /** Seconds to read the model's files end to end with the page cache just dropped (the disk's rate). */
  fileReadSeconds: number;
  /** Seconds the load took with the page cache just dropped. */
  loadSeconds: number;
}

/** A load from a cold page cache against reading the same files cold: COLD_PASSES alternating passes
 * (the disk's rate here varies from one read to the next) and their medians. */
export interface ColdLoad extends ColdPass {
  passes: ColdPass[];
}

/** Cold passes per bench run: each drops the cache, reads the files, drops it again and loads. */
export const COLD_PASSES = 3;

/** One batch-1 round: a bandwidth probe, then decode steps at once. */
export interface CortexRound {
  memoryReadBandwidthBytesPerSecond: number;
  decodeTokensPerSecond: number;
  decodeFractionOfBandwidthBound: number;
}

/** One pass: a prefill from an empty sequence, then batch-1 rounds continuing it. */
export interface CortexPass {
  prefillSeconds: number;
  prefillTokensPerSecond: number;
  /** VmHWM right after the prefill (before this pass's bandwidth probes map their buffers). */
  peakRssBytes: number | null;
  rounds: CortexRound[];
  decodeBatch1TokensPerSecond: number;
  decodeFractionOfBandwidthBound: number;
}

/** Deterministic token ids in [1000, 101000) capped below `vocab` (the id values do not change the work). */
export function benchTokens(count: number, seed: number, vocab = 151936): number[] {
  let s = seed >>> 0 || 1;
  const span = Math.max(1, Math.min(100000, vocab - 1000));
  const base = vocab > 1000 ? 1000 : 0;
  return Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (base + (s % span)) % vocab;
  });
}

/** VmHWM of this process. Deno refuses to read /proc/<own pid> without unrestricted permissions, so `cat` reads it. */
export function peakRssBytes(): number | null {
  try {
    const { stdout } = new Deno.Command("cat", { args: [`/proc/${Deno.pid}/status`], stderr: "null" })
      .outputSync();
    const match = new TextDecoder().decode(stdout).match(/^VmHWM:\s+(\d+) kB/m);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

async function seconds<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await work();
  return [value, (performance.now() - start) / 1000];
}

/** A loaded model on one CPU device, ready to be measured. */
export class CortexBench {
  readonly plugin: Plugin;
  readonly device: DeviceInfo;
  readonly model: Model;
  readonly loadSeconds: number;
  readonly firstStepSeconds: number;
  /** Seconds to read the model's files end to end just before the load (page cache warm), as `cat` does. */
  readonly fileReadSeconds: number;
  /** The cold load, when asked for and the page cache could be dropped. */
  readonly cold: ColdLoad | null;
  readonly repack: RepackFigures;

  private constructor(
    plugin: Plugin,
    device: DeviceInfo,
    model: Model,
    loadSeconds: number,
    firstStepSeconds: number,
    fileReadSeconds: number,
    cold: ColdLoad | null,
    repack: RepackFigures,
  ) {
    this.plugin = plugin;
    this.device = device;
    this.model = model;
    this.loadSeconds = loadSeconds;
    this.firstStepSeconds = firstStepSeconds;
    this.fileReadSeconds = fileReadSeconds;
    this.cold = cold;
    this.repack = repack;
  }

  /** Opens the plugin, loads the model and pages its weights in with one short prefill. */
  static async open(options: CortexOpenOptions, log: (line: string) => void): Promise<CortexBench> {
    const plugin = Plugin.open({ cpuDevices: 1, cpuThreadsPerDevice: options.threads, cpuIsa: options.isa });
    try {
      const device = plugin.devices()[0];
      log(`device: ${device.name}, ${device.threads} threads, ${device.cpuIsa} kernels`);
      const load: LoadOptions = {
        devices: [device.index],
        contextLength: options.contextLength,
        maxSequences: 8,
      };
      if (options.quant !== undefined) load.quant = options.quant;
      if (options.repack !== undefined) load.repack = options.repack;
      const files = modelFiles(options.path);
      const cold = options.cold ? await coldLoad(plugin, options.path, load, files, log) : null;
      // The yardstick: the files read end to end once to warm the page cache, then timed.
      await readFiles(files);
      const fileRead = await readFiles(files);
      log(
        `read the model's files: ${(fileRead.bytes / 1e9).toFixed(2)} GB in ${fileRead.seconds.toFixed(3)} s`,
      );
      const [model, loadSeconds] = await seconds(() => plugin.loadModel(options.path, load));
      const split = model.info.load;
      log(
        `load ${loadSeconds.toFixed(3)} s: read ${split.read.toFixed(3)}, allocate ${
          split.allocate.toFixed(3)
        }, ` +
          `repack ${split.repack.toFixed(3)} s`,
      );
      const dtype = model.info.weightDtype;
      if (options.quant !== undefined && ["f32", "f16", "bf16"].includes(dtype)) {
        await model.unload();
        throw new Error(`asked for --quant ${options.quant} but the engine loaded ${dtype} matrices`);
      }
      log(
        `loaded ${options.path}: ${dtype} matrices, ${model.info.dtype} embedding, ` +
          `${(model.info.weightBytes / 2 ** 20).toFixed(1)} MiB of weights`,
      );
      const [, firstStepSeconds] = await seconds(async () => {
        const warm = await model.newSequence();
        await model.step([{
          sequence: warm,
          tokens: benchTokens(8, 1, model.info.vocabSize),
          sampling: GREEDY,
        }]);
        await warm.free();
      });
      const repack = await awaitRepack(model, options.repack ?? "background", log);
      return new CortexBench(
        plugin,
        device,
        model,
        loadSeconds,
        firstStepSeconds,
        fileRead.seconds,
        cold,
        repack,
      );
    } catch (error) {
      plugin.close();
      throw error;
    }
  }

  /** Decode tokens/s at batch 8 (short prompts). */
  async decodeBatch8(steps: number): Promise<number> {
    const batch: Sequence[] = [];
    for (let i = 0; i < 8; i++) {
      const sequence = await this.model.newSequence();
      await this.model.step([{ sequence, tokens: benchTokens(16 + i, 10 + i, this.model.info.vocabSize) }]);
      batch.push(sequence);
    }
    const rate = await this.#decodeRate(batch, steps);
    for (const sequence of batch) await sequence.free();
    return rate;
  }

  /** One pass: prefill `prompt` tokens, then `rounds` × (bandwidth probe, `steps` decode steps). */
  async pass(
    prompt: number,
    steps: number,
    rounds: number,
    bytesPerToken: number,
    log: (line: string) => void,
  ): Promise<CortexPass> {
    const sequence = await this.model.newSequence();
    try {
      const tokens = benchTokens(prompt, 2, this.model.info.vocabSize);
      const [, prefillSeconds] = await seconds(() =>
        this.model.step([{ sequence, tokens, sampling: GREEDY }])
      );
      log(`prefill ${prompt} tokens: ${prefillSeconds.toFixed(2)} s`);
      // The engine's peak, read before the bandwidth probes (each maps a 1 GiB buffer of its own).
      const peak = peakRssBytes();
      const measured: CortexRound[] = [];
      for (let index = 0; index < rounds; index++) {
        const bandwidth = await this.plugin.measureReadBandwidth(this.device.index, 2 ** 30);
        const decode = await this.#decodeRate([sequence], steps);
        const fraction = decode / (bandwidth / bytesPerToken);
        log(
          `round ${index + 1}: bandwidth ${(bandwidth / 1e9).toFixed(1)} GB/s, decode batch 1 ` +
            `${decode.toFixed(2)} tok/s, fraction ${fraction.toFixed(3)}`,
        );
        measured.push({
          memoryReadBandwidthBytesPerSecond: Math.round(bandwidth),
          decodeTokensPerSecond: round(decode, 2),
          decodeFractionOfBandwidthBound: round(fraction, 3),
        });
      }
      return {
        prefillSeconds: round(prefillSeconds, 3),
        prefillTokensPerSecond: round(prompt / prefillSeconds, 1),
        peakRssBytes: peak,
        rounds: measured,
        decodeBatch1TokensPerSecond: round(median(measured.map((r) => r.decodeTokensPerSecond)), 2),
        decodeFractionOfBandwidthBound: round(
          median(measured.map((r) => r.decodeFractionOfBandwidthBound)),
          3,
        ),
      };
    } finally {
      await sequence.free();
    }
  }

  /** Unloads the model and closes the plugin. */
  async close(): Promise<void> {
    try {
      await this.model.unload();
    } finally {
      this.plugin.close();
    }
  }

  /** Decode tokens/s for sequences that each hold a prompt already. */
  async #decodeRate(sequences: Sequence[], steps: number): Promise<number> {
    let feed = sequences.map(() => 7);
    // One untimed step settles the path (buffers are sized for the batch there).
    const first = await this.model.step(
      sequences.map((sequence, i) => ({ sequence, tokens: [feed[i]], sampling: GREEDY })),
    );
    feed = first.map((r) => r.token!);
    const [, elapsed] = await seconds(async () => {
      for (let s = 0; s < steps; s++) {
        const results = await this.model.step(
          sequences.map((sequence, i) => ({ sequence, tokens: [feed[i]], sampling: GREEDY })),
        );
        feed = results.map((r) => r.token!);
      }
    });
    return (steps * sequences.length) / elapsed;
  }
}

/** Waits for the background repack to finish (every pass measures the repacked layouts). */
async function awaitRepack(
  model: Model,
  when: RepackWhen,
  log: (line: string) => void,
): Promise<RepackFigures> {
  while (model.repackState().pendingBytes > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  const state = model.repackState();
  const figures: RepackFigures = {
    when,
    deferredBytes: model.info.load.deferredBytes,
    readySeconds: state.readySeconds === null ? null : round(state.readySeconds, 3),
    deviceSeconds: round(state.seconds, 3),
    failed: state.failed,
  };
  if (figures.deferredBytes > 0) {
    log(
      `background repack of ${(figures.deferredBytes / 2 ** 20).toFixed(1)} MiB: ${
        figures.deviceSeconds.toFixed(3)
      } s of device time, every copy serving ${figures.readySeconds?.toFixed(3)} s after the load began` +
        (state.failed ? " (stopped on an error: see the plugin's stderr)" : ""),
    );
  }
  return figures;
}

/** Reads the files, then loads the model (and unloads it), each right after dropping the page cache;
 * null (logged) where the cache cannot be dropped. */
async function coldLoad(
  plugin: Plugin,
  path: string,
  load: LoadOptions,
  files: string[],
  log: (line: string) => void,
): Promise<ColdLoad | null> {
  if (!(await dropPageCache())) {
    log("cold load skipped: /proc/sys/vm/drop_caches is not writable here (needs root)");
    return null;
  }
  const passes: ColdPass[] = [];
  for (let pass = 1; pass <= COLD_PASSES; pass++) {
    if (pass > 1) await dropPageCache();
    const fileRead = await readFiles(files);
    await dropPageCache();
    const [model, loadSeconds] = await seconds(() => plugin.loadModel(path, load));
    await model.unload();
    log(
      `cold pass ${pass}: read the files in ${fileRead.seconds.toFixed(3)} s (${
        (fileRead.bytes / fileRead.seconds / 1e9).toFixed(2)
      } GB/s), ` +
        `load ${loadSeconds.toFixed(3)} s (${
          (100 * fileRead.seconds / loadSeconds).toFixed(0)
        }% of the disk's rate)`,
    );
    passes.push({ fileReadSeconds: fileRead.seconds, loadSeconds });
  }
  return {
    fileReadSeconds: median(passes.map((p) => p.fileReadSeconds)),
    loadSeconds: median(passes.map((p) => p.loadSeconds)),
    passes,
  };
}
