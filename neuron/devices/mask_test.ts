// Token masks (StepEntry.mask): exact whatever the sampling settings, applied natively with the
// logit bias, and refused when they would leave nothing to sample.
import assert from "node:assert/strict";
import { GREEDY, type Model, type SamplingParams, type StepEntry, type TokenMask } from "./mod.ts";
import { argmax, MODELS_DIR, pluginError, withModel as withFolder } from "./_test_helpers.ts";

const FOLDER = `${MODELS_DIR}/tiny-qwen3-f32`;
const PROMPT = [400, 952, 986, 86, 565, 443, 358];
const VOCAB = 1024;
const withModel = (body: (model: Model) => Promise<void>): Promise<void> => withFolder(FOLDER, 128, body);

// Sampling settings from plain greedy to hot and truncated, with penalties that push logits around.
const SETTINGS: SamplingParams[] = [
  GREEDY,
  { ...GREEDY, temperature: 1, seed: 1 },
  { ...GREEDY, temperature: 5, seed: 2 },
  { ...GREEDY, temperature: 2, topK: 40, seed: 3 },
  { ...GREEDY, temperature: 2, topP: 0.5, seed: 4 },
  { ...GREEDY, temperature: 1.5, minP: 0.1, seed: 5 },
  { ...GREEDY, temperature: 1, repetitionPenalty: 1.5, presencePenalty: 2, frequencyPenalty: 1, seed: 6 },
];

async function sampleRun(model: Model, sampling: SamplingParams, mask: TokenMask, steps: number) {
  const sequence = await model.newSequence();
  const tokens: number[] = [];
  let feed = PROMPT;
  try {
    for (let i = 0; i < steps; i++) {
      const [result] = await model.step([{ sequence, tokens: feed, sampling, mask, topLogprobs: 3 }]);
      tokens.push(result.token!);
      feed = [result.token!];
    }
  } finally {
    await sequence.free();
  }
  return tokens;
}

Deno.test("an allow mask: every sampled token is allowed, under every sampling setting", async () => {
  await withModel(async (model) => {
    const allow = Int32Array.from([7, 300, 512, 1000]);
    for (const sampling of SETTINGS) {
      for (const token of await sampleRun(model, sampling, { allow }, 24)) {
        assert.ok(allow.includes(token), `${JSON.stringify(sampling)} sampled ${token}`);
      }
    }
  });
});

Deno.test("a deny mask: no denied token is ever sampled; greedy skips a denied argmax", async () => {
  await withModel(async (model) => {
    const sequence = await model.newSequence();
    const [free] = await model.step([{ sequence, tokens: PROMPT, sampling: GREEDY, wantLogits: true }]);
    await sequence.free();
    const best = argmax(free.logits!);
    const deny = Int32Array.from({ length: 900 }, (_, i) => i);
    if (!deny.includes(best)) deny[0] = best;
    const greedy = await sampleRun(model, GREEDY, { deny: Int32Array.from([best]) }, 1);
    assert.notEqual(greedy[0], best);
    for (const sampling of SETTINGS) {
      for (const token of await sampleRun(model, sampling, { deny }, 24)) {
        assert.ok(!deny.includes(token), `${JSON.stringify(sampling)} sampled ${token}`);
      }
    }
  });
});

Deno.test("a mask keeps the logit bias of allowed tokens; forbidden ones have -Infinity log-probabilities", async () => {
  await withModel(async (model) => {
    const sequence = await model.newSequence();
    const entry: StepEntry = {
      sequence,
      tokens: PROMPT,
      sampling: GREEDY,
      mask: { allow: Int32Array.from([10, 20]) },
      logitBias: new Map([[20, 100], [30, 100]]),
      topLogprobs: 4,
    };
    const [result] = await model.step([entry]);
    await sequence.free();
    assert.equal(result.token, 20, "the +100 bias of an allowed token wins");
    const top = result.logprobs!.top;
    assert.deepEqual(top.slice(0, 2).map((t) => t.token), [20, 10]);
    assert.ok(Number.isFinite(top[1].logprob));
    assert.equal(top[2].logprob, -Infinity, "token 30 is biased but not allowed");
    assert.equal(top[3].logprob, -Infinity);
  });
});

Deno.test("masks that leave nothing to sample, or come without sampling, are refused", async () => {
  await withModel(async (model) => {
    const sequence = await model.newSequence();
    const everything = Int32Array.from({ length: VOCAB }, (_, i) => i);
    await assert.rejects(
      model.step([{ sequence, tokens: PROMPT, sampling: GREEDY, mask: { deny: everything } }]),
      pluginError("invalid_argument", /every token of the vocabulary is forbidden/),
    );
    await assert.rejects(
      model.step([{ sequence, tokens: PROMPT, sampling: GREEDY, mask: { allow: new Int32Array(0) } }]),
      pluginError("invalid_argument", /must allow at least one token/),
    );
    await assert.rejects(
      model.step([{ sequence, tokens: PROMPT, mask: { allow: Int32Array.from([1]) } }]),
      pluginError("invalid_argument", /it needs sampling/),
    );
    assert.equal(sequence.position, 0, "refused steps feed nothing");
    // Denying all but one token is fine: that token is sampled.
    const [result] = await model.step([
      {
        sequence,
        tokens: PROMPT,
        sampling: { ...GREEDY, temperature: 3, seed: 9 },
        mask: { deny: everything.subarray(1) },
      },
    ]);
    assert.equal(result.token, 0);
    await sequence.free();
  });
});
