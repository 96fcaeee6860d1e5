// RoPE variants and Qwen3's sliding window against transformers (references committed under
// neuron/testdata/reference, made by tools/fixtures/make_engine4_models.py): llama3 scaling (hub
// `rope_scaling` spelling), YaRN with its attention factor, linear scaling (5.x `rope_parameters`
// spelling) and a sliding window of 8 on the second layer, with prompts longer than the original
// context / the window, on every CPU kernel path (or CUDA with CORTEX_TEST_DEVICE=cuda). Also: 8
// concurrent sequences of mixed lengths equal each alone, and TP=2 equals TP=1 bit for bit.
import assert from "node:assert/strict";
import { GREEDY, type Model, Plugin } from "./mod.ts";
import {
  assertGreedyIds,
  cpuIsasToTest,
  greedyRun,
  loadReference,
  maxAbsDiff,
  MODELS_DIR,
  type ParityTarget,
  parityTargets,
  promptLogits,
} from "./_test_helpers.ts";
import {
  fixtureModel,
  ggufFixturesAvailable,
  PROMPTS,
  referenceVectors,
  runProtocol,
} from "./_gguf_fixtures.ts";

/** The issue's acceptance bound for f32 weights (transformers' own cached-vs-uncached spread is 6e-5). */
const F32_TOLERANCE = { cpu: 3e-4, cuda: 5e-4 };

const FIXTURES = [
  "tiny-llama31-f32",
  "tiny-qwen3-yarn-f32",
  "tiny-qwen3-linear-rope-f32",
  "tiny-qwen3-swa-f32",
];

async function checkAgainstTransformers(target: ParityTarget, name: string): Promise<void> {
  const reference = loadReference(name);
  const plugin = target.open();
  const tolerance = target.tolerance(F32_TOLERANCE.cpu, F32_TOLERANCE.cuda);
  try {
    const model = await plugin.loadModel(`${MODELS_DIR}/${name}`, { devices: [target.device(plugin)] });
    try {
      const longest = Math.max(...reference.prompts.map((prompt) => prompt.ids.length));
      assert.ok(
        longest >= 100,
        `${name}: the longest prompt (${longest}) must pass the window / original context`,
      );
      for (const prompt of reference.prompts) {
        const diff = maxAbsDiff(await promptLogits(model, prompt.ids), reference.read(prompt.logits));
        assert.ok(
          diff <= tolerance,
          `${name} ${prompt.name}: prompt logits differ by ${diff} > ${tolerance}`,
        );
        if (!prompt.greedy) continue;
        assert.equal(prompt.greedy.new_tokens, 64);
        const decoded = await greedyRun(model, prompt.ids, prompt.greedy.new_tokens);
        const vocab = reference.vocab_size;
        const label = `${name} ${prompt.name}`;
        const agreed = assertGreedyIds(target, decoded, prompt.greedy.ids, vocab, 2 * tolerance, label);
        const stepDiff = maxAbsDiff(
          decoded.logits.subarray(0, agreed * vocab),
          reference.read(prompt.greedy.logits).subarray(0, agreed * vocab),
        );
        assert.ok(stepDiff <= tolerance, `${label}: greedy-step logits differ by ${stepDiff} > ${tolerance}`);
      }
    } finally {
      await model.unload();
    }
  } finally {
    plugin.close();
  }
}

for (const target of parityTargets()) {
  for (const name of FIXTURES) {
    Deno.test(`${name} [${target.label}]: prompt logits and 64 greedy steps match transformers f32`, async () => {
      await checkAgainstTransformers(target, name);
    });
  }
}

/** Mixed-length prompts: shorter and longer than the window (8) and the original context (64). */
function mixedPrompts(): number[][] {
  const lengths = [1, 5, 9, 17, 40, 70, 100, 130];
  return lengths.map((length, p) => Array.from({ length }, (_, i) => (i * 37 + p * 101 + 11) % 1000));
}

