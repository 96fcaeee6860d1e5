// HTTP-level: the RoPE variants and Qwen3's sliding window load with /models/load and answer chat
// with usage, and a refused variant answers 422 in the error envelope naming its config key.
import assert from "node:assert/strict";
import { OpenAIErrorBodySchema } from "@cortex/core/errors";
import { postForJson } from "./testing/http.ts";
import { killOnUnload, spawnNeuron } from "./testing/spawn_neuron.ts";

const testdata = new URL("./testdata/models", import.meta.url).pathname;
const scratch = await Deno.makeTempDir({ prefix: "neuron-rope-" });

/** A copy of tiny-qwen3-f32 whose config.json has `edit` applied. */
async function variant(name: string, edit: (config: Record<string, unknown>) => void): Promise<string> {
  const dir = `${scratch}/${name}`;
  await Deno.mkdir(dir);
  const from = `${testdata}/tiny-qwen3-f32`;
  for await (const entry of Deno.readDir(from)) {
    await Deno.copyFile(`${from}/${entry.name}`, `${dir}/${entry.name}`);
  }
  const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  edit(config);
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
  return dir;
}

const refused: { id: string; mention: RegExp }[] = [
  { id: "dynamic", mention: /'rope_scaling\.rope_type' is 'dynamic'/ },
  { id: "longrope", mention: /'rope_scaling\.rope_type' is 'longrope'/ },
  { id: "unknown-key", mention: /'rope_parameters\.beta_fast' is not supported with rope type 'linear'/ },
  { id: "partial", mention: /'partial_rotary_factor'/ },
];
const folders: Record<string, string> = {
  dynamic: await variant("dynamic", (c) => c.rope_scaling = { type: "dynamic", factor: 2.0 }),
  longrope: await variant("longrope", (c) => c.rope_scaling = { rope_type: "longrope", short_factor: [1] }),
  "unknown-key": await variant("unknown-key", (c) => {
    c.rope_parameters = { rope_type: "linear", factor: 2, rope_theta: 1e6, beta_fast: 32 };
  }),
  partial: await variant("partial", (c) => c.partial_rotary_factor = 0.5),
};
const nanFolder = await variant("nan", () => {});
{
  // model.norm.weight all NaN: every logit is NaN.
  const path = `${nanFolder}/model.safetensors`;
  const bytes = await Deno.readFile(path);
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  const [start, end] = header["model.norm.weight"].data_offsets as [number, number];
  new Float32Array(bytes.buffer, 8 + headerLength + start, (end - start) / 4).fill(NaN);
  await Deno.writeFile(path, bytes);
}

const neuron = await spawnNeuron({
  models: {
    llama31: `${testdata}/tiny-llama31-f32`,
    yarn: `${testdata}/tiny-qwen3-yarn-f32`,
    linear: `${testdata}/tiny-qwen3-linear-rope-f32`,
    swa: `${testdata}/tiny-qwen3-swa-f32`,
    ...folders,
    nan: nanFolder,
  },
  defaultModels: [],
  allowRead: [scratch],
});
killOnUnload(neuron);
addEventListener("unload", () => Deno.removeSync(scratch, { recursive: true }));
const opts = { sanitizeResources: false, sanitizeOps: false };
const load = (body: unknown) => postForJson(`${neuron.url}/models/load`, body);

Deno.test({
  name: "http: llama3, yarn, linear and sliding-window models load and answer chat with usage",
  ...opts,
  fn: async () => {
    for (const id of ["llama31", "yarn", "linear", "swa"]) {
      const loaded = await load({ model_id: id });
      assert.equal(loaded.status, 200, `${id}: ${JSON.stringify(loaded.body)}`);
      const chat = await postForJson<{ usage: { prompt_tokens: number; completion_tokens: number } }>(
        `${neuron.url}/v1/chat/completions`,
        {
          model: id,
          messages: [{ role: "user", content: "a prompt longer than the window of eight" }],
          max_tokens: 4,
        },
      );
      assert.equal(chat.status, 200, `${id}: ${JSON.stringify(chat.body)}`);
      assert.ok(chat.body.usage.prompt_tokens > 8, `${id}: the prompt passes the sliding window`);
      assert.ok(chat.body.usage.completion_tokens >= 1);
      assert.equal((await postForJson(`${neuron.url}/models/unload`, { model_id: id })).status, 200);
    }
  },
});

Deno.test({
  name: "http: refused RoPE variants answer 422 unsupported_architecture naming the config key",
  ...opts,
  fn: async () => {
    for (const { id, mention } of refused) {
      const { status, body } = await load({ model_id: id });
      assert.equal(status, 422, `${id}: ${JSON.stringify(body)}`);
      const envelope = OpenAIErrorBodySchema.parse(body);
      assert.equal(envelope.error.code, "unsupported_architecture", id);
      assert.match(envelope.error.message, mention);
    }
  },
});

Deno.test({
  name: "http: NaN logits answer 500 in the envelope naming them, streaming or not (never an empty 200)",
  ...opts,
  fn: async () => {
    assert.equal((await load({ model_id: "nan" })).status, 200);
    const request = { model: "nan", messages: [{ role: "user", content: "hi" }], max_tokens: 4 };
    const plain = await postForJson(`${neuron.url}/v1/chat/completions`, request);
    assert.equal(plain.status, 500, JSON.stringify(plain.body));
    assert.match(OpenAIErrorBodySchema.parse(plain.body).error.message, /non-finite logit/);
    const streamed = await fetch(`${neuron.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...request, stream: true }),
    });
    const text = await streamed.text();
    // The stream has begun (200, role chunk) when the prefill fails: the failure arrives as an error event.
    assert.equal(streamed.status, 200);
    assert.match(text, /data: \{"error":\{"message":"engine error: the model produced a non-finite logit/);
    assert.doesNotMatch(text, /"finish_reason":"(stop|length)"/, "no normal ending after the failure");
  },
});
