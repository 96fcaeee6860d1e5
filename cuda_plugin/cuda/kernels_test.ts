// The CUDA backend's kernels, run on the host: kernels_check.cpp compiles the kernel sources with g++
// against the emulation in kernel_compat.cuh and compares every op with the CPU backend's loops.
// No GPU is needed; g++ is (the plugin build needs it too), and the test is skipped without it.
import assert from "node:assert/strict";
import { hasGpp, run, runCheckProgram } from "../_native_tools.ts";

const cudaDir = new URL(".", import.meta.url).pathname;
const pluginDir = new URL("..", import.meta.url).pathname;

const gpp = hasGpp();
if (!gpp) console.warn("kernels_test: g++ not found; skipping the emulated CUDA kernel checks");

Deno.test({
  name: "CUDA kernels under host emulation match the CPU backend op by op",
  ignore: !gpp,
  async fn() {
    const { checks } = await runCheckProgram((binary) =>
      run("g++", [
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
      ]), []);
    assert.ok(checks >= 300, `only ${checks} checks ran`);
  },
});
