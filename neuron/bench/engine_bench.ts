/**
 * `deno task bench:engine`: the native engine on a Qwen3-0.6B-shaped random bf16 model (written
 * once into `.cache/bench-model/` by `bench_model.ts`). Prints one JSON object: load time, prefill
 * tok/s for a 512-token prompt, decode tok/s at batch 1 (continuing that prompt, so attention reads
 * 512+ cached positions per layer) and at batch 8 (short prompts), peak RSS, the read bandwidth the
 * device measures with its own threads, and decode's fraction of the bandwidth bound (weight bytes
 * read per token ÷ bandwidth).
 *
 * Peak RSS is read after the load, batch 8 and the prefill, before the bandwidth probes (their
 * 1 GiB buffers are not the engine's; the decode rounds after it add ~30 MB of KV positions).
 *
 * Batch 1 is measured in rounds, each a bandwidth probe followed at once by a run of decode steps,
 * and each round's fraction compares the two figures taken together. On a shared machine the
 * bandwidth a probe sees swings with the neighbours (here 26–51 GB/s, sometimes within one run), so a probe
 * taken minutes away from the decode it judges says little about it. The report gives every round
 * and the medians.
 *
 * Flags: `--threads N` (compute threads, default all cores), `--prompt N` (default 512),
 * `--steps N` (decode steps per round, default 24), `--rounds N` (batch-1 rounds, default 5),
 * `--isa auto|avx512|avx2|scalar`.
 * @module
 */

import { type CpuIsa, GREEDY, type Model, Plugin, type Sequence } from "../devices/mod.ts";
import { ensureBenchModel } from "./bench_model.ts";

const REPO_ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const MODEL_DIR = `${REPO_ROOT}/.cache/bench-model`;

interface BenchFlags {
  threads?: number;
  prompt: number;
  steps: number;
  rounds: number;
  isa: CpuIsa;
}

function parseFlags(args: string[]): BenchFlags {
  const flags: BenchFlags = { prompt: 512, steps: 24, rounds: 5, isa: "auto" };
  for (let i = 0; i < args.length; i += 2) {
    const [name, value] = [args[i], args[i + 1]];
    if (value === undefined) throw new Error(`flag ${name} needs a value`);
    if (name === "--threads") flags.threads = Number(value);
    else if (name === "--prompt") flags.prompt = Number(value);
    else if (name === "--steps") flags.steps = Number(value);
    else if (name === "--rounds") flags.rounds = Number(value);
    else if (name === "--isa") flags.isa = value as CpuIsa;
    else throw new Error(`unknown flag ${name} (known: --threads, --prompt, --steps, --rounds, --isa)`);
  }
  return flags;
}

/** Deterministic token ids in [1000, 101000) (the id values do not change the work). */
function tokens(count: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return 1000 + (s % 100000);
  });
}

