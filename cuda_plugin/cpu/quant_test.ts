// The quantizers and the CPU backend's quantized matmul, checked natively: quant_check.cpp is compiled
// with g++ together with the plugin sources it tests and run against ../shared/fixtures/gguf (the
// fixture checks are skipped with a message when the fixtures are absent; the kernel checks always run).
import assert from "node:assert/strict";
import { buildCpuCheck, exists, hasGpp, run } from "../_native_tools.ts";

const fixturesDir = new URL("../../../shared/fixtures/gguf", import.meta.url).pathname;

const gpp = hasGpp();
if (!gpp) console.warn("quant_test: g++ not found; skipping the native quantization checks");
const haveFixtures = exists(`${fixturesDir}/qwen3-tiny/qwen3-tiny-f32.gguf`);
if (!haveFixtures) {
  console.warn(`quant_test: ${fixturesDir} absent; dequantization and quantizer identity checks skipped`);
}

Deno.test({
  name: "quantizers match ggml and every ISA's quantized matmul matches the scalar one",
  ignore: !gpp,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "cx_quant_" });
    try {
      const binary = `${dir}/quant_check`;
      const build = await buildCpuCheck("cpu/quant_check.cpp", binary);
      assert.equal(build.code, 0, `g++ failed:\n${build.text}`);
      assert.doesNotMatch(build.text, /warning/, `g++ warned:\n${build.text}`);
      const result = await run(binary, [haveFixtures ? fixturesDir : "-"]);
      assert.equal(result.code, 0, `quant checks failed:\n${result.text}`);
      const summary = result.text.match(/(\d+) checks, (\d+) failed/);
      assert.ok(summary, `no summary line in:\n${result.text}`);
      assert.equal(Number(summary[2]), 0);
      assert.ok(Number(summary[1]) >= (haveFixtures ? 600 : 400), `only ${summary[1]} checks ran`);
      if (haveFixtures) {
        for (const type of ["q8_0", "q4_0", "q4_k", "q5_k", "q6_k"]) {
          assert.match(
            result.text,
            new RegExp(`: ${type} \\d+/\\d+ tensors byte-identical`),
            `no ${type} identity check`,
          );
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
