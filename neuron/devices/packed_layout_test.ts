// The CPU backend's packed weight layout (4-row groups, 16-column blocks) on shapes where it is not a
// plain copy: a down_proj whose k-chunks start inside a 16-column block (gathered loads on the
// 16-lane paths, aligned loads on AVX2's 8 lanes) and matrices whose row count leaves a plain tail.
import assert from "node:assert/strict";
import { Plugin } from "./mod.ts";
import { cpuIsasToTest, greedyIds, logitsOf, maxAbsDiff, withTempDir } from "./_test_helpers.ts";
import { SMALL_QWEN3, type SyntheticShape, writeSyntheticModel } from "./_safetensors_writer.ts";

/** SMALL_QWEN3 in bf16, tied, with a vocab of 98. Heads 6 and intermediate 80 → down_proj is summed in
 * 2 chunks of 40 columns (40 % 16 ≠ 0); q_proj has 6 · 16 = 96 rows, k/v 2 · 16 = 32, and the vocab
 * 98 % 4 = 2 leaves a plain tail of 2 rows. */
const ODD: SyntheticShape = { ...SMALL_QWEN3, vocab: 98, dtype: "BF16", tied: true };
const PROMPT = [1, 5, 9, 17, 33, 65, 80, 7, 97, 96];

Deno.test("packed weights with unaligned k-chunks and a plain row tail give one result on every kernel path", async () => {
  await withTempDir(async (dir) => {
    await writeSyntheticModel(dir, ODD);
    const runs = [];
    for (const cpuIsa of cpuIsasToTest()) {
      const plugin = Plugin.open({ cpuIsa });
      try {
        const model = await plugin.loadModel(dir, { contextLength: 32 });
        const logits = await logitsOf(model, PROMPT);
        const tokens = await greedyIds(model, PROMPT, 8);
        runs.push({ cpuIsa, logits, tokens });
      } finally {
        plugin.close();
      }
    }
    const [reference, ...others] = runs.reverse(); // the scalar path first
    assert.equal(reference.logits.length, PROMPT.length * ODD.vocab);
    assert.ok(reference.logits.some((value) => Math.abs(value) > 0.1), "logits are not all near zero");
    for (const run of others) {
      // Kernel paths differ only in f32 rounding (lane counts); a misplaced weight would differ by ~1.
      const diff = maxAbsDiff(run.logits, reference.logits);
      assert.ok(diff < 1e-4, `${run.cpuIsa} vs scalar: logits differ by ${diff}`);
      assert.deepEqual(run.tokens, reference.tokens, `${run.cpuIsa} vs scalar: greedy tokens`);
    }
  });
});
