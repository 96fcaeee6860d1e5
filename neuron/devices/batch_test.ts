// Continuous batching: one forward over several sequences gives each the logits it would get alone.
import assert from "node:assert/strict";
import { GREEDY, type Model, Plugin, type Sequence } from "./mod.ts";
import { cpuIsasToTest, maxAbsDiff, MODELS_DIR, STORIES_DIR, storiesAvailable } from "./_test_helpers.ts";

const PROMPTS = [
  [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298],
  [1, 449, 502],
  [1, 103, 241, 491, 249, 24, 356],
  [1],
];
const DECODE_STEPS = 6;

/** Prefill then greedy decode one sequence on its own; returns the logits of every step. */
async function alone(model: Model, prompt: number[]): Promise<Float32Array[]> {
  const sequence = await model.newSequence();
  const logits: Float32Array[] = [];
  let feed = prompt;
  for (let s = 0; s <= DECODE_STEPS; s++) {
    const [result] = await model.step([{ sequence, tokens: feed, sampling: GREEDY, wantLogits: true }]);
    logits.push(result.logits!);
    feed = [result.token!];
  }
  await sequence.free();
  return logits;
}

/** The same work for all prompts at once: one batched prefill, then batched decode steps. */
async function together(model: Model, prompts: number[][]): Promise<Float32Array[][]> {
  const sequences: Sequence[] = [];
  for (const _ of prompts) sequences.push(await model.newSequence());
  const logits: Float32Array[][] = prompts.map(() => []);
  let feeds = prompts;
  for (let s = 0; s <= DECODE_STEPS; s++) {
    const results = await model.step(
      sequences.map((sequence, i) => ({ sequence, tokens: feeds[i], sampling: GREEDY, wantLogits: true })),
    );
    results.forEach((result, i) => logits[i].push(result.logits!));
    feeds = results.map((result) => [result.token!]);
  }
  sequences.forEach((sequence, i) => assert.equal(sequence.position, prompts[i].length + DECODE_STEPS));
  for (const sequence of sequences) await sequence.free();
  return logits;
}

async function checkBatchedEqualsAlone(folder: string, prompts: number[][]): Promise<void> {
  const plugin = Plugin.open({ cpuThreadsPerDevice: 2 });
  try {
    const model = await plugin.loadModel(folder, { contextLength: 64 });
    const expected = [];
    for (const prompt of prompts) expected.push(await alone(model, prompt));
    const batched = await together(model, prompts);
    for (let i = 0; i < prompts.length; i++) {
      for (let s = 0; s <= DECODE_STEPS; s++) {
        const diff = maxAbsDiff(batched[i][s], expected[i][s]);
        assert.ok(diff <= 1e-5, `sequence ${i} step ${s}: batched differs from alone by ${diff}`);
      }
    }
    await model.unload();
  } finally {
    plugin.close();
  }
}

Deno.test("batched decode of 4 sequences with different prompt lengths equals each alone (stories260K)", async () => {
  if (!storiesAvailable()) return;
  await checkBatchedEqualsAlone(STORIES_DIR, PROMPTS);
});

Deno.test("batched decode of 4 sequences equals each alone (tiny Qwen3 bf16)", async () => {
  const prompts = PROMPTS.map((prompt) => prompt.map((token) => (token * 7) % 1024));
  await checkBatchedEqualsAlone(`${MODELS_DIR}/tiny-qwen3-bf16`, prompts);
});

Deno.test("a step may mix a prefill chunk with decode tokens of other sequences", async () => {
  const plugin = Plugin.open();
  try {
    const model = await plugin.loadModel(`${MODELS_DIR}/tiny-qwen3-f32`, { contextLength: 64 });
    const reference = await alone(model, [5, 6, 7, 8, 9]);
    const a = await model.newSequence();
    const b = await model.newSequence();
    // a prefills in two chunks; b's prompt goes in while a is decoding.
    await model.step([{ sequence: a, tokens: [5, 6, 7] }]);
    const [first] = await model.step([{ sequence: a, tokens: [8, 9], sampling: GREEDY, wantLogits: true }]);
    assert.ok(maxAbsDiff(first.logits!, reference[0]) <= 1e-5);
    const [second, other] = await model.step([
      { sequence: a, tokens: [first.token!], sampling: GREEDY, wantLogits: true },
      { sequence: b, tokens: [5, 6, 7, 8, 9], wantLogits: true },
    ]);
    assert.equal(second.logits!.length, 1024);
    assert.ok(maxAbsDiff(second.logits!, reference[1]) <= 1e-5);
    assert.ok(maxAbsDiff(other.logits!, reference[0]) <= 1e-5, "b's prefill inside a mixed step");
    assert.equal(other.token, null);
    assert.equal(a.position, 6);
    assert.equal(b.position, 5);
    await model.unload();
  } finally {
    plugin.close();
  }
});

Deno.test("a freed slot is reused by a new sequence that starts from position 0", async () => {
  const plugin = Plugin.open();
  try {
    const model = await plugin.loadModel(`${MODELS_DIR}/tiny-qwen3-f32`, {
      contextLength: 32,
      maxSequences: 1,
    });
    const first = await model.newSequence();
    const [before] = await model.step([{ sequence: first, tokens: [3, 4, 5], wantLogits: true }]);
    await first.free();
    const second = await model.newSequence();
    assert.equal(second.position, 0);
    const [after] = await model.step([{ sequence: second, tokens: [3, 4, 5], wantLogits: true }]);
    assert.equal(maxAbsDiff(before.logits!, after.logits!), 0);
    await model.unload();
  } finally {
    plugin.close();
  }
});

// A 100-token prefill runs the blocked GEMM (48-row batch tiles, 32-row weight tiles); one token at a
// time runs the small-batch split. Each output is one dot product in a fixed order, so the two agree.
for (const cpuIsa of cpuIsasToTest()) {
  Deno.test(`[${cpuIsa}] a 100-token prefill (blocked GEMM) equals feeding the tokens one by one`, async () => {
    const plugin = Plugin.open({ cpuIsa, cpuThreadsPerDevice: 2 });
    try {
      for (const name of ["tiny-qwen3-f32", "tiny-qwen3-bf16"]) {
        const model = await plugin.loadModel(`${MODELS_DIR}/${name}`, { contextLength: 128 });
        const vocab = model.info.vocabSize;
        const prompt = Array.from({ length: 100 }, (_, i) => (i * 37 + 11) % vocab);
        const prefilled = await model.newSequence();
        const [all] = await model.step([{ sequence: prefilled, tokens: prompt, allLogits: true }]);
        const stepped = await model.newSequence();
        for (let t = 0; t < prompt.length; t++) {
          const [one] = await model.step([{ sequence: stepped, tokens: [prompt[t]], wantLogits: true }]);
          const diff = maxAbsDiff(one.logits!, all.logits!.subarray(t * vocab, (t + 1) * vocab));
          assert.ok(diff <= 1e-5, `${name} position ${t}: prefill and step-by-step differ by ${diff}`);
        }
        await model.unload();
      }
    } finally {
      plugin.close();
    }
  });
}
