// Native log-probabilities and logit bias (cx_submit_step_ex): the values are the log-softmax of the
// engine's own logits (after the bias), the bias steers greedy and random sampling, and batched
// entries with different biases stay independent.
import assert from "node:assert/strict";
import { GREEDY, type Model, Plugin, type SamplingParams, type StepEntry } from "./mod.ts";
import { argmax, logSoftmax, MODELS_DIR, topIds, withModel as withFolder } from "./_test_helpers.ts";

const FOLDER = `${MODELS_DIR}/tiny-qwen3-f32`;
const PROMPT = [400, 952, 986, 86, 565, 443, 358];
const withModel = (body: (model: Model) => Promise<void>): Promise<void> => withFolder(FOLDER, 128, body);

/** Runs `steps` decode steps of one sequence with `entry` options; returns each step's result. */
async function decode(model: Model, options: Partial<StepEntry>, steps: number) {
  const sequence = await model.newSequence();
  const results = [];
  let feed = PROMPT;
  for (let i = 0; i < steps; i++) {
    const [result] = await model.step([{
      sequence,
      tokens: feed,
      sampling: GREEDY,
      wantLogits: true,
      ...options,
    }]);
    results.push(result);
    feed = [result.token!];
  }
  await sequence.free();
  return results;
}

Deno.test("logprobs equal the log-softmax of the step's own logits, top-N in descending order", async () => {
  await withModel(async (model) => {
    for (const result of await decode(model, { topLogprobs: 5 }, 8)) {
      const reference = logSoftmax(result.logits!);
      const lp = result.logprobs!;
      assert.equal(lp.token, result.token);
      assert.ok(Math.abs(lp.logprob - reference[lp.token]) < 1e-5, `${lp.logprob} vs ${reference[lp.token]}`);
      assert.deepEqual(lp.top.map((t) => t.token), topIds(reference, 5));
      for (const t of lp.top) assert.ok(Math.abs(t.logprob - reference[t.token]) < 1e-5);
      assert.equal(lp.top[0].token, argmax(result.logits!), "greedy picks the most likely token");
      assert.ok(lp.logprob <= 0);
    }
  });
});

Deno.test("topLogprobs 0 returns only the sampled token's log-probability; none asked gives null", async () => {
  await withModel(async (model) => {
    const [withZero] = await decode(model, { topLogprobs: 0 }, 1);
    assert.deepEqual(withZero.logprobs!.top, []);
    assert.ok(Number.isFinite(withZero.logprobs!.logprob));
    const [without] = await decode(model, {}, 1);
    assert.equal(without.logprobs, null);
  });
});

Deno.test("logprobs at temperature 1 describe the model's distribution, not the tempered one", async () => {
  await withModel(async (model) => {
    const sampling: SamplingParams = { ...GREEDY, temperature: 1.7, topK: 3, seed: 9 };
    for (const result of await decode(model, { sampling, topLogprobs: 3 }, 6)) {
      const reference = logSoftmax(result.logits!);
      assert.ok(Math.abs(result.logprobs!.logprob - reference[result.token!]) < 1e-5);
      assert.ok(topIds(reference, 3).includes(result.token!), "top-k 3 keeps the sample among the top 3");
    }
  });
});

Deno.test("logit bias: -100 on the greedy token changes it, +100 forces a token, logprobs see the bias", async () => {
  await withModel(async (model) => {
    const [plain] = await decode(model, { topLogprobs: 2 }, 1);
    const greedy = plain.token!;
    const ban = new Map([[greedy, -100]]);
    const [banned] = await decode(model, { logitBias: ban, topLogprobs: 2 }, 1);
    assert.notEqual(banned.token, greedy);
    assert.equal(banned.token, topIds(logSoftmax(plain.logits!), 2)[1], "the runner-up wins");
    assert.deepEqual(banned.logits, plain.logits, "returned logits stay unbiased");
    const biasedReference = logSoftmax(banned.logits!, ban);
    assert.ok(Math.abs(banned.logprobs!.logprob - biasedReference[banned.token!]) < 1e-5);

    const forced = 7;
    const force = new Map([[forced, 100]]);
    const forcedRun = await decode(model, { logitBias: force }, 4);
    assert.deepEqual(forcedRun.map((r) => r.token), [forced, forced, forced, forced]);
    const randomRun = await decode(model, {
      logitBias: force,
      sampling: { ...GREEDY, temperature: 1, seed: 3 },
    }, 4);
    assert.deepEqual(randomRun.map((r) => r.token), [forced, forced, forced, forced]);
  });
});

