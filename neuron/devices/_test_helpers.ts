/**
 * Shared helpers of the devices tests: fixture paths, reference readers and float comparisons.
 * @module
 */

import assert from "node:assert/strict";
import {
  type CpuIsa,
  GREEDY,
  type Model,
  Plugin,
  PluginError,
  type PluginErrorCode,
  type PluginOptions,
} from "./mod.ts";

/** Repository root (no trailing slash). */
export const REPO_ROOT: string = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
/** stories260K in the shared fixtures beside the repository (may be absent). */
export const STORIES_DIR: string = `${REPO_ROOT}/../shared/fixtures/stories260K/hf`;
/** The committed tiny models. */
export const MODELS_DIR: string = `${REPO_ROOT}/neuron/testdata/models`;
/** The committed transformers references. */
export const REFERENCE_DIR: string = `${REPO_ROOT}/neuron/testdata/reference`;

/** True when the stories260K fixture exists; logs why a test is skipped otherwise. */
export function storiesAvailable(): boolean {
  try {
    Deno.statSync(`${STORIES_DIR}/config.json`);
    return true;
  } catch {
    console.warn(`skipping stories260K tests: ${STORIES_DIR} is absent`);
    return false;
  }
}

/** A `.bin` descriptor of a reference header. */
export interface LogitsDescriptor {
  file: string;
  shape: [number, number];
}

/** One prompt of a reference. */
export interface ReferencePrompt {
  name: string;
  ids: number[];
  logits: LogitsDescriptor;
  greedy?: { new_tokens: number; ids: number[]; logits: LogitsDescriptor };
}

/** A reference header plus a reader for its logits files. */
export interface Reference {
  model: string;
  vocab_size: number;
  prompts: ReferencePrompt[];
  read(descriptor: LogitsDescriptor): Float32Array;
}

/** Reads `neuron/testdata/reference/<name>/reference.json`. */
export function loadReference(name: string): Reference {
  const folder = `${REFERENCE_DIR}/${name}`;
  const header = JSON.parse(Deno.readTextFileSync(`${folder}/reference.json`));
  return {
    ...header,
    read(descriptor: LogitsDescriptor): Float32Array {
      const bytes = Deno.readFileSync(`${folder}/${descriptor.file}`);
      const floats = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      if (floats.length !== descriptor.shape[0] * descriptor.shape[1]) {
        throw new Error(`${descriptor.file}: ${floats.length} floats, expected shape ${descriptor.shape}`);
      }
      return floats;
    },
  };
}

/** max |a - b| over two equally long arrays. */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** Cosine similarity of two equally long arrays. */
export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

/** Index of the first maximum. */
export function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Row `r` of a row-major [rows, width] array. */
export function row(values: Float32Array, r: number, width: number): Float32Array {
  return values.subarray(r * width, (r + 1) * width);
}

/** Every CPU kernel path this machine can run, best first (e.g. amx, avx512, avx2, scalar). */
export function cpuIsasToTest(): Exclude<CpuIsa, "auto">[] {
  const plugin = Plugin.open();
  try {
    const best = plugin.devices().find((device) => device.backend === "cpu")?.cpuIsa ?? "scalar";
    const all = ["amx", "avx512", "avx2", "scalar"] as const;
    return all.slice(all.indexOf(best));
  } finally {
    plugin.close();
  }
}

/**
 * One place a parity suite runs: a CPU kernel path, or a CUDA device. Every parity suite
 * (parity_test.ts, gguf_parity_test.ts, ...) loops over `parityTargets()` and opens, loads and
 * judges through its target, so `deno task test:cuda` can run the same file on a GPU.
 */
export interface ParityTarget {
  /** For test names: "amx", "avx512", "avx2", "scalar" or "cuda:0". */
  label: string;
  /** True for a CUDA device (GPU arithmetic: other summation orders, cuBLAS, device libm). */
  cuda: boolean;
  /** Opens the plugin for this target (the caller closes it). */
  open(): Plugin;
  /** The device index to pass in `LoadOptions.devices` in a plugin `open()` returned. */
  device(plugin: Plugin): number;
  /** The suite's tolerance for this target: `cpu` on a CPU path, `cuda` on a GPU. */
  tolerance(cpu: number, cuda: number): number;
}

