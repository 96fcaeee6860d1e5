// The quantizers and the CPU backend's quantized matmul, checked natively: quant_check.cpp is compiled
// with g++ together with the plugin sources it tests and run against ../shared/fixtures/gguf (the
// fixture checks are skipped with a message when the fixtures are absent; the kernel checks always run).
import assert from "node:assert/strict";
import { buildCpuCheck, exists, hasGpp, runCheckProgram } from "../_native_tools.ts";

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
    const { checks, text } = await runCheckProgram(
      (binary) => buildCpuCheck("cpu/quant_check.cpp", binary),
      [haveFixtures ? fixturesDir : "-"],
    );
    assert.ok(checks >= (haveFixtures ? 600 : 400), `only ${checks} checks ran`);
    if (haveFixtures) {
      for (const type of ["q8_0", "q4_0", "q4_k", "q5_k", "q6_k"]) {
        assert.match(
          text,
          new RegExp(`: ${type} \\d+/\\d+ tensors byte-identical`),
          `no ${type} identity check`,
        );
      }
    }
  },
});
