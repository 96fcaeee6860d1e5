// The HTTP acceptance test of GGUF serving: one neuron serving each qwen3-tiny GGUF file by
// path (no tokenizer.json beside it: the tokenizer comes from the file's metadata) and ISQ q8_0 of
// the HF folder answers /v1/completions with the fixture's token-id prompts, temperature 0, 32
// tokens and `logprobs: 5`. For every file the text equals the engine's own greedy output through FFI
// in this process, decoded by the same GGUF tokenizer, and the returned log-probabilities equal the
// log-softmax of the engine's own logits; for the F32 file the text also equals the decoded
// llama.cpp greedy ids; streamed answers add up to the whole ones; ISQ q8_0 answers byte for byte
// what the Q8_0 GGUF answers.
import assert from "node:assert/strict";
import { type Completion, type CompletionLogprobs, CompletionSchema } from "@cortex/core/openai";
import { type Model, Plugin } from "./devices/mod.ts";
import {
  fixtureModel,
  ggufFixturesAvailable,
  ggufFixturesRealPath,
  PROMPTS,
} from "./devices/_gguf_fixtures.ts";
import type { ModelTokenizer } from "./engine/tokenizer.ts";
import { readModelAssets } from "./runtime/loaded_model.ts";
import { readGgufHeader } from "./sources/gguf/mod.ts";
import { engineGreedy, type GreedyRun, joinLegacy, topIds } from "./testing/engine_greedy.ts";
import { postForJson, postJson } from "./testing/http.ts";
import { readSse, sseJson } from "./testing/sse_client.ts";
import { killOnUnload, spawnNeuron } from "./testing/spawn_neuron.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const haveFixtures = ggufFixturesAvailable();
const STEPS = 32;
const TOP = 5;
const CONTEXT = 512;
/** |HTTP log-probability − log-softmax of the engine's logits| allowed (float32 logits, JSON numbers). */
const TOLERANCE = 1e-5;

/** Model id → GGUF file name, for every GGUF of the fixture. */
const FILES: Record<string, string> = {};
if (haveFixtures) {
  for (const file of Object.keys(fixtureModel("qwen3-tiny").ggufs)) FILES[file.replace(/\.gguf$/, "")] = file;
}

Deno.test({
  name: "gguf acceptance over HTTP: every file's greedy completion and top-5 logprobs are the engine's own",
  ignore: !haveFixtures,
  ...opts,
  fn: async () => {
    const fixture = fixtureModel("qwen3-tiny");
    const dir = `${ggufFixturesRealPath()}${fixture.name}`;
    for (const file of Object.values(FILES)) {
      assert.ok(file.endsWith(".gguf"));
      assert.ok((await Deno.stat(`${dir}/${file}`)).isFile);
    }
    const beside = await Deno.stat(`${dir}/tokenizer.json`).then(() => true, () => false);
    assert.equal(beside, false, "no tokenizer.json beside the GGUF files: the tokenizer is the file's own");
    assert.ok(Object.keys(FILES).length >= 6, Object.keys(FILES).join(", "));

    const models: Record<
      string,
      { path: string; context_length: number; max_sequences: number; quant?: string }
    > = {};
    for (const [id, file] of Object.entries(FILES)) {
      models[id] = { path: `${dir}/${file}`, context_length: CONTEXT, max_sequences: 1 };
    }
    models.isq = { path: `${dir}/hf`, quant: "q8_0", context_length: CONTEXT, max_sequences: 1 };
    const neuron = await spawnNeuron({ models });
    killOnUnload(neuron);
    const plugin = Plugin.open();
    try {
      const answers: Record<string, Record<string, Completion>> = {};
      for (const [id, file] of Object.entries(FILES)) {
        const path = `${dir}/${file}`;
        const { tokenizer } = await readModelAssets(path, await readGgufHeader(path));
        const model = await plugin.loadModel(path, { contextLength: CONTEXT });
        answers[id] = {};
        for (const p of PROMPTS) {
          const prompt = fixture.prompts[p];
          const body = { model: id, prompt, temperature: 0, max_tokens: STEPS, logprobs: TOP };
          const answer = await complete(neuron.url, body);
          answers[id][p] = answer;
          const engine = await engineGreedy(model, prompt, STEPS, stopIds(model, tokenizer));
          const where = `${file} ${p}`;
          const text = answer.choices[0].text;
          assert.equal(text, tokenizer.decode(engine.ids), `${where}: the engine's greedy text`);
          assert.equal(answer.usage!.completion_tokens, engine.ids.length, where);
          checkLogprobs(answer.choices[0].logprobs!, engine, tokenizer, prompt, where);
          if (fixture.ggufs[file] === "F32") {
            const llama = fixture.greedy["llamacpp-f32"][p];
            const stops = stopIds(model, tokenizer);
            const end = llama.findIndex((id) => stops.has(id));
            const decoded = tokenizer.decode(end < 0 ? llama : llama.slice(0, end));
            assert.equal(text, decoded, `${where}: the decoded llama.cpp greedy ids`);
          }
          const chunks = await stream(neuron.url, body);
          assert.equal(chunks.map((c) => c.choices[0]?.text ?? "").join(""), text, `${where}: streamed text`);
          assert.deepEqual(joinLegacy(chunks), answer.choices[0].logprobs, `${where}: streamed logprobs`);
        }
        await model.unload();
      }

      const q8 = Object.keys(FILES).find((id) => fixture.ggufs[FILES[id]] === "Q8_0")!;
      const f32 = Object.keys(FILES).find((id) => fixture.ggufs[FILES[id]] === "F32")!;
      assert.ok(
        PROMPTS.some((p) => answers[q8][p].choices[0].text !== answers[f32][p].choices[0].text),
        "Q8_0 answers differ from F32 somewhere, so ISQ's sameness says something",
      );
      for (const p of PROMPTS) {
        const body = { prompt: fixture.prompts[p], temperature: 0, max_tokens: STEPS, logprobs: TOP };
        const isq = await complete(neuron.url, { model: "isq", ...body });
        assert.deepEqual(isq.choices, answers[q8][p].choices, `ISQ q8_0 ${p}: the Q8_0 GGUF's answer`);
        assert.deepEqual(isq.usage, answers[q8][p].usage, `ISQ q8_0 ${p}`);
        const chunks = await stream(neuron.url, { model: "isq", ...body });
        assert.deepEqual(joinLegacy(chunks), answers[q8][p].choices[0].logprobs, `ISQ q8_0 ${p} streamed`);
      }
    } finally {
      plugin.close();
      await neuron.stop();
    }
  },
});