/**
 * Where the parity suites run. By default every CPU kernel path this machine has (AVX-512,
 * AVX2, scalar). With `CORTEX_TEST_DEVICE=cuda` (or `cuda:N`, the N-th CUDA device) only that CUDA
 * device, as `deno task test:cuda` sets it; there, a missing CUDA device throws ("no CUDA device:
 * ...") instead of quietly testing the CPU.
 */
export function parityTargets(wanted: string = Deno.env.get("CORTEX_TEST_DEVICE") ?? ""): ParityTarget[] {
  if (wanted === "" || wanted === "cpu") {
    return cpuIsasToTest().map((cpuIsa) => ({
      label: cpuIsa,
      cuda: false,
      open: (): Plugin => Plugin.open({ cpuIsa }),
      device: (plugin: Plugin): number => {
        const cpu = plugin.devices().find((device) => device.backend === "cpu");
        if (!cpu || cpu.cpuIsa !== cpuIsa) throw new Error(`no CPU device running ${cpuIsa} kernels`);
        return cpu.index;
      },
      tolerance: (cpu: number): number => cpu,
    }));
  }
  const match = wanted.match(/^cuda(?::(\d+))?$/);
  if (!match) {
    throw new Error(`CORTEX_TEST_DEVICE must be cpu, cuda or cuda:N, got ${JSON.stringify(wanted)}`);
  }
  const ordinal = Number(match[1] ?? 0);
  // One CPU thread: the CPU device is not used, and the GPU run should not compete with it.
  const options: PluginOptions = { cpuThreadsPerDevice: 1 };
  const probe = Plugin.open(options);
  try {
    const gpus = probe.devices().filter((device) => device.backend === "cuda");
    if (gpus.length <= ordinal) {
      throw new Error(
        `no CUDA device: CORTEX_TEST_DEVICE=${wanted} but the plugin found ${gpus.length} CUDA device(s) ` +
          `(is the plugin built with nvcc, and the driver loaded?)`,
      );
    }
  } finally {
    probe.close();
  }
  return [{
    label: `cuda:${ordinal}`,
    cuda: true,
    open: (): Plugin => Plugin.open(options),
    device: (plugin: Plugin): number => {
      const gpu = plugin.devices().filter((device) => device.backend === "cuda")[ordinal];
      if (!gpu) throw new Error(`no CUDA device: CUDA device ${ordinal} is gone`);
      return gpu.index;
    },
    tolerance: (_cpu: number, cuda: number): number => cuda,
  }];
}

/**
 * Greedy ids against a reference's. On a CPU path they must be identical. On a GPU, f32 sums in
 * another order may flip a near-tie, so they must be identical up to the first difference, and at
 * that step our own logits (`ourLogits`, one row of `vocab` per step) must rank the reference's id
 * within `tieMargin` of the one we chose. Returns how many leading steps agree (compare per-step
 * logits only over those: after a flip the sequences differ).
 */
export function assertGreedyIds(
  target: ParityTarget,
  ours: { ids: number[]; logits: Float32Array },
  theirs: number[],
  vocab: number,
  tieMargin: number,
  what: string,
): number {
  if (!target.cuda) {
    if (ours.ids.length !== theirs.length || ours.ids.some((id, i) => id !== theirs[i])) {
      throw new Error(`${what}: greedy ids differ\nours:   ${ours.ids}\ntheirs: ${theirs}`);
    }
    return ours.ids.length;
  }
  const steps = Math.min(ours.ids.length, theirs.length);
  for (let s = 0; s < steps; s++) {
    if (ours.ids[s] === theirs[s]) continue;
    const logits = row(ours.logits, s, vocab);
    const gap = logits[ours.ids[s]] - logits[theirs[s]];
    if (!(gap <= tieMargin)) {
      throw new Error(
        `${what}: greedy id ${s} is ${ours.ids[s]}, reference ${
          theirs[s]
        }; ours leads it by ${gap} > ${tieMargin}`,
      );
    }
    console.warn(
      `${what}: greedy ids agree for ${s} of ${steps} steps, then a near-tie (gap ${gap}) flipped`,
    );
    return s;
  }
  if (ours.ids.length !== theirs.length) {
    throw new Error(`${what}: ${ours.ids.length} greedy ids, reference ${theirs.length}`);
  }
  return steps;
}

