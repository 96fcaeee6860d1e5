// The CPU attention kernels, checked natively: attend_check.cpp is compiled with g++ together with the
// plugin sources it links and run; every ISA this CPU has must match double-precision attention to f32
// rounding and give a row the same bits whatever tile of rows it is computed in.
import assert from "node:assert/strict";
import { buildCpuCheck, hasGpp, run } from "../_native_tools.ts";

const gpp = hasGpp();
if (!gpp) console.warn("attend_test: g++ not found; skipping the native attention checks");

Deno.test({
  name: "every ISA's attention matches double precision and a row's bits do not depend on its tile",
  ignore: !gpp,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "cx_attend_" });
    try {
      const binary = `${dir}/attend_check`;
      const build = await buildCpuCheck("cpu/attend_check.cpp", binary);
      assert.equal(build.code, 0, `g++ failed:\n${build.text}`);
      assert.doesNotMatch(build.text, /warning/, `g++ warned:\n${build.text}`);
      const result = await run(binary, []);
      assert.equal(result.code, 0, `attention checks failed:\n${result.text}`);
      const summary = result.text.match(/(\d+) checks, (\d+) failed/);
      assert.ok(summary, `no summary line in:\n${result.text}`);
      assert.equal(Number(summary[2]), 0);
      assert.ok(Number(summary[1]) >= 160, `only ${summary[1]} checks ran`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
