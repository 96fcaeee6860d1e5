import assert from "node:assert/strict";
import { CortexError } from "@cortex/core/errors";
import { readGenerationConfig, resolveSampling, SAMPLING_DEFAULTS } from "./sampling.ts";

const fixedSeed = (): number => 42;

Deno.test("sampling: the request wins over generation_config.json, which wins over defaults", () => {
  const model = { temperature: 0.6, top_k: 20, top_p: 0.95 };
  const params = resolveSampling({ temperature: 0.1, seed: 3 }, model, fixedSeed);
  assert.equal(params.temperature, 0.1);
  assert.equal(params.topK, 20);
  assert.equal(params.topP, 0.95);
  assert.equal(params.minP, SAMPLING_DEFAULTS.minP);
  assert.equal(params.seed, 3);
  assert.equal(resolveSampling({}, {}, fixedSeed).temperature, SAMPLING_DEFAULTS.temperature);
});

Deno.test("sampling: explicit null in the request means unset", () => {
  const params = resolveSampling({ temperature: null, top_p: null }, { temperature: 0.6 }, fixedSeed);
  assert.equal(params.temperature, 0.6);
  assert.equal(params.topP, 1);
});

Deno.test("sampling: do_sample false makes greedy the default", () => {
  assert.equal(resolveSampling({}, { do_sample: false, temperature: 0.9 }, fixedSeed).temperature, 0);
  assert.equal(resolveSampling({ temperature: 0.5 }, { do_sample: false }, fixedSeed).temperature, 0.5);
});

Deno.test("sampling: seeds map into [0, 2^53) and a missing seed is drawn", () => {
  assert.equal(resolveSampling({ seed: -1 }, {}, fixedSeed).seed, 2 ** 53 - 1);
  assert.equal(resolveSampling({}, {}, fixedSeed).seed, 42);
  const drawn = resolveSampling({}, {}).seed;
  assert.ok(Number.isInteger(drawn) && drawn >= 0 && drawn < 2 ** 53);
});

Deno.test("sampling: out-of-range values are 400s naming the field", () => {
  const cases: [Record<string, number>, string][] = [
    [{ temperature: -1 }, "temperature"],
    [{ top_p: 0 }, "top_p"],
    [{ top_p: 1.5 }, "top_p"],
    [{ min_p: 2 }, "min_p"],
    [{ top_k: 1.5 }, "top_k"],
    [{ presence_penalty: 3 }, "presence_penalty"],
    [{ frequency_penalty: -3 }, "frequency_penalty"],
    [{ repetition_penalty: 0 }, "repetition_penalty"],
  ];
  for (const [request, field] of cases) {
    assert.throws(() => resolveSampling(request, {}, fixedSeed), (error: unknown) => {
      assert.ok(error instanceof CortexError);
      assert.equal(error.status, 400);
      assert.equal(error.param, field);
      assert.match(error.message, new RegExp(`^${field}: expected`));
      return true;
    });
  }
});

Deno.test("sampling: generation_config.json of the tiny Qwen3 fixture is read", async () => {
  const folder = new URL("../testdata/models/tiny-qwen3-f32", import.meta.url).pathname;
  const config = await readGenerationConfig(folder);
  assert.equal(config.temperature, 0.6);
  assert.equal(config.top_k, 20);
  assert.equal(config.top_p, 0.95);
  assert.deepEqual(config.eos_token_id, [1017, 1015]);
  assert.deepEqual(await readGenerationConfig("/nonexistent-folder"), {});
});
