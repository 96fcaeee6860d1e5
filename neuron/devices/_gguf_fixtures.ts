/**
 * Test helpers for the GGUF fixtures (`../shared/fixtures/gguf`, see its README): the manifest, the
 * reference logits files, and the fixture's 102-vector protocol run on a loaded model.
 * @module
 */

import { GREEDY, type Model } from "./mod.ts";
import { REPO_ROOT } from "./_test_helpers.ts";

/** The GGUF fixtures folder beside the repository (may be absent). */
export const GGUF_FIXTURES: string = `${REPO_ROOT}/../shared/fixtures/gguf`;

/** The prompts of the protocol: p7 (every position), p64 and p300 (last position). */
export const PROMPTS = ["p7", "p64", "p300"] as const;
/** Generation rows per prompt. */
export const GEN_STEPS = 32;

/** What the tests need of manifest.json for one model. */
export interface FixtureModel {
  name: string;
  vocab: number;
  prompts: Record<string, number[]>;
  /** GGUF file name → its quant label as stored ("F32", "Q4_K_M", ...). */
  ggufs: Record<string, string>;
  /** Reference dir name ("llamacpp-q8_0") → prompt → llama.cpp's (or transformers') greedy ids. */
  greedy: Record<string, Record<string, number[]>>;
  dir: string;
}

/**
 * The fixtures folder with symlinks resolved, ending in `/` (`../shared` is a symlink, and a spawned
 * neuron's read permission is for what it resolves to); the unresolved path when it is absent.
 */
export function ggufFixturesRealPath(): string {
  try {
    return `${Deno.realPathSync(GGUF_FIXTURES)}/`;
  } catch {
    return `${GGUF_FIXTURES}/`;
  }
}

/** True when the GGUF fixtures exist; logs why a test is skipped otherwise. */
export function ggufFixturesAvailable(): boolean {
  try {
    Deno.statSync(`${GGUF_FIXTURES}/manifest.json`);
    return true;
  } catch {
    console.warn(`skipping GGUF fixture tests: ${GGUF_FIXTURES}/manifest.json is absent`);
    return false;
  }
}

/** Reads one model's entry of manifest.json. */
export function fixtureModel(name: string): FixtureModel {
  const manifest = JSON.parse(Deno.readTextFileSync(`${GGUF_FIXTURES}/manifest.json`));
  const entry = manifest.models[name];
  const prompts: Record<string, number[]> = {};
  for (const [p, value] of Object.entries(entry.prompts as Record<string, unknown>)) {
    prompts[p] = Array.isArray(value) ? value as number[] : (value as { ids: number[] }).ids;
  }
  const ggufs: Record<string, string> = {};
  for (const [file, info] of Object.entries(entry.gguf as Record<string, { quant: string }>)) {
    ggufs[file] = info.quant;
  }
  const greedy: Record<string, Record<string, number[]>> = {};
  for (
    const [ref, info] of Object.entries(
      entry.references as Record<string, { prompts: Record<string, unknown> }>,
    )
  ) {
    greedy[ref] = {};
    for (const [p, prompt] of Object.entries(info.prompts)) {
      greedy[ref][p] = (prompt as { greedy: number[] }).greedy;
    }
  }
  return { name, vocab: 512, prompts, ggufs, greedy, dir: `${GGUF_FIXTURES}/${name}` };
}

/** The lower-case quant label of a GGUF file as used in reference dir names ("q4_k_m"). */
export function quantLabel(model: FixtureModel, file: string): string {
  return model.ggufs[file].toLowerCase();
}

