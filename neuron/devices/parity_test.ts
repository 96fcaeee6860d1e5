// Numerical parity with transformers (references committed under neuron/testdata/reference), on
// every CPU kernel path, or on a CUDA device with CORTEX_TEST_DEVICE=cuda (`deno task test:cuda`).
import assert from "node:assert/strict";
import type { Plugin } from "./mod.ts";
import {
  argmax,
  assertGreedyIds,
  cosine,
  greedyRun,
  loadReference,
  maxAbsDiff,
  MODELS_DIR,
  type ParityTarget,
  parityTargets,
  promptLogits,
  type Reference,
  row,
  STORIES_DIR,
  storiesAvailable,
} from "./_test_helpers.ts";

// f32 logits against transformers: 1e-4 on the CPU (same summation shapes as the reference, f32
// throughout); 5e-4 on a GPU, whose cuBLAS/warp reductions add in other orders (and whose expf,
// cosf, sinf are within 2 ulp). Greedy ids on a GPU may part at a near-tie of at most the tolerance.
const F32_LOGITS_TOLERANCE = { cpu: 1e-4, cuda: 5e-4 };

async function checkF32(
  target: ParityTarget,
  plugin: Plugin,
  folder: string,
  reference: Reference,
): Promise<void> {
  const model = await plugin.loadModel(folder, { devices: [target.device(plugin)] });
  const tolerance = target.tolerance(F32_LOGITS_TOLERANCE.cpu, F32_LOGITS_TOLERANCE.cuda);
  const vocab = reference.vocab_size;
  try {
    for (const prompt of reference.prompts) {
      const ours = await promptLogits(model, prompt.ids);
      const diff = maxAbsDiff(ours, reference.read(prompt.logits));
      assert.ok(diff <= tolerance, `${reference.model} ${prompt.name}: max abs diff ${diff} > ${tolerance}`);
      if (!prompt.greedy) continue;
      const decoded = await greedyRun(model, prompt.ids, prompt.greedy.new_tokens);
      const referenceLogits = reference.read(prompt.greedy.logits);
      const agreed = assertGreedyIds(
        target,
        decoded,
        prompt.greedy.ids,
        vocab,
        2 * tolerance,
        `${reference.model} ${prompt.name}`,
      );
      const stepDiff = maxAbsDiff(
        decoded.logits.subarray(0, agreed * vocab),
        referenceLogits.subarray(0, agreed * vocab),
      );
      assert.ok(
        stepDiff <= tolerance,
        `${reference.model} ${prompt.name}: greedy-step logits diff ${stepDiff} > ${tolerance}`,
      );
    }
  } finally {
    await model.unload();
  }
}

async function checkBf16(
  target: ParityTarget,
  plugin: Plugin,
  folder: string,
  reference: Reference,
): Promise<void> {
  const model = await plugin.loadModel(folder, { devices: [target.device(plugin)] });
  assert.equal(model.info.dtype, "bf16");
  const vocab = reference.vocab_size;
  try {
    for (const prompt of reference.prompts) {
      const ours = await promptLogits(model, prompt.ids);
      const theirs = reference.read(prompt.logits);
      for (let r = 0; r < prompt.ids.length; r++) {
        const similarity = cosine(row(ours, r, vocab), row(theirs, r, vocab));
        assert.ok(
          similarity >= 0.9999,
          `${reference.model} ${prompt.name} position ${r}: cosine ${similarity}`,
        );
      }
      if (!prompt.greedy) continue;
      // On a GPU a flip is accepted only where our own two best logits are within the f32 GPU margin.
      const decoded = await greedyRun(model, prompt.ids, prompt.greedy.new_tokens);
      assertGreedyIds(
        target,
        decoded,
        prompt.greedy.ids,
        vocab,
        2 * F32_LOGITS_TOLERANCE.cuda,
        `${reference.model} ${prompt.name}`,
      );
    }
  } finally {
    await model.unload();
  }
}

// Every kernel path the CPU has (AVX-512, AVX2, scalar), or the CUDA device, must pass the same checks.
const targets = parityTargets();
for (const target of targets) {
  Deno.test(`stories260K [${target.label}]: prompt logits within tolerance and 200 greedy tokens identical to transformers`, async () => {
    if (!storiesAvailable()) return;
    const plugin = target.open();
    try {
      const reference = loadReference("stories260K");
      assert.equal(reference.prompts.find((p) => p.name === "prompt_1")?.greedy?.new_tokens, 200);
      await checkF32(target, plugin, STORIES_DIR, reference);
    } finally {
      plugin.close();
    }
  });

  for (const name of ["tiny-qwen3-f32", "tiny-qwen3-f32-untied"]) {
    Deno.test(`${name} [${target.label}]: logits within tolerance of transformers, greedy ids identical`, async () => {
      const plugin = target.open();
      try {
        await checkF32(target, plugin, `${MODELS_DIR}/${name}`, loadReference(name));
      } finally {
        plugin.close();
      }
    });
  }

  for (const name of ["tiny-qwen3-bf16", "tiny-qwen3-bf16-untied"]) {
    Deno.test(`${name} [${target.label}]: cosine >= 0.9999 per position, greedy ids identical`, async () => {
      const plugin = target.open();
      try {
        await checkBf16(target, plugin, `${MODELS_DIR}/${name}`, loadReference(name));
      } finally {
        plugin.close();
      }
    });
  }
}

Deno.test(`tiny Qwen3 model info comes from config.json [${targets[0].label}]`, async () => {
  const plugin = targets[0].open();
  try {
    const device = targets[0].device(plugin);
    const model = await plugin.loadModel(`${MODELS_DIR}/tiny-qwen3-bf16-untied`, {
      contextLength: 64,
      maxSequences: 2,
      devices: [device],
    });
    assert.equal(model.info.architecture, "Qwen3ForCausalLM");
    assert.equal(model.info.vocabSize, 1024);
    assert.equal(model.info.contextLength, 64);
    assert.equal(model.info.maxSequences, 2);
    assert.equal(model.info.bosTokenId, 1015);
    assert.deepEqual(model.info.eosTokenIds, [1017]);
    assert.deepEqual(model.info.devices, [device]);
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
