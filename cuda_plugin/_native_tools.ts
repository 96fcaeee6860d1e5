/**
 * Helpers of the scripts and tests that build and run native check programs beside the plugin
 * (cpu/quant_test.ts, cuda/kernels_test.ts, cuda/test_cuda.ts): whether g++ is there, running a
 * program with its output captured, whether a path exists.
 * @module
 */

/** True when `g++` runs. */
export function hasGpp(): boolean {
  try {
    return new Deno.Command("g++", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

/** True when `path` exists. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Runs `program` with `args`; its exit code and its stdout then stderr as text. */
export async function run(program: string, args: string[]): Promise<{ code: number; text: string }> {
  const { code, stdout, stderr } = await new Deno.Command(program, { args, stdout: "piped", stderr: "piped" })
    .output();
  const decoder = new TextDecoder();
  return { code, text: decoder.decode(stdout) + decoder.decode(stderr) };
}
