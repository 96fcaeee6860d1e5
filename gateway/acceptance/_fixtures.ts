// Shared pieces of the gateway acceptance tests: the tiny model folders, a Prometheus text
// reader, and small HTTP helpers. Real neuron and gateway processes only.
import { TINY_QWEN3 } from "../../neuron/testing/spawn_neuron.ts";

const _models = TINY_QWEN3.replace(/tiny-qwen3-f32$/, "");

/** Four tiny Qwen3 folders (about 3 MB resident each on a CPU device). */
export const TINY = {
  f32: TINY_QWEN3,
  f32u: `${_models}tiny-qwen3-f32-untied`,
  bf16: `${_models}tiny-qwen3-bf16`,
  bf16u: `${_models}tiny-qwen3-bf16-untied`,
} as const;

/** Whether the native plugin is built (the neuron cannot run without it). */
export function havePlugin(): boolean {
  try {
    return Deno.statSync(new URL("../../cuda_plugin/build/libcortex_plugin.so", import.meta.url)).isFile;
  } catch {
    return false;
  }
}

/** One sample of a Prometheus exposition. */
export interface Sample {
  /** Metric name (with `_bucket`/`_sum`/`_count` suffix for histograms). */
  name: string;
  /** Labels. */
  labels: Record<string, string>;
  /** Value. */
  value: number;
}

/** Reads the text exposition at `url`. */
export async function scrape(url: string): Promise<Sample[]> {
  const text = await (await fetch(url)).text();
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

/** Sum of the samples named `name` whose labels include `match`. */
export function total(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((acc, s) => acc + s.value, 0);
}

/** POSTs JSON. */
export function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** A short chat request. */
export function chat(model: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model,
    messages: [{ role: "user", content: "Hello there" }],
    max_tokens: 8,
    temperature: 0,
    ...extra,
  };
}
