// Numerical parity with transformers (references committed under neuron/testdata/reference).
import assert from "node:assert/strict";
import { GREEDY, type Model, Plugin } from "./mod.ts";
import {
  argmax,
  cosine,
  cpuIsasToTest,
  loadReference,
  maxAbsDiff,
  MODELS_DIR,
  type Reference,
  row,
  STORIES_DIR,
  storiesAvailable,
} from "./_test_helpers.ts";

/** Prompt logits through one prefill step that returns every position's logits. */
async function promptLogits(model: Model, ids: number[]): Promise<Float32Array> {
  const sequence = await model.newSequence();
  try {
    const [result] = await model.step([{ sequence, tokens: ids, allLogits: true }]);
    assert.equal(sequence.position, ids.length);
    return result.logits!;
  } finally {
    await sequence.free();
  }
}

/** Greedy decode of `count` tokens after the prompt; returns ids and each step's logits. */
async function greedy(
  model: Model,
  ids: number[],
  count: number,
): Promise<{ ids: number[]; logits: Float32Array }> {
  const vocab = model.info.vocabSize;
  const sequence = await model.newSequence();
  const out: number[] = [];
  const logits = new Float32Array(count * vocab);
  try {
    let feed = ids;
    for (let s = 0; s < count; s++) {
      const [result] = await model.step([{ sequence, tokens: feed, sampling: GREEDY, wantLogits: true }]);
      logits.set(result.logits!, s * vocab);
      out.push(result.token!);
      feed = [result.token!];
    }
    return { ids: out, logits };
  } finally {
    await sequence.free();
  }
}

async function checkF32(plugin: Plugin, folder: string, reference: Reference): Promise<void> {
  const model = await plugin.loadModel(folder);
  try {
    for (const prompt of reference.prompts) {
      const ours = await promptLogits(model, prompt.ids);
      const diff = maxAbsDiff(ours, reference.read(prompt.logits));
      assert.ok(diff <= 1e-4, `${reference.model} ${prompt.name}: max abs diff ${diff} > 1e-4`);
      if (!prompt.greedy) continue;
      const decoded = await greedy(model, prompt.ids, prompt.greedy.new_tokens);
      assert.deepEqual(
        decoded.ids,
        prompt.greedy.ids,
        `${reference.model} ${prompt.name}: greedy ids differ`,
      );
      const stepDiff = maxAbsDiff(decoded.logits, reference.read(prompt.greedy.logits));
      assert.ok(
        stepDiff <= 1e-4,
        `${reference.model} ${prompt.name}: greedy-step logits diff ${stepDiff} > 1e-4`,
      );
    }
  } finally {
    await model.unload();
  }
}

async function checkBf16(plugin: Plugin, folder: string, reference: Reference): Promise<void> {
  const model = await plugin.loadModel(folder);
  assert.equal(model.info.dtype, "bf16");
  const vocab = reference.vocab_size;
  try {
    for (const prompt of reference.prompts) {
      const ours = await promptLogits(model, prompt.ids);
      const theirs = reference.read(prompt.logits);
      for (let r = 0; r < prompt.ids.length; r++) {
        const similarity = cosine(row(ours, r, vocab), row(theirs, r, vocab));
        assert.ok(
          similarity > 0.999,
          `${reference.model} ${prompt.name} position ${r}: cosine ${similarity}`,
        );
      }
      if (!prompt.greedy) continue;
      const decoded = await greedy(model, prompt.ids, prompt.greedy.new_tokens);
      assert.deepEqual(
        decoded.ids,
        prompt.greedy.ids,
        `${reference.model} ${prompt.name}: greedy ids differ`,
      );
    }
  } finally {
    await model.unload();
  }
}

// Every kernel path the CPU has (AVX-512, AVX2, scalar) must pass the same parity checks.
for (const cpuIsa of cpuIsasToTest()) {
  Deno.test(`stories260K [${cpuIsa}]: prompt logits within 1e-4 and 200 greedy tokens identical to transformers`, async () => {
    if (!storiesAvailable()) return;
    const plugin = Plugin.open({ cpuIsa });
    try {
      assert.equal(plugin.devices()[0].cpuIsa, cpuIsa);
      const reference = loadReference("stories260K");
      assert.equal(reference.prompts.find((p) => p.name === "prompt_1")?.greedy?.new_tokens, 200);
      await checkF32(plugin, STORIES_DIR, reference);
    } finally {
      plugin.close();
    }
  });

  for (const name of ["tiny-qwen3-f32", "tiny-qwen3-f32-untied"]) {
    Deno.test(`${name} [${cpuIsa}]: logits within 1e-4 of transformers, greedy ids identical`, async () => {
      const plugin = Plugin.open({ cpuIsa });
      try {
        await checkF32(plugin, `${MODELS_DIR}/${name}`, loadReference(name));
      } finally {
        plugin.close();
      }
    });
  }

  for (const name of ["tiny-qwen3-bf16", "tiny-qwen3-bf16-untied"]) {
    Deno.test(`${name} [${cpuIsa}]: cosine > 0.999 per position, greedy ids identical`, async () => {
      const plugin = Plugin.open({ cpuIsa });
      try {
        await checkBf16(plugin, `${MODELS_DIR}/${name}`, loadReference(name));
      } finally {
        plugin.close();
      }
    });
  }
}

Deno.test("tiny Qwen3 model info comes from config.json", async () => {
  const plugin = Plugin.open();
  try {
    const model = await plugin.loadModel(`${MODELS_DIR}/tiny-qwen3-bf16-untied`, {
      contextLength: 64,
      maxSequences: 2,
    });
    assert.equal(model.info.architecture, "Qwen3ForCausalLM");
    assert.equal(model.info.vocabSize, 1024);
    assert.equal(model.info.contextLength, 64);
    assert.equal(model.info.maxSequences, 2);
    assert.equal(model.info.bosTokenId, 1015);
    assert.deepEqual(model.info.eosTokenIds, [1017]);
    assert.deepEqual(model.info.devices, [0]);
    // kv: 2 layers × 2 slots × 64 positions × (2 kv heads × 32) × K and V × 4 bytes
    assert.equal(model.info.kvCacheBytes, 2 * 2 * 64 * 64 * 2 * 4);
    assert.ok(model.info.weightBytes > 0);
    const logits = argmax((await promptLogits(model, [789])).subarray(0, 1024));
    assert.ok(logits >= 0 && logits < 1024);
    await model.unload();
  } finally {
    plugin.close();
  }
});
