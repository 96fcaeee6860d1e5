/**
 * Runs llama.cpp's `llama-bench` (built by hand; nothing here builds or ships it) on a GGUF file
 * and reads its `-o json` report. One pass is two calls with the same threads: prefill of the
 * prompt from an empty context (`-p P -n 0`), and decode at the prompt's depth (`-p 0 -n S -d P`),
 * which is where cortex measures decode batch 1.
 * @module
 */

/** One test row of llama-bench's JSON, with the fields the bench reports. */
export interface LlamaBenchTest {
  buildCommit: string;
  buildNumber: number;
  cpuInfo: string;
  backends: string;
  modelType: string;
  modelSizeBytes: number;
  threads: number;
  nPrompt: number;
  nGen: number;
  nDepth: number;
  nBatch: number;
  nUbatch: number;
  typeK: string;
  typeV: string;
  /** Mean tokens/s over the repetitions. */
  tokensPerSecond: number;
  stddevTokensPerSecond: number;
  /** tokens/s of each repetition. */
  samplesTokensPerSecond: number[];
}

/** llama.cpp's side of one pass. */
export interface LlamaPass {
  prefill: LlamaBenchTest;
  decode: LlamaBenchTest;
}

/** What a pass runs. */
export interface LlamaPassOptions {
  binary: string;
  gguf: string;
  threads: number;
  prompt: number;
  steps: number;
  repetitions: number;
  /** Appended to both calls as given. */
  extraArgs?: string[];
}

function stringField(row: Record<string, unknown>, name: string): string {
  const value = row[name];
  if (typeof value !== "string") {
    throw new Error(`llama-bench JSON: field ${name} is ${JSON.stringify(value)}, not a string`);
  }
  return value;
}

function numberField(row: Record<string, unknown>, name: string): number {
  const value = row[name];
  if (typeof value !== "number") {
    throw new Error(`llama-bench JSON: field ${name} is ${JSON.stringify(value)}, not a number`);
  }
  return value;
}

/** Parses llama-bench's `-o json` output (an array of test rows); throws naming a missing field. */
export function parseLlamaBenchJson(text: string): LlamaBenchTest[] {
  let rows: unknown;
  try {
    rows = JSON.parse(text);
  } catch (error) {
    throw new Error(`llama-bench printed no JSON array (${(error as Error).message}): ${text.slice(0, 200)}`);
  }
  if (!Array.isArray(rows)) throw new Error("llama-bench JSON is not an array of tests");
  return rows.map((row: Record<string, unknown>) => {
    const samples = row.samples_ts;
    if (!Array.isArray(samples) || samples.some((s) => typeof s !== "number")) {
      throw new Error("llama-bench JSON: field samples_ts is not an array of numbers");
    }
    return {
      buildCommit: stringField(row, "build_commit"),
      buildNumber: numberField(row, "build_number"),
      cpuInfo: stringField(row, "cpu_info"),
      backends: stringField(row, "backends"),
      modelType: stringField(row, "model_type"),
      modelSizeBytes: numberField(row, "model_size"),
      threads: numberField(row, "n_threads"),
      nPrompt: numberField(row, "n_prompt"),
      nGen: numberField(row, "n_gen"),
      nDepth: numberField(row, "n_depth"),
      nBatch: numberField(row, "n_batch"),
      nUbatch: numberField(row, "n_ubatch"),
      typeK: stringField(row, "type_k"),
      typeV: stringField(row, "type_v"),
      tokensPerSecond: numberField(row, "avg_ts"),
      stddevTokensPerSecond: numberField(row, "stddev_ts"),
      samplesTokensPerSecond: samples as number[],
    };
  });
}

/** The argument lists of the two calls of a pass (prefill, then decode). */
export function llamaPassArgs(options: LlamaPassOptions): { prefill: string[]; decode: string[] } {
  const common = [
    "-m",
    options.gguf,
    "-t",
    String(options.threads),
    "-r",
    String(options.repetitions),
    "-o",
    "json",
  ];
  const extra = options.extraArgs ?? [];
  return {
    prefill: [...common, "-p", String(options.prompt), "-n", "0", ...extra],
    decode: [...common, "-p", "0", "-n", String(options.steps), "-d", String(options.prompt), ...extra],
  };
}

/** Runs llama-bench with `args` and returns its single test row; throws with its stderr tail on failure. */
export async function runLlamaBench(binary: string, args: string[]): Promise<LlamaBenchTest> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(binary, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (error) {
    throw new Error(`cannot run llama-bench at ${binary}: ${(error as Error).message}`);
  }
  const stderr = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-8).join("\n");
  if (!output.success) {
    let how = output.signal ? `was killed by ${output.signal}` : `exited with status ${output.code}`;
    if (output.signal === "SIGILL") {
      how +=
        " (an instruction this CPU or VM does not allow: a llama.cpp built with -march=native elsewhere, " +
        "or with AMX the kernel does not enable; rebuild it for this machine)";
    }
    throw new Error(`llama-bench ${args.join(" ")} ${how}; its stderr ends:\n${stderr}`);
  }
  const tests = parseLlamaBenchJson(new TextDecoder().decode(output.stdout));
  if (tests.length !== 1) {
    throw new Error(`llama-bench ${args.join(" ")} reported ${tests.length} tests, expected 1`);
  }
  return tests[0];
}

/** One llama.cpp pass: prefill, then decode at the prompt's depth. */
export async function runLlamaPass(options: LlamaPassOptions): Promise<LlamaPass> {
  const args = llamaPassArgs(options);
  const prefill = await runLlamaBench(options.binary, args.prefill);
  const decode = await runLlamaBench(options.binary, args.decode);
  return { prefill, decode };
}
