/**
 * Helpers of the scripts and tests that build and run native check programs beside the plugin
 * (cpu/quant_test.ts, cpu/attend_test.ts, cuda/kernels_test.ts, cuda/test_cuda.ts): whether g++ is
 * there, running a program with its output captured, whether a path exists, building a CPU check
 * program with the CPU backend it tests, and building and running a check program.
 * @module
 */

import assert from "node:assert/strict";

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

const pluginDir = new URL(".", import.meta.url).pathname;

/** The plugin sources the CPU backend is made of (and every CPU check program links). */
export const CPU_BACKEND_SOURCES: readonly string[] = [
  "cpu/quant_kernels_scalar.cpp",
  "cpu/quant_kernels_avx2.cpp",
  "cpu/quant_kernels_avx512.cpp",
  "cpu/quant_kernels_amx.cpp",
  "cpu/amx_bf16.cpp",
  "cpu/amx_support.cpp",
  "cpu/kernels_scalar.cpp",
  "cpu/kernels_avx2.cpp",
  "cpu/kernels_avx512.cpp",
  "cpu/cpu_backend.cpp",
  "cpu/thread_pool.cpp",
  "cpu/quant_repack.cpp",
  "src/quant.cpp",
  "src/safetensors.cpp",
  "src/json.cpp",
  "src/error.cpp",
];

/**
 * Compiles `check` (a path under cuda_plugin/) with the CPU backend's sources into `binary`, as the
 * plugin's baseline (`-march=x86-64-v2`: no FMA contraction in code that must round like ggml's);
 * g++'s exit code and output.
 */
export function buildCpuCheck(check: string, binary: string): Promise<{ code: number; text: string }> {
  return run("g++", [
    "-std=c++17",
    "-O2",
    "-march=x86-64-v2",
    "-pthread",
    "-Wall",
    "-Wextra",
    `-I${pluginDir}src`,
    `-I${pluginDir}include`,
    `-I${pluginDir}cpu`,
    ...[check, ...CPU_BACKEND_SOURCES].map((source) => `${pluginDir}${source}`),
    "-o",
    binary,
  ]);
}

/**
 * Builds a check program with `build` (which compiles it to the path it is given) in a temporary
 * folder and runs it with `args`, asserting that the compiler succeeds without a warning, that the
 * program exits 0 and that its summary line ("N checks, M failed") reports no failure; its check
 * count and output.
 */
export async function runCheckProgram(
  build: (binary: string) => Promise<{ code: number; text: string }>,
  args: string[],
): Promise<{ checks: number; text: string }> {
  const dir = await Deno.makeTempDir({ prefix: "cx_check_" });
  try {
    const binary = `${dir}/check`;
    const compiled = await build(binary);
    assert.equal(compiled.code, 0, `g++ failed:\n${compiled.text}`);
    assert.doesNotMatch(compiled.text, /warning/, `g++ warned:\n${compiled.text}`);
    const result = await run(binary, args);
    assert.equal(result.code, 0, `checks failed:\n${result.text}`);
    const summary = result.text.match(/(\d+) checks, (\d+) failed/);
    assert.ok(summary, `no summary line in:\n${result.text}`);
    assert.equal(Number(summary[2]), 0);
    return { checks: Number(summary[1]), text: result.text };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
