// Native sampling: seeded, per-sequence, with top-k / top-p / min-p truncation and penalties.
import assert from "node:assert/strict";
import { GREEDY, type Model, type SamplingParams } from "./mod.ts";
import { argmax, MODELS_DIR, withModel as withFolder } from "./_test_helpers.ts";

const FOLDER = `${MODELS_DIR}/tiny-qwen3-f32`;
const PROMPT = [400, 952, 986, 86, 565, 443, 358];
const withModel = (body: (model: Model) => Promise<void>): Promise<void> => withFolder(FOLDER, 128, body);
const RANDOM: SamplingParams = { ...GREEDY, temperature: 1, seed: 42 };

/** Generates `count` tokens; returns them with the raw logits each was drawn from. */
async function generate(model: Model, sampling: SamplingParams, count: number) {
  const sequence = await model.newSequence();
  const tokens: number[] = [];
  const logits: Float32Array[] = [];
  let feed = PROMPT;
  for (let i = 0; i < count; i++) {
    const [result] = await model.step([{ sequence, tokens: feed, sampling, wantLogits: true }]);
    tokens.push(result.token!);
    logits.push(result.logits!);
    feed = [result.token!];
  }
  await sequence.free();
  return { tokens, logits };
}

function descendingOrder(values: Float32Array): number[] {
  return Array.from(values.keys()).sort((a, b) => values[b] - values[a] || a - b);
}

Deno.test("the same seed gives the same tokens; another seed gives others", async () => {
  await withModel(async (model) => {
    const first = await generate(model, RANDOM, 24);
    const again = await generate(model, RANDOM, 24);
    const other = await generate(model, { ...RANDOM, seed: 43 }, 24);
    assert.deepEqual(again.tokens, first.tokens);
    assert.notDeepEqual(other.tokens, first.tokens);
    const greedy = await generate(model, GREEDY, 24);
    assert.notDeepEqual(first.tokens, greedy.tokens, "temperature 1 sampling is not greedy");
  });
});

Deno.test("each sequence has its own RNG: batching does not change what it samples", async () => {
  await withModel(async (model) => {
    const alone = await generate(model, RANDOM, 12);
    const a = await model.newSequence();
    const b = await model.newSequence();
    const tokens: number[] = [];
    let feedA = PROMPT;
    let feedB = [3, 4, 5];
    for (let i = 0; i < 12; i++) {
      const [ra, rb] = await model.step([
        { sequence: a, tokens: feedA, sampling: RANDOM },
        { sequence: b, tokens: feedB, sampling: { ...RANDOM, seed: 7 } },
      ]);
      tokens.push(ra.token!);
      feedA = [ra.token!];
      feedB = [rb.token!];
    }
    assert.deepEqual(tokens, alone.tokens);
  });
});

Deno.test("top-k 1 and min-p 1 reduce sampling to greedy", async () => {
  await withModel(async (model) => {
    const greedy = await generate(model, GREEDY, 16);
    assert.deepEqual((await generate(model, { ...RANDOM, topK: 1 }, 16)).tokens, greedy.tokens);
    assert.deepEqual((await generate(model, { ...RANDOM, minP: 1 }, 16)).tokens, greedy.tokens);
    for (const [i, logits] of greedy.logits.entries()) assert.equal(greedy.tokens[i], argmax(logits));
  });
});

Deno.test("top-k and top-p keep every draw inside the allowed head of the distribution", async () => {
  await withModel(async (model) => {
    const topK = await generate(model, { ...RANDOM, temperature: 2, topK: 5 }, 40);
    topK.tokens.forEach((token, i) => assert.ok(descendingOrder(topK.logits[i]).slice(0, 5).includes(token)));

    const topP = await generate(model, { ...RANDOM, temperature: 1.5, topP: 0.6, seed: 9 }, 40);
    topP.tokens.forEach((token, i) => {
      const logits = topP.logits[i];
      const order = descendingOrder(logits);
      const weights = order.map((id) => Math.exp((logits[id] - logits[order[0]]) / 1.5));
      const total = weights.reduce((sum, w) => sum + w, 0);
      let mass = 0;
      const nucleus: number[] = [];
      for (const [rank, id] of order.entries()) {
        nucleus.push(id);
        mass += weights[rank] / total;
        if (mass >= 0.6 - 1e-6) break;
      }
      assert.ok(nucleus.includes(token), `step ${i}: token ${token} outside the 0.6 nucleus ${nucleus}`);
    });
    assert.ok(new Set(topP.tokens).size > 1, "top-p 0.6 at temperature 1.5 still samples");
  });
});

Deno.test("frequency and repetition penalties steer greedy decoding away from repeats", async () => {
  await withModel(async (model) => {
    const plain = await generate(model, GREEDY, 30);
    assert.ok(new Set(plain.tokens).size < 30, "the plain greedy run repeats itself (precondition)");

    const frequency = await generate(model, { ...GREEDY, frequencyPenalty: 1000 }, 30);
    assert.equal(new Set(frequency.tokens).size, 30, `frequency penalty: ${frequency.tokens}`);

    const presence = await generate(model, { ...GREEDY, presencePenalty: 1000 }, 30);
    assert.equal(new Set(presence.tokens).size, 30, `presence penalty: ${presence.tokens}`);

    // The repetition penalty also covers the prompt.
    const repetition = await generate(model, { ...GREEDY, repetitionPenalty: 1e6 }, 20);
    const seen = new Set(PROMPT);
    for (const token of repetition.tokens) {
      assert.ok(!seen.has(token), `repetition penalty: ${token} was already in the sequence`);
      seen.add(token);
    }
  });
});
