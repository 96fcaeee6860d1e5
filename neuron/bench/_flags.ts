/**
 * The command line of `deno task bench:engine`: every flag, its default and the combinations it
 * refuses, parsed into one plain object before anything is loaded.
 * @module
 */

import type { CpuIsa, RepackWhen } from "../devices/mod.ts";

/** Weight types the loader quantizes the safetensors bench model into (ISQ). */
export const ISQ_TYPES = Object.freeze(["q8_0", "q4_0", "q4_k", "q5_k", "q6_k", "q4_k_m"] as const);

/** One of `ISQ_TYPES`. */
export type IsqType = typeof ISQ_TYPES[number];

/** GGUF tensor types `--write-gguf` writes. */
export const GGUF_WRITE_TYPES = Object.freeze(["f32", "bf16"] as const);

const ISAS: readonly CpuIsa[] = ["auto", "amx", "avx512", "avx2", "scalar"];

/** Generated bench models: Qwen3-0.6B's shape, or Qwen3-30B-A3B's experts with few layers. */
export const BENCH_ARCHS = Object.freeze(["qwen3", "qwen3_moe", "qwen3_next"] as const);

/** The parsed command line. */
export interface BenchFlags {
  /** Compute threads (default: all cores). */
  threads?: number;
  /** Prefill length and the context decode batch 1 runs at. */
  prompt: number;
  /** Decode steps per batch-1 round. */
  steps: number;
  /** Batch-1 rounds per pass (and llama-bench repetitions). */
  rounds: number;
  isa: CpuIsa;
  /** Load the safetensors bench model quantized to this type. */
  quant?: IsqType;
  /** Bench this GGUF file instead of the generated model. */
  gguf?: string;
  /** llama.cpp's llama-bench binary: run it on `gguf` too. */
  llamaBench?: string;
  /** With `arch` and `llamaBench`: the GGUF llama.cpp runs, the generated model as `--write-gguf`
   * wrote it (cortex loads the safetensors folder of the same weights). */
  llamaGguf?: string;
  /** Extra arguments appended to every llama-bench call (split on spaces). */
  llamaArgs: string[];
  /** Passes; with `llamaBench` each pass runs cortex, then llama.cpp. */
  alternate: number;
  /** Write the bench model as GGUF to this path, then exit. */
  writeGguf?: string;
  ggufType: typeof GGUF_WRITE_TYPES[number];
  /** Which generated model to bench (bench_model.ts, bench_moe_model.ts, bench_next_model.ts). */
  arch: typeof BENCH_ARCHS[number];
  /** Layers of the qwen3_moe / qwen3_next model (default 4). */
  layers: number;
  /** `auto`: also time a load from a cold page cache where it can be dropped (root); `no`: do not. */
  cold: "auto" | "no";
  /** When the engine repacks the weights (LoadOptions.repack; default background). */
  repack: RepackWhen;
}

const KNOWN = [
  "--threads",
  "--prompt",
  "--steps",
  "--rounds",
  "--isa",
  "--quant",
  "--gguf",
  "--llama-bench",
  "--llama-args",
  "--llama-gguf",
  "--alternate",
  "--write-gguf",
  "--gguf-type",
  "--arch",
  "--layers",
  "--cold",
  "--repack",
];

function count(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return n;
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new Error(`${name} must be one of ${allowed.join(", ")}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/**
 * Parses `args` (every flag takes one value). Throws with a message naming the flag on an unknown
 * flag, a bad value or a combination that means nothing (`--llama-bench` without `--gguf`,
 * `--quant` with `--gguf`).
 *
 * @example
 * ```ts
 * parseBenchFlags(["--gguf", "m.gguf", "--llama-bench", "llama-bench", "--threads", "2"]);
 * ```
 */
export function parseBenchFlags(args: readonly string[]): BenchFlags {
  const flags: BenchFlags = {
    prompt: 512,
    steps: 24,
    rounds: 5,
    isa: "auto",
    llamaArgs: [],
    alternate: 1,
    ggufType: "bf16",
    arch: "qwen3",
    layers: 4,
    cold: "auto",
    repack: "background",
  };
  const seen = new Set<string>();
  for (let i = 0; i < args.length; i += 2) {
    const [name, value] = [args[i], args[i + 1]];
    if (!KNOWN.includes(name)) throw new Error(`unknown flag ${name} (known: ${KNOWN.join(", ")})`);
    if (value === undefined) throw new Error(`flag ${name} needs a value`);
    if (seen.has(name)) throw new Error(`flag ${name} given twice`);
    seen.add(name);
    if (name === "--threads") flags.threads = count(name, value, 1);
    else if (name === "--prompt") flags.prompt = count(name, value, 1);
    else if (name === "--steps") flags.steps = count(name, value, 1);
    else if (name === "--rounds") flags.rounds = count(name, value, 1);
    else if (name === "--isa") flags.isa = oneOf(name, value, ISAS);
    else if (name === "--quant") flags.quant = oneOf(name, value, ISQ_TYPES);
    else if (name === "--gguf") flags.gguf = value;
    else if (name === "--llama-bench") flags.llamaBench = value;
    else if (name === "--llama-gguf") flags.llamaGguf = value;
    else if (name === "--llama-args") flags.llamaArgs = value.split(/\s+/).filter((a) => a !== "");
    else if (name === "--alternate") flags.alternate = count(name, value, 1);
    else if (name === "--write-gguf") flags.writeGguf = value;
    else if (name === "--arch") flags.arch = oneOf(name, value, BENCH_ARCHS);
    else if (name === "--layers") flags.layers = count(name, value, 1);
    else if (name === "--cold") flags.cold = oneOf(name, value, ["auto", "no"] as const);
    else if (name === "--repack") flags.repack = oneOf(name, value, ["background", "load", "never"] as const);
    else flags.ggufType = oneOf(name, value, GGUF_WRITE_TYPES);
  }
  if (flags.llamaGguf !== undefined && (flags.llamaBench === undefined || !seen.has("--arch"))) {
    throw new Error(
      "--llama-gguf goes with --arch and --llama-bench: llama.cpp's copy of the generated model",
    );
  }
  if (flags.llamaBench !== undefined && flags.gguf === undefined && flags.llamaGguf === undefined) {
    throw new Error("--llama-bench needs --gguf: both engines run the same GGUF file");
  }
  if (seen.has("--llama-args") && flags.llamaBench === undefined) {
    throw new Error("--llama-args needs --llama-bench");
  }
  if (flags.quant !== undefined && flags.gguf !== undefined) {
    throw new Error(
      "--quant applies to the safetensors bench model; a GGUF file carries its own tensor types",
    );
  }
  if (seen.has("--arch") && flags.gguf !== undefined) {
    throw new Error("--arch picks the generated model; it cannot go with --gguf");
  }
  if (seen.has("--layers") && flags.arch === "qwen3") {
    throw new Error("--layers applies to --arch qwen3_moe or qwen3_next");
  }
  if (seen.has("--gguf-type") && flags.writeGguf === undefined) {
    throw new Error("--gguf-type needs --write-gguf");
  }
  const writeFlags = ["--write-gguf", "--gguf-type", "--arch", "--layers"];
  if (flags.writeGguf !== undefined && [...seen].some((name) => !writeFlags.includes(name))) {
    throw new Error(
      "--write-gguf writes the bench model and exits; it takes only --gguf-type, --arch and --layers",
    );
  }
  return flags;
}