/** Prefill every prompt together, then `steps` greedy steps all together; every step's logits. */
async function runBatched(model: Model, prompts: number[][], steps: number): Promise<Float32Array[][]> {
  const sequences = [];
  for (const _ of prompts) sequences.push(await model.newSequence());
  const out: Float32Array[][] = prompts.map(() => []);
  let feeds = prompts;
  for (let s = 0; s <= steps; s++) {
    const results = await model.step(
      sequences.map((sequence, i) => ({ sequence, tokens: feeds[i], sampling: GREEDY, wantLogits: true })),
    );
    results.forEach((result, i) => out[i].push(result.logits!));
    feeds = results.map((result) => [result.token!]);
  }
  for (const sequence of sequences) await sequence.free();
  return out;
}

for (const name of ["tiny-qwen3-swa-f32", "tiny-qwen3-yarn-f32", "tiny-llama31-f32"]) {
  Deno.test(`${name}: 8 concurrent sequences of mixed lengths equal each alone`, async () => {
    const plugin = Plugin.open();
    try {
      const model = await plugin.loadModel(`${MODELS_DIR}/${name}`, { contextLength: 160, maxSequences: 8 });
      try {
        const prompts = mixedPrompts();
        const together = await runBatched(model, prompts, 12);
        for (let p = 0; p < prompts.length; p++) {
          const [alone] = await runBatched(model, [prompts[p]], 12);
          alone.forEach((logits, s) => {
            const diff = maxAbsDiff(together[p][s], logits);
            assert.ok(diff <= 1e-5, `${name} prompt ${p} (length ${prompts[p].length}) step ${s}: ${diff}`);
          });
        }
      } finally {
        await model.unload();
      }
    } finally {
      plugin.close();
    }
  });

  Deno.test(`${name}: TP=2 over CPU devices equals one device bit for bit`, async () => {
    for (const cpuIsa of cpuIsasToTest()) {
      const plugin = Plugin.open({ cpuDevices: 2, cpuThreadsPerDevice: 1, cpuIsa });
      try {
        const cpus = plugin.devices().filter((device) => device.backend === "cpu").map((device) =>
          device.index
        );
        const prompts = mixedPrompts().slice(2, 7);
        const single = await plugin.loadModel(`${MODELS_DIR}/${name}`, {
          contextLength: 128,
          devices: [cpus[0]],
        });
        const expected = await runBatched(single, prompts, 6);
        await single.unload();
        const sharded = await plugin.loadModel(`${MODELS_DIR}/${name}`, {
          contextLength: 128,
          devices: cpus,
        });
        const actual = await runBatched(sharded, prompts, 6);
        await sharded.unload();
        expected.forEach((steps, p) =>
          steps.forEach((logits, s) => {
            assert.equal(maxAbsDiff(actual[p][s], logits), 0, `${name} TP=2 ${cpuIsa} prompt ${p} step ${s}`);
          })
        );
      } finally {
        plugin.close();
      }
    }
  });
}

// ../shared/fixtures/gguf/llama31-tiny/hf: the safetensors Llama 3.1 (llama3 scaling, 5.x
// `rope_parameters` spelling, original context 8192 of 131072) the GGUF files were converted from,
// teacher-forced through the fixture's protocol with transformers' own greedy ids.
if (ggufFixturesAvailable()) {
  const llama31 = fixtureModel("llama31-tiny");
  for (const target of parityTargets()) {
    Deno.test(`llama31-tiny/hf [${target.label}]: the safetensors Llama 3.1 matches transformers-f32`, async () => {
      const plugin = target.open();
      try {
        const model = await plugin.loadModel(`${llama31.dir}/hf`, { devices: [target.device(plugin)] });
        try {
          assert.equal(model.info.architecture, "LlamaForCausalLM");
          const forced = llama31.greedy["transformers-f32"];
          const ours = await runProtocol(model, llama31, forced);
          const diff = maxAbsDiff(ours.vectors, referenceVectors(llama31, "transformers-f32"));
          const tolerance = target.tolerance(F32_TOLERANCE.cpu, F32_TOLERANCE.cuda);
          assert.ok(diff <= tolerance, `llama31-tiny/hf: ${diff} from transformers-f32 > ${tolerance}`);
          for (const p of PROMPTS) {
            assert.deepEqual(ours.top1[p], forced[p], `llama31-tiny/hf ${p}: greedy ids`);
          }
        } finally {
          await model.unload();
        }
      } finally {
        plugin.close();
      }
    });
  }
}
