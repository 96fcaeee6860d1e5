/**
 * Shared helpers of the devices tests: fixture paths, reference readers and float comparisons.
 * @module
 */

import { type CpuIsa, type Model, Plugin } from "./mod.ts";

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

/** Every CPU kernel path this machine can run, best first (e.g. avx512, avx2, scalar). */
export function cpuIsasToTest(): Exclude<CpuIsa, "auto">[] {
  const plugin = Plugin.open();
  try {
    const best = plugin.devices().find((device) => device.backend === "cpu")?.cpuIsa ?? "scalar";
    const all = ["avx512", "avx2", "scalar"] as const;
    return all.slice(all.indexOf(best));
  } finally {
    plugin.close();
  }
}

/** The logits of every position of `tokens`, prefilled into a fresh sequence of `model`. */
export async function logitsOf(model: Model, tokens: number[]): Promise<Float32Array> {
  const sequence = await model.newSequence();
  const [result] = await model.step([{ sequence, tokens, allLogits: true }]);
  await sequence.free();
  return result.logits!;
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
