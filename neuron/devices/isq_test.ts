// In-situ quantization at load (LoadOptions.quant): bad values are refused by name; ISQ q8_0 of the
// qwen3-tiny HF folder holds the bytes llama-quantize wrote into qwen3-tiny-q8_0.gguf, so its logits
// equal the GGUF's bit for bit; q4_0, q4_k_m and q6_k pick llama-quantize's per-tensor types and
// quantize alike, so they equal their GGUFs too.
import assert from "node:assert/strict";
import { type Model, Plugin } from "./mod.ts";
import { maxAbsDiff, MODELS_DIR, pluginError } from "./_test_helpers.ts";
import {
  type FixtureModel,
  fixtureModel,
  ggufFixturesAvailable,
  referenceVectors,
  runProtocol,
} from "./_gguf_fixtures.ts";

const QWEN = `${MODELS_DIR}/tiny-qwen3-f32`;

Deno.test("an unknown quant is refused naming the value and the accepted list", async () => {
  const plugin = Plugin.open();
  try {
    for (const quant of ["q3_k", "int8", "q8"]) {
      await assert.rejects(
        plugin.loadModel(QWEN, { quant }),
        pluginError(
          "invalid_argument",
          new RegExp(`quant '${quant}' is not supported; accepted: q8_0, q4_0, q4_k, q5_k, q6_k, q4_k_m`),
        ),
      );
    }
  } finally {
    plugin.close();
  }
});

/**
 * Loads `file`.gguf of the qwen3-tiny fixture and ISQ `quant` of its HF folder, runs `check` on the two, and asserts
 * that the protocol (teacher-forced with llama.cpp's greedy ids of that file) gives the same vectors.
 */
async function isqEqualsGguf(
  fixture: FixtureModel,
  file: string,
  quant: string,
  check: (isq: Model, gguf: Model) => void,
): Promise<void> {
  const plugin = Plugin.open();
  const models: Model[] = [];
  try {
    const gguf = await plugin.loadModel(`${fixture.dir}/qwen3-tiny-${file}.gguf`);
    models.push(gguf);
    const isq = await plugin.loadModel(`${fixture.dir}/hf`, { quant });
    models.push(isq);
    check(isq, gguf);
    const forced = fixture.greedy[`llamacpp-${file}`];
    const fromGguf = await runProtocol(gguf, fixture, forced);
    const fromIsq = await runProtocol(isq, fixture, forced);
    assert.deepEqual(fromIsq.vectors, fromGguf.vectors);
  } finally {
    for (const model of models) await model.unload();
    plugin.close();
  }
}

if (ggufFixturesAvailable()) {
  const fixture = fixtureModel("qwen3-tiny");
  const hf = `${fixture.dir}/hf`;

  Deno.test("quant with a GGUF path is refused: the GGUF is already quantized", async () => {
    const plugin = Plugin.open();
    try {
      await assert.rejects(
        plugin.loadModel(`${fixture.dir}/qwen3-tiny-f32.gguf`, { quant: "q8_0" }),
        pluginError("invalid_argument", /the GGUF is already quantized; quant applies to safetensors/),
      );
    } finally {
      plugin.close();
    }
  });

  Deno.test("ISQ q8_0 of the HF folder equals qwen3-tiny-q8_0.gguf bit for bit", async () => {
    // The original cortex's spelling, upper case and without the underscore.
    await isqEqualsGguf(fixture, "q8_0", "Q80", (isq, gguf) => {
      assert.equal(isq.info.weightDtype, "q8_0");
      assert.equal(isq.info.dtype, "q8_0");
      assert.equal(isq.info.weightBytes, gguf.info.weightBytes);
    });
  });

  // llama-quantize's per-tensor types (Q6_K output, Q4_K_M's Q6_K attn_v / ffn_down on layers 2 and 3)
  // and the reference quantizers: the same bytes as each GGUF, so the same logits.
  for (const [quant, file] of [["q4_0", "q4_0"], ["q4km", "q4_k_m"], ["q6_k", "q6_k"]]) {
    Deno.test(`ISQ ${quant} of the HF folder equals qwen3-tiny-${file}.gguf bit for bit`, async () => {
      await isqEqualsGguf(fixture, file, quant, (isq, gguf) => {
        assert.equal(isq.info.weightDtype, gguf.info.weightDtype);
        assert.equal(isq.info.dtype, gguf.info.dtype);
        assert.equal(isq.info.weightBytes, gguf.info.weightBytes);
      });
    });
  }

  Deno.test("ISQ q5_k: every matrix Q5_K but the Q6_K output, counted in quantized bytes", async () => {
    const plugin = Plugin.open();
    try {
      const model = await plugin.loadModel(hf, { quant: "Q5_K" });
      try {
        assert.equal(model.info.weightDtype, "q5_k");
        assert.equal(model.info.dtype, "q5_k");
        // Rows × 256-wide blocks × block bytes (Q5_K 176, Q6_K 210), + f32 norms and RoPE frequencies.
        const q5k = (rows: number, cols: number): number => rows * (cols / 256) * 176;
        const layer = q5k(512, 256) + 2 * q5k(128, 256) + q5k(256, 512) + 2 * q5k(768, 256) + q5k(256, 768);
        const vectors = 256 * 4 + 4 * (256 + 256 + 64 + 64) * 4 + 32 * 4;
        assert.equal(model.info.weightBytes, q5k(512, 256) + 512 * 210 + 4 * layer + vectors);
        const ours = await runProtocol(model, fixture, fixture.greedy["transformers-f32"]);
        // Between Q6_K (about 1.1 from f32 here) and Q4_K (about 3.6): a broken Q5_K lands far away.
        const diff = maxAbsDiff(ours.vectors, referenceVectors(fixture, "transformers-f32"));
        assert.ok(diff < 3, `ISQ q5_k: ${diff} from transformers-f32`);
      } finally {
        await model.unload();
      }
    } finally {
      plugin.close();
    }
  });
}