/** VmHWM of this process. Deno refuses to read /proc/<own pid> without unrestricted permissions, so `cat` reads it. */
function peakRssBytes(): number | null {
  try {
    const { stdout } = new Deno.Command("cat", { args: [`/proc/${Deno.pid}/status`], stderr: "null" })
      .outputSync();
    const match = new TextDecoder().decode(stdout).match(/^VmHWM:\s+(\d+) kB/m);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** The middle value (the mean of the two middle ones for an even count). */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function seconds<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await work();
  return [value, (performance.now() - start) / 1000];
}

/** Decode tokens/s for `batch` sequences that each hold a short prompt already. */
async function decodeRate(model: Model, sequences: Sequence[], steps: number): Promise<number> {
  let feed = sequences.map(() => 7);
  // One untimed step settles the path (buffers are sized for the batch there).
  const first = await model.step(
    sequences.map((sequence, i) => ({ sequence, tokens: [feed[i]], sampling: GREEDY })),
  );
  feed = first.map((r) => r.token!);
  const [, elapsed] = await seconds(async () => {
    for (let s = 0; s < steps; s++) {
      const results = await model.step(
        sequences.map((sequence, i) => ({ sequence, tokens: [feed[i]], sampling: GREEDY })),
      );
      feed = results.map((r) => r.token!);
    }
  });
  return (steps * sequences.length) / elapsed;
}

async function main(): Promise<void> {
  const flags = parseFlags(Deno.args);
  const log = (line: string): void => console.error(`bench:engine: ${line}`);
  const [wrote, generateSeconds] = await seconds(() => ensureBenchModel(MODEL_DIR, log));
  const plugin = Plugin.open({ cpuDevices: 1, cpuThreadsPerDevice: flags.threads, cpuIsa: flags.isa });
  try {
    const device = plugin.devices()[0];
    log(`device: ${device.name}, ${device.threads} threads, ${device.cpuIsa} kernels`);
    const [model, loadSeconds] = await seconds(() =>
      plugin.loadModel(MODEL_DIR, {
        devices: [device.index],
        contextLength: flags.prompt + flags.rounds * (flags.steps + 1) + 8,
        maxSequences: 8,
      })
    );
    // Page the mapped weights in (a short prefill touches every matrix) before anything is timed.
    const [, firstTokenSeconds] = await seconds(async () => {
      const warm = await model.newSequence();
      await model.step([{ sequence: warm, tokens: tokens(8, 1), sampling: GREEDY }]);
      await warm.free();
    });

    const batch: Sequence[] = [];
    for (let i = 0; i < 8; i++) {
      const sequence = await model.newSequence();
      await model.step([{ sequence, tokens: tokens(16 + i, 10 + i) }]);
      batch.push(sequence);
    }
    const decode8 = await decodeRate(model, batch, Math.max(4, Math.floor(flags.steps / 2)));
    log(`decode batch 8: ${decode8.toFixed(2)} tok/s`);
    for (const sequence of batch) await sequence.free();

    const prompt = tokens(flags.prompt, 2);
    const main = await model.newSequence();
    const [, prefillSeconds] = await seconds(() =>
      model.step([{ sequence: main, tokens: prompt, sampling: GREEDY }])
    );
    log(`prefill ${flags.prompt} tokens: ${prefillSeconds.toFixed(2)} s`);
    // The engine's peak, read before the bandwidth probes (each maps a 1 GiB buffer of its own).
    const enginePeakRss = peakRssBytes();
    const weightBytes = model.info.weightBytes;
    const rounds = [];
    for (let index = 0; index < flags.rounds; index++) {
      const bandwidth = await plugin.measureReadBandwidth(device.index, 2 ** 30);
      const decode = await decodeRate(model, [main], flags.steps);
      const fraction = decode / (bandwidth / weightBytes);
      log(
        `round ${index + 1}: bandwidth ${(bandwidth / 1e9).toFixed(1)} GB/s, decode batch 1 ` +
          `${decode.toFixed(2)} tok/s, fraction ${fraction.toFixed(3)}`,
      );
      rounds.push({
        memoryReadBandwidthBytesPerSecond: Math.round(bandwidth),
        decodeTokensPerSecond: round(decode, 2),
        decodeFractionOfBandwidthBound: round(fraction, 3),
      });
    }
    await main.free();

    const bandwidth = median(rounds.map((r) => r.memoryReadBandwidthBytesPerSecond));
    const report = {
      model: "Qwen3-0.6B shape, random bf16 weights (tied embeddings)",
      modelFolder: MODEL_DIR,
      modelGenerated: wrote,
      modelGenerateSeconds: wrote ? round(generateSeconds, 2) : 0,
      device: { name: device.name, threads: device.threads, kernels: device.cpuIsa },
      loadSeconds: round(loadSeconds, 3),
      firstStepSeconds: round(firstTokenSeconds, 3),
      promptTokens: flags.prompt,
      prefillSeconds: round(prefillSeconds, 3),
      prefillTokensPerSecond: round(flags.prompt / prefillSeconds, 1),
      decodeBatch1TokensPerSecond: round(median(rounds.map((r) => r.decodeTokensPerSecond)), 2),
      decodeBatch1ContextTokens: flags.prompt,
      decodeBatch8TokensPerSecond: round(decode8, 2),
      peakRssBytes: enginePeakRss,
      weightBytesPerToken: weightBytes,
      memoryReadBandwidthBytesPerSecond: Math.round(bandwidth),
      decodeBoundTokensPerSecond: round(bandwidth / weightBytes, 2),
      decodeFractionOfBandwidthBound: round(median(rounds.map((r) => r.decodeFractionOfBandwidthBound)), 3),
      decodeBatch1Rounds: rounds,
    };
    console.log(JSON.stringify(report, null, 2));
    await model.unload();
  } finally {
    plugin.close();
  }
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

if (import.meta.main) await main();
