// The CPU backend's f32 / f16 / bf16 matmul, checked natively: matmul_check.cpp is compiled with g++
// together with the plugin sources it links and run; through the backend's own weight layouts and
// threaded tiles, every ISA this CPU has must match double-precision dot products to f32 rounding,
// give a row the same bits whatever batch it is in, and read embeddings back exactly.
import assert from "node:assert/strict";
import { buildCpuCheck, hasGpp, runCheckProgram } from "../_native_tools.ts";

const gpp = hasGpp();
if (!gpp) console.warn("matmul_test: g++ not found; skipping the native matmul checks");

Deno.test({
  name: "every ISA's float matmul matches double precision, in any layout, batch or k-chunking",
  ignore: !gpp,
  async fn() {
    const { checks } = await runCheckProgram((binary) => buildCpuCheck("cpu/matmul_check.cpp", binary), []);
    assert.ok(checks >= 150, `only ${checks} checks ran`);
  },
});
