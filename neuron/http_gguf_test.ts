// HTTP-level tests of serving GGUF files (these need the engine's GGUF loader): a neuron serving
// qwen3-tiny's Q8_0 and F32 GGUF files by path, with no tokenizer.json beside them, loads them
// through /models/load, answers chat and text completions with the tokenizer and chat template
// from the file's metadata, and reports the weight type and bytes in /models; a models_dir
// folder of several GGUFs loads the one quant names; a GGUF-only hub repo loads its Q8_0 file.
import assert from "node:assert/strict";
import { ggufFixturesAvailable, ggufFixturesRealPath } from "./devices/_gguf_fixtures.ts";
import { NeuronModelListSchema } from "@cortex/core/fleet";
import { startHubTestDouble } from "./testing/hub_test_double.ts";
import { modelEntry, postForJson } from "./testing/http.ts";
import { spawnNeuron } from "./testing/spawn_neuron.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const FIXTURES = ggufFixturesRealPath();
const haveFixtures = ggufFixturesAvailable();
const QWEN = `${FIXTURES}qwen3-tiny`;

interface _Choice {
  text?: string;
  message?: { content: string | null };
  finish_reason: string;
}

async function load(url: string, body: Record<string, unknown>): Promise<void> {
  const answer = await postForJson(`${url}/models/load`, body);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
}

async function answers(url: string, model: string): Promise<void> {
  const chat = await postForJson<{ choices: _Choice[]; usage: { completion_tokens: number } }>(
    `${url}/v1/chat/completions`,
    { model, messages: [{ role: "user", content: "Hello there" }], max_tokens: 4, temperature: 0 },
  );
  assert.equal(chat.status, 200, JSON.stringify(chat.body));
  assert.equal(chat.body.usage.completion_tokens, 4);
  const text = await postForJson<{ choices: _Choice[]; usage: { prompt_tokens: number } }>(
    `${url}/v1/completions`,
    { model, prompt: "Once upon a time", max_tokens: 4, temperature: 0 },
  );
  assert.equal(text.status, 200, JSON.stringify(text.body));
  assert.equal(typeof text.body.choices[0].text, "string");
  assert.ok(text.body.usage.prompt_tokens > 1);
}

Deno.test({
  name:
    "gguf over HTTP: Q8_0 and F32 files by path load, answer chat and completions, report weight type and bytes",
  ignore: !haveFixtures,
  ...opts,
  fn: async () => {
    const neuron = await spawnNeuron({
      models: { q8: `${QWEN}/qwen3-tiny-q8_0.gguf`, f32: `${QWEN}/qwen3-tiny-f32.gguf` },
      defaultModels: [],
    });
    try {
      for (const [id, type] of [["q8", "Q8_0"], ["f32", "F32"]]) {
        await load(neuron.url, { model_id: id });
        await answers(neuron.url, id);
        const models = NeuronModelListSchema.parse(await (await fetch(`${neuron.url}/models`)).json());
        const entry = models.find((m) => m.id === id)!;
        assert.equal(entry.status, "loaded");
        assert.equal(entry.architecture, "Qwen3ForCausalLM");
        assert.equal(entry.weight_type, type);
        assert.ok((entry.weight_bytes ?? 0) > 0);
        assert.equal(entry.tool_call, true, "the GGUF's tokenizer knows <tool_call>");
        // The background repack of the weights, done by now or under way.
        assert.equal(entry.repack?.failed, false);
        assert.ok(entry.repack.pending_bytes >= 0 && entry.repack.pending_bytes <= entry.weight_bytes!);
        assert.ok(
          entry.repack.pending_bytes > 0 || (entry.repack.ready_seconds ?? -1) >= 0,
          JSON.stringify(entry.repack),
        );
      }
      const q8 = (await modelEntry(neuron.url, "q8"))!;
      const f32 = (await modelEntry(neuron.url, "f32"))!;
      assert.ok(q8.weight_bytes! * 3 < f32.weight_bytes!, "Q8_0 weights stay quantized in memory");
    } finally {
      await neuron.stop();
    }
  },
});

Deno.test({
  name: "gguf over HTTP: a models_dir folder of GGUFs loads the file quant names; a hub GGUF repo its Q8_0",
  ignore: !haveFixtures,
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "neuron-models-dir-" });
    const cacheDir = await Deno.makeTempDir({ prefix: "neuron-hub-gguf-" });
    await Deno.symlink(QWEN, `${dir}/qwen3-tiny`);
    const hub = await startHubTestDouble({
      repos: {
        "org/qwen3-tiny-GGUF": {
          files: {
            "qwen3-tiny-Q4_K_M.gguf": await Deno.readFile(`${QWEN}/qwen3-tiny-q4_k_m.gguf`),
            "qwen3-tiny-Q8_0.gguf": await Deno.readFile(`${QWEN}/qwen3-tiny-q8_0.gguf`),
          },
        },
      },
    });
    const neuron = await spawnNeuron({
      modelsDir: dir,
      allowRead: [FIXTURES],
      hub: { endpoint: hub.url, cache_dir: cacheDir },
      defaultModels: [],
    });
    try {
      await load(neuron.url, { model_id: "qwen3-tiny", quant: "q6k" });
      assert.equal((await modelEntry(neuron.url, "qwen3-tiny"))?.weight_type, "Q6_K");
      await answers(neuron.url, "qwen3-tiny");
      await load(neuron.url, { model_id: "org/qwen3-tiny-GGUF", quant: "q8_0" });
      assert.equal((await modelEntry(neuron.url, "org/qwen3-tiny-GGUF"))?.weight_type, "Q8_0");
      await answers(neuron.url, "org/qwen3-tiny-GGUF");
    } finally {
      await neuron.stop();
      await hub.close();
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(cacheDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "gguf over HTTP: ISQ q8_0 of the HF folder loads with quantized weight bytes",
  ignore: !haveFixtures,
  ...opts,
  fn: async () => {
    const neuron = await spawnNeuron({
      models: { isq: { path: `${QWEN}/hf`, quant: "q8_0" }, plain: `${QWEN}/hf` },
      defaultModels: [],
    });
    try {
      await load(neuron.url, { model_id: "isq" });
      await load(neuron.url, { model_id: "plain" });
      await answers(neuron.url, "isq");
      const isq = (await modelEntry(neuron.url, "isq"))!;
      const plain = (await modelEntry(neuron.url, "plain"))!;
      assert.equal(isq.weight_type, "Q8_0");
      assert.equal(plain.weight_type, "F32");
      assert.ok(isq.weight_bytes! * 3 < plain.weight_bytes!, `${isq.weight_bytes} vs ${plain.weight_bytes}`);
    } finally {
      await neuron.stop();
    }
  },
});