/** The ids that end a generation, as the neuron gathers them for a GGUF (its own eos and the tokenizer's). */
function stopIds(model: Model, tokenizer: ModelTokenizer): Set<number> {
  const stops = new Set(model.info.eosTokenIds);
  const eos = tokenizer.eosToken === null ? null : tokenizer.tokenId(tokenizer.eosToken);
  if (eos !== null) stops.add(eos);
  return stops;
}

/** Each token's log-probability and its top 5 equal the engine's log-softmax at that step. */
function checkLogprobs(
  lp: CompletionLogprobs,
  engine: GreedyRun,
  tokenizer: ModelTokenizer,
  prompt: readonly number[],
  where: string,
): void {
  const tokenText = (id: number): string => tokenizer.decode([id], { skipSpecialTokens: false });
  const stream = tokenizer.decodeStream(prompt.slice(-4));
  // A special token's entry is its own text (the output text skips it).
  const pieces = engine.ids.map((id) =>
    [stream.push(id), tokenText(id)][tokenizer.specialIds.has(id) ? 1 : 0]
  );
  assert.deepEqual(lp.tokens, pieces, `${where}: one piece per token`);
  engine.ids.forEach((id, i) => {
    const reference = engine.logprobs[i];
    const at = `${where} step ${i}`;
    assert.ok(Math.abs(lp.token_logprobs[i] - reference[id]) < TOLERANCE, `${at}: ${lp.token_logprobs[i]}`);
    const expected: Record<string, number> = {};
    for (const top of topIds(reference, TOP)) expected[tokenText(top)] ??= reference[top];
    assert.deepEqual(
      Object.keys(lp.top_logprobs[i]).sort(),
      Object.keys(expected).sort(),
      `${at}: top-5 set`,
    );
    for (const [text, value] of Object.entries(expected)) {
      const got = lp.top_logprobs[i][text];
      assert.ok(Math.abs(got - value) < TOLERANCE, `${at} ${JSON.stringify(text)}: ${got} vs ${value}`);
    }
  });
}

async function complete(url: string, body: Record<string, unknown>): Promise<Completion> {
  const { status, body: json } = await postForJson<Completion>(`${url}/v1/completions`, body);
  assert.equal(status, 200, JSON.stringify(json));
  return CompletionSchema.parse(json);
}

async function stream(url: string, body: Record<string, unknown>): Promise<Completion[]> {
  const response = await postJson(`${url}/v1/completions`, { ...body, stream: true });
  assert.equal(response.status, 200);
  return sseJson<Completion>(await readSse(response)).map((c) => CompletionSchema.parse(c));
}
