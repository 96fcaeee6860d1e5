// HTTP-level test of Qwen3-MoE serving: the qwen3moe-tiny fixture, as its safetensors folder and as
// its Q8_0 GGUF, loads through /models/load, streams a chat answer (SSE chunks, then [DONE]) and
// reports usage; /models names the MoE class. Needs ../shared/fixtures/gguf.
import assert from "node:assert/strict";
import { parseSse } from "@cortex/core/sse";
import { modelEntry, postForJson } from "./testing/http.ts";
import { spawnNeuron } from "./testing/spawn_neuron.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
// The real path: ../shared is a symlink, and the neuron's read permission is for what it resolves to.
const FIXTURES = await Deno.realPath(new URL("../../shared/fixtures/gguf/", import.meta.url)).then(
  (path) => `${path}/`,
  () => new URL("../../shared/fixtures/gguf/", import.meta.url).pathname,
);
const haveFixtures = await Deno.stat(FIXTURES).then(() => true, () => false);
if (!haveFixtures) console.warn(`skipping Qwen3-MoE HTTP tests: ${FIXTURES} is absent`);
const MOE = `${FIXTURES}qwen3moe-tiny`;

/** Streams a chat completion and returns the concatenated content and the usage of the last chunk. */
async function streamChat(
  url: string,
  model: string,
): Promise<{ chunks: number; usage: Record<string, number> }> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model,
      messages: [{ role: "user", content: "Hello there" }],
      max_tokens: 6,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  assert.match(response.headers.get("content-type") ?? "", /text\/event-stream/);
  const text = await response.text();
  const events = parseSse(text).flatMap((message) => message.data ?? []);
  assert.equal(events.at(-1), "[DONE]");
  let chunks = 0;
  let usage: Record<string, number> = {};
  for (const event of events.slice(0, -1)) {
    const chunk = JSON.parse(event);
    chunks++;
    if (chunk.usage) usage = chunk.usage;
  }
  return { chunks, usage };
}

Deno.test({
  name: "qwen3_moe over HTTP: the safetensors folder and the Q8_0 GGUF load, stream chat and report usage",
  ignore: !haveFixtures,
  ...opts,
  fn: async () => {
    const neuron = await spawnNeuron({
      models: { "moe-hf": `${MOE}/hf`, "moe-q8": `${MOE}/qwen3moe-tiny-q8_0.gguf` },
      defaultModels: [],
    });
    try {
      for (const id of ["moe-hf", "moe-q8"]) {
        const load = await postForJson(`${neuron.url}/models/load`, { model_id: id });
        assert.equal(load.status, 200, `${id}: ${JSON.stringify(load.body)}`);
        const entry = await modelEntry(neuron.url, id);
        assert.equal(entry?.status, "loaded", `${id}: ${JSON.stringify(entry)}`);
        const { chunks, usage } = await streamChat(neuron.url, id);
        assert.ok(chunks >= 2, `${id}: ${chunks} chunks`);
        assert.equal(usage.completion_tokens, 6, `${id}: ${JSON.stringify(usage)}`);
        assert.ok(usage.prompt_tokens > 1, `${id}: ${JSON.stringify(usage)}`);
      }
    } finally {
      await neuron.stop();
    }
  },
});
