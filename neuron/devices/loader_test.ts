// Loader and kernels on synthetic models: sharded files, f16 weights, and a model wide enough that
// matmuls run on the device's thread pool.
import assert from "node:assert/strict";
import { GREEDY, Plugin } from "./mod.ts";
import { cosine, logitsOf, maxAbsDiff, withTempDir } from "./_test_helpers.ts";
import {
  encodeSafetensors,
  SMALL_QWEN3,
  type SyntheticShape,
  syntheticTensors,
  writeSyntheticModel,
} from "./_safetensors_writer.ts";

const WIDE: SyntheticShape = {
  ...SMALL_QWEN3,
  architecture: "LlamaForCausalLM",
  hidden: 256,
  intermediate: 512,
  heads: 8,
  kvHeads: 4,
  headDim: 32,
  vocab: 512,
};
const PROMPT = [1, 5, 9, 17, 33, 65, 80, 7];

Deno.test("a sharded checkpoint (model.safetensors.index.json) loads the same weights as one file", async () => {
  await withTempDir(async (dir) => {
    await writeSyntheticModel(`${dir}/single`, SMALL_QWEN3);
    const tensors = syntheticTensors(SMALL_QWEN3);
    const half = Math.ceil(tensors.length / 2);
    const shards = [tensors.slice(0, half), tensors.slice(half)];
    await Deno.mkdir(`${dir}/sharded`);
    await Deno.copyFile(`${dir}/single/config.json`, `${dir}/sharded/config.json`);
    const weightMap: Record<string, string> = {};
    for (const [i, shard] of shards.entries()) {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      await Deno.writeFile(`${dir}/sharded/${file}`, encodeSafetensors(shard));
      for (const tensor of shard) weightMap[tensor.name] = file;
    }
    await Deno.writeTextFile(
      `${dir}/sharded/model.safetensors.index.json`,
      JSON.stringify({ metadata: {}, weight_map: weightMap }),
    );

    const plugin = Plugin.open();
    try {
      const single = await plugin.loadModel(`${dir}/single`, { contextLength: 32 });
      const sharded = await plugin.loadModel(`${dir}/sharded`, { contextLength: 32 });
      assert.equal(sharded.info.weightBytes, single.info.weightBytes);
      assert.deepEqual(sharded.info.eosTokenIds, [2, 3]);
      assert.equal(maxAbsDiff(await logitsOf(sharded, PROMPT), await logitsOf(single, PROMPT)), 0);
    } finally {
      plugin.close();
    }
  });
});

Deno.test("f16 and bf16 weights compute close to the same weights in f32", async () => {
  await withTempDir(async (dir) => {
    const plugin = Plugin.open();
    try {
      await writeSyntheticModel(`${dir}/f32`, SMALL_QWEN3);
      const reference = await logitsOf(await plugin.loadModel(`${dir}/f32`, { contextLength: 32 }), PROMPT);
      for (const dtype of ["F16", "BF16"] as const) {
        await writeSyntheticModel(`${dir}/${dtype}`, { ...SMALL_QWEN3, dtype });
        const model = await plugin.loadModel(`${dir}/${dtype}`, { contextLength: 32 });
        assert.equal(model.info.dtype, dtype.toLowerCase());
        const ours = await logitsOf(model, PROMPT);
        for (let r = 0; r < PROMPT.length; r++) {
          const similarity = cosine(
            ours.subarray(r * 96, (r + 1) * 96),
            reference.subarray(r * 96, (r + 1) * 96),
          );
          assert.ok(
            similarity > (dtype === "F16" ? 0.9999 : 0.999),
            `${dtype} row ${r}: cosine ${similarity}`,
          );
        }
      }
    } finally {
      plugin.close();
    }
  });
});

Deno.test("multi-threaded matmuls give the same logits as one thread, batched or not", async () => {
  await withTempDir(async (dir) => {
    await writeSyntheticModel(`${dir}/wide`, WIDE);
    const one = Plugin.open({ cpuThreadsPerDevice: 1 });
    const two = Plugin.open({ cpuThreadsPerDevice: 2 });
    try {
      assert.equal(two.devices()[0].threads, 2);
      const serial = await one.loadModel(`${dir}/wide`, { contextLength: 64 });
      const parallel = await two.loadModel(`${dir}/wide`, { contextLength: 64 });
      const expected = await logitsOf(serial, PROMPT);
      assert.equal(maxAbsDiff(await logitsOf(parallel, PROMPT), expected), 0);

      // Decode 4 sequences together on the pool; each equals its single-threaded run alone.
      const prompts = [PROMPT, PROMPT.slice(0, 3), PROMPT.slice(2), [4]];
      const sequences = await Promise.all(prompts.map(() => parallel.newSequence()));
      const batched = await parallel.step(
        prompts.map((tokens, i) => ({ sequence: sequences[i], tokens, sampling: GREEDY, wantLogits: true })),
      );
      for (const [i, tokens] of prompts.entries()) {
        const alone = await logitsOf(serial, tokens);
        const last = alone.subarray((tokens.length - 1) * WIDE.vocab);
        assert.ok(maxAbsDiff(batched[i].logits!, last) <= 1e-5, `sequence ${i}`);
      }
    } finally {
      one.close();
      two.close();
    }
  });
});

Deno.test("weights and KV caches are accounted against the device budget and released on unload", async () => {
  await withTempDir(async (dir) => {
    await writeSyntheticModel(`${dir}/small`, SMALL_QWEN3);
    const plugin = Plugin.open({ cpuMemoryBudgetBytes: 64 * 2 ** 20 });
    try {
      const model = await plugin.loadModel(`${dir}/small`, { contextLength: 128, maxSequences: 4 });
      assert.equal(model.info.kvCacheBytes, 2 * 4 * 128 * (2 * 16) * 2 * 4);
      const used = model.info.weightBytes + model.info.kvCacheBytes;
      assert.equal(plugin.devices()[0].memoryFreeBytes, 64 * 2 ** 20 - used);
      assert.deepEqual(await plugin.queryMemory(0), {
        totalBytes: 64 * 2 ** 20,
        freeBytes: 64 * 2 ** 20 - used,
      });
      await model.unload();
      assert.equal(plugin.devices()[0].memoryFreeBytes, 64 * 2 ** 20);
    } finally {
      plugin.close();
    }
  });
});