/** The logits of every position of `tokens`, prefilled into a fresh sequence of `model`. */
export async function logitsOf(model: Model, tokens: number[]): Promise<Float32Array> {
  const sequence = await model.newSequence();
  const [result] = await model.step([{ sequence, tokens, allLogits: true }]);
  await sequence.free();
  return result.logits!;
}

/** `steps` greedy tokens of `model` after `prompt`, on a fresh sequence freed afterwards. */
export async function greedyIds(model: Model, prompt: number[], steps: number): Promise<number[]> {
  const sequence = await model.newSequence();
  const out: number[] = [];
  let feed = prompt;
  for (let i = 0; i < steps; i++) {
    const [result] = await model.step([{ sequence, tokens: feed, sampling: GREEDY }]);
    out.push(result.token!);
    feed = [result.token!];
  }
  await sequence.free();
  return out;
}

/** Every position's logits of `ids`, from one prefill step on a fresh sequence (freed afterwards). */
export async function promptLogits(model: Model, ids: number[]): Promise<Float32Array> {
  const sequence = await model.newSequence();
  try {
    const [result] = await model.step([{ sequence, tokens: ids, allLogits: true }]);
    assert.equal(sequence.position, ids.length);
    return result.logits!;
  } finally {
    await sequence.free();
  }
}

/** Greedy decode of `count` tokens after `ids` on a fresh sequence: the ids and each step's logits. */
export async function greedyRun(
  model: Model,
  ids: number[],
  count: number,
): Promise<{ ids: number[]; logits: Float32Array }> {
  const vocab = model.info.vocabSize;
  const sequence = await model.newSequence();
  const out: number[] = [];
  const logits = new Float32Array(count * vocab);
  try {
    let feed = ids;
    for (let s = 0; s < count; s++) {
      const [result] = await model.step([{ sequence, tokens: feed, sampling: GREEDY, wantLogits: true }]);
      logits.set(result.logits!, s * vocab);
      out.push(result.token!);
      feed = [result.token!];
    }
    return { ids: out, logits };
  } finally {
    await sequence.free();
  }
}

/** Runs `body` with a fresh temporary folder, removed afterwards. */
export async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "cortex-test-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `body` with `folder` loaded (context `contextLength`) on a fresh plugin, closed afterwards. */
export async function withModel(
  folder: string,
  contextLength: number,
  body: (model: Model) => Promise<void>,
): Promise<void> {
  const plugin = Plugin.open();
  try {
    await body(await plugin.loadModel(folder, { contextLength }));
  } finally {
    plugin.close();
  }
}

/** log-softmax in double precision of `logits` plus `bias`: the reference native log-probabilities must match. */
export function logSoftmax(
  logits: Float32Array,
  bias: ReadonlyMap<number, number> = new Map(),
): Float64Array {
  const biased = Float64Array.from(logits, (value, token) => value + (bias.get(token) ?? 0));
  let max = -Infinity;
  for (const value of biased) max = Math.max(max, value);
  let total = 0;
  for (const value of biased) total += Math.exp(value - max);
  const logTotal = max + Math.log(total);
  return biased.map((value) => value - logTotal);
}

/** The `count` ids of highest log-probability, the lower id first on a tie. */
export function topIds(logprobs: Float64Array, count: number): number[] {
  return Array.from(logprobs.keys()).sort((a, b) => logprobs[b] - logprobs[a] || a - b).slice(0, count);
}

/**
 * An `assert.rejects` check: the error is a PluginError with `code` and a message matching `pattern`
 * (`label` prefixes the assertion messages).
 */
export function pluginError(code: PluginErrorCode, pattern: RegExp, label = ""): (error: unknown) => boolean {
  const at = label ? `${label}: ` : "";
  return (error: unknown): boolean => {
    assert.ok(error instanceof PluginError, `${at}expected a PluginError, got ${error}`);
    assert.equal(error.code, code, `${at}code of "${error.message}"`);
    assert.match(error.message, pattern, label || undefined);
    return true;
  };
}
