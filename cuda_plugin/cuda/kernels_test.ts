// The CUDA backend's kernels, run on the host: kernels_check.cpp compiles the kernel sources with g++
// against the emulation in kernel_compat.cuh and compares every op with the CPU backend's loops.
// No GPU is needed; g++ is (the plugin build needs it too), and the test is skipped without it.
import assert from "node:assert/strict";
import { hasGpp, run } from "../_native_tools.ts";

const cudaDir = new URL(".", import.meta.url).pathname;
const pluginDir = new URL("..", import.meta.url).pathname;

const gpp = hasGpp();
if (!gpp) console.warn("kernels_test: g++ not found; skipping the emulated CUDA kernel checks");

Deno.test({
  name: "CUDA kernels under host emulation match the CPU backend op by op",
  ignore: !gpp,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "cx_kernels_" });
    try {
      const binary = `${dir}/kernels_check`;
      const build = await run("g++", [
        "-std=c++17",
        "-O1",
        "-pthread",
        "-fno-strict-aliasing",
        "-Wall",
        "-Wextra",
        `-I${pluginDir}src`,
        `-I${pluginDir}include`,
        `-I${pluginDir}cpu`,
        `-I${cudaDir}`,
        `${cudaDir}kernels_check.cpp`,
        "-o",
        binary,
      ]);
      assert.equal(build.code, 0, `g++ failed:\n${build.text}`);
      assert.doesNotMatch(build.text, /warning/, `g++ warned:\n${build.text}`);
      const result = await run(binary, []);
      assert.equal(result.code, 0, `kernel checks failed:\n${result.text}`);
      const summary = result.text.match(/(\d+) checks, (\d+) failed/);
      assert.ok(summary, `no summary line in:\n${result.text}`);
      assert.equal(Number(summary[2]), 0);
      assert.ok(Number(summary[1]) >= 300, `only ${summary[1]} checks ran`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