function readFloats(path: string): Float32Array {
  const bytes = Deno.readFileSync(path);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

/**
 * The protocol's 102 vectors of a reference dir, row-major [102][vocab]: per prompt, the prompt
 * rows (p7: all 7; p64/p300: the last), then generation rows 1..31 (row 0 repeats the last prompt row).
 */
export function referenceVectors(model: FixtureModel, ref: string): Float32Array {
  const rows: Float32Array[] = [];
  for (const p of PROMPTS) {
    rows.push(readFloats(`${model.dir}/ref/${ref}/${p}.prompt.bin`));
    const gen = readFloats(`${model.dir}/ref/${ref}/${p}.gen.bin`);
    rows.push(gen.subarray(model.vocab));
  }
  return concat(rows);
}

/** True when the reference dir `ref` exists. */
export function hasReference(model: FixtureModel, ref: string): boolean {
  try {
    Deno.statSync(`${model.dir}/ref/${ref}/p7.prompt.bin`);
    return true;
  } catch {
    return false;
  }
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Our vectors and the generation rows' argmaxes (rows 0..31 per prompt). */
export interface ProtocolRun {
  vectors: Float32Array;
  /** prompt → argmax of each of the 32 generation rows (row 0 = last prompt position). */
  top1: Record<string, number[]>;
}

/**
 * Runs the protocol on `model`: each prompt prefilled in one step (all positions' logits), then
 * `forced[p][0..30]` fed one token per step (teacher forcing with llama.cpp's greedy ids).
 */
export async function runProtocol(
  model: Model,
  fixture: FixtureModel,
  forced: Record<string, number[]>,
): Promise<ProtocolRun> {
  const vocab = model.info.vocabSize;
  const rows: Float32Array[] = [];
  const top1: Record<string, number[]> = {};
  for (const p of PROMPTS) {
    const ids = fixture.prompts[p];
    const sequence = await model.newSequence();
    try {
      const [prefill] = await model.step([{ sequence, tokens: ids, allLogits: true }]);
      const logits = prefill.logits!;
      rows.push(p === "p7" ? logits : logits.slice((ids.length - 1) * vocab));
      const last = logits.slice((ids.length - 1) * vocab);
      top1[p] = [argmaxOf(last)];
      for (let k = 0; k < GEN_STEPS - 1; k++) {
        const [step] = await model.step([{
          sequence,
          tokens: [forced[p][k]],
          sampling: GREEDY,
          wantLogits: true,
        }]);
        rows.push(step.logits!);
        top1[p].push(argmaxOf(step.logits!));
      }
    } finally {
      await sequence.free();
    }
  }
  return { vectors: concat(rows), top1 };
}

function argmaxOf(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * The rows of the 102 on which two references saw the same tokens: every prompt row, and generation
 * row k (k = 1..31) of a prompt while the two greedy paths agree on tokens 0..k-1. Each reference's
 * generation rows follow its own greedy ids, so rows past the first difference compare different inputs.
 */
export function sharedRows(
  a: Record<string, number[]>,
  b: Record<string, number[]>,
  fixture: FixtureModel,
): number[] {
  const rows: number[] = [];
  let at = 0;
  for (const p of PROMPTS) {
    const promptRows = p === "p7" ? fixture.prompts[p].length : 1;
    for (let r = 0; r < promptRows; r++) rows.push(at++);
    for (let k = 1; k < GEN_STEPS; k++, at++) {
      if (a[p].slice(0, k).every((id, i) => id === b[p][i])) rows.push(at);
    }
  }
  return rows;
}

/** max |a - b| over the listed rows of `vocab` floats. */
export function maxAbsDiffRows(a: Float32Array, b: Float32Array, rows: number[], vocab: number): number {
  let max = 0;
  for (const r of rows) {
    for (let i = r * vocab; i < (r + 1) * vocab; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  }
  return max;
}

/** Share of the listed rows whose first-maximum index agrees. */
export function top1AgreementRows(a: Float32Array, b: Float32Array, rows: number[], vocab: number): number {
  let same = 0;
  for (const r of rows) {
    if (
      argmaxOf(a.subarray(r * vocab, (r + 1) * vocab)) === argmaxOf(b.subarray(r * vocab, (r + 1) * vocab))
    ) same++;
  }
  return same / rows.length;
}
