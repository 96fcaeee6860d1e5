// The CPU attention kernels, checked natively: attend_check.cpp is compiled with g++ together with the
// plugin sources it links and run; every ISA this CPU has must match double-precision attention to f32
// rounding and give a row the same bits whatever tile of rows it is computed in.
import assert from "node:assert/strict";
import { buildCpuCheck, hasGpp, runCheckProgram } from "../_native_tools.ts";

const gpp = hasGpp();
if (!gpp) console.warn("attend_test: g++ not found; skipping the native attention checks");

Deno.test({
  name: "every ISA's attention matches double precision and a row's bits do not depend on its tile",
  ignore: !gpp,
  async fn() {
    const { checks } = await runCheckProgram((binary) => buildCpuCheck("cpu/attend_check.cpp", binary), []);
    assert.ok(checks >= 160, `only ${checks} checks ran`);
  },
});