Deno.test("batched entries with different biases and logprob counts stay independent", async () => {
  await withModel(async (model) => {
    const alone = await decode(model, { topLogprobs: 3 }, 4);
    const biasedAlone = await decode(
      model,
      { topLogprobs: 1, logitBias: new Map([[alone[0].token!, -100]]) },
      4,
    );
    const a = await model.newSequence();
    const b = await model.newSequence();
    const c = await model.newSequence();
    let feedA = PROMPT, feedB = PROMPT, feedC = PROMPT;
    for (let i = 0; i < 4; i++) {
      const [ra, rb, rc] = await model.step([
        { sequence: a, tokens: feedA, sampling: GREEDY, topLogprobs: 3 },
        { sequence: b, tokens: feedB, sampling: GREEDY },
        {
          sequence: c,
          tokens: feedC,
          sampling: GREEDY,
          topLogprobs: 1,
          logitBias: new Map([[alone[0].token!, -100]]),
        },
      ]);
      assert.equal(ra.token, alone[i].token);
      assert.equal(rb.token, alone[i].token);
      assert.equal(rc.token, biasedAlone[i].token);
      assert.equal(rb.logprobs, null);
      assert.deepEqual(ra.logprobs!.top.map((t) => t.token), alone[i].logprobs!.top.map((t) => t.token));
      assert.ok(Math.abs(ra.logprobs!.logprob - alone[i].logprobs!.logprob) < 1e-4);
      assert.equal(rc.logprobs!.top.length, 1);
      assert.ok(Math.abs(rc.logprobs!.logprob - biasedAlone[i].logprobs!.logprob) < 1e-4);
      feedA = [ra.token!];
      feedB = [rb.token!];
      feedC = [rc.token!];
    }
  });
});

Deno.test("bad logprob counts and biases fail the step, naming the problem", async () => {
  await withModel(async (model) => {
    const sequence = await model.newSequence();
    const vocab = model.info.vocabSize;
    await assert.rejects(
      model.step([{ sequence, tokens: PROMPT, sampling: GREEDY, topLogprobs: 21 }]),
      /top log-probabilities must be in \[0, 20\], got 21/,
    );
    await assert.rejects(
      model.step([{ sequence, tokens: PROMPT, sampling: GREEDY, logitBias: new Map([[vocab, 1]]) }]),
      new RegExp(`logit bias token id ${vocab} is outside the vocabulary`),
    );
    await assert.rejects(
      model.step([{ sequence, tokens: PROMPT, sampling: GREEDY, logitBias: new Map([[3, 101]]) }]),
      /logit bias of token 3 must be a number in \[-100, 100\]/,
    );
    await assert.rejects(
      model.step([{ sequence, tokens: PROMPT, topLogprobs: 2 }]),
      /logitBias and topLogprobs need sampling/,
    );
    assert.equal(sequence.position, 0, "a refused step leaves the sequence untouched");
    await sequence.free();
  });
});

Deno.test("a tensor-parallel model returns the same biased tokens and logprobs as one device", async () => {
  const plugin = Plugin.open({ cpuDevices: 2, cpuThreadsPerDevice: 1 });
  try {
    const single = await plugin.loadModel(FOLDER, { contextLength: 64, devices: [0] });
    const sharded = await plugin.loadModel(FOLDER, { contextLength: 64, devices: [0, 1] });
    const options = { topLogprobs: 4, logitBias: new Map([[516, -100], [87, -5]]) };
    const one = await decode(single, options, 5);
    const two = await decode(sharded, options, 5);
    assert.deepEqual(two.map((r) => r.token), one.map((r) => r.token));
    two.forEach((result, i) => {
      assert.deepEqual(result.logprobs!.top.map((t) => t.token), one[i].logprobs!.top.map((t) => t.token));
      assert.ok(Math.abs(result.logprobs!.logprob - one[i].logprobs!.logprob) < 1e-3);
    });
  } finally {
    plugin.close();
  }
});
