// Acceptance: requests that do not need the weights never load them. `count_tokens` for a model
// no node has loaded counts with the tokenizer read from its files; a malformed body is refused
// before placement. Neither changes the load counter or the neuron's loaded models.
import assert from "node:assert/strict";
import { spawnNeuron } from "../../neuron/testing/spawn_neuron.ts";
import { spawnGateway } from "../testing/spawn_gateway.ts";
import { havePlugin, post, scrape, TINY, total } from "./_fixtures.ts";

Deno.test({
  name: "acceptance: count_tokens and a malformed body for an unloaded model load nothing",
  ignore: !havePlugin(),
  async fn() {
    const neuron = await spawnNeuron({ models: { tiny: TINY.f32 }, defaultModels: [] });
    const gateway = await spawnGateway({
      neurons: [{ name: "n", endpoint: neuron.url }],
      models: [{ id: "tiny", vram_mb: 3 }],
    });
    try {
      await gateway.waitFor(async () => (await gateway.fleet()).nodes[0].healthy, 20_000, "node healthy");
      const messages = [{ role: "user", content: "How many tokens is this?" }];
      const counted = await post(`${gateway.url}/v1/messages/count_tokens`, { model: "tiny", messages });
      const body = await counted.json();
      assert.equal(counted.status, 200, JSON.stringify(body));
      assert.ok(body.input_tokens > 5, JSON.stringify(body));
      for (
        const [path, bad] of [
          ["/v1/chat/completions", { model: "tiny", messages: "hi" }],
          ["/v1/completions", { model: "tiny", prompt: "hi", max_tokens: -3 }],
          ["/v1/messages", { model: "tiny", messages: "hi", max_tokens: 5 }],
          ["/v1/responses", { model: "tiny", input: 42 }],
        ] as const
      ) {
        const res = await post(`${gateway.url}${path}`, bad);
        assert.equal(res.status, 400, `${path}: ${await res.text()}`);
      }
      const health = await (await fetch(`${neuron.url}/health`)).json();
      assert.deepEqual(health.models, [], "no model was loaded");
      const samples = await scrape(gateway.metricsUrl);
      assert.equal(total(samples, "cortex_model_load_duration_seconds_count", { model: "tiny" }), 0);
      // The same count once the model is loaded (its own tokenizer): the numbers agree.
      const loaded = await post(`${gateway.url}/v1/chat/completions`, {
        model: "tiny",
        messages,
        max_tokens: 1,
      });
      assert.equal(loaded.status, 200);
      await loaded.body?.cancel();
      const again = await (await post(`${gateway.url}/v1/messages/count_tokens`, { model: "tiny", messages }))
        .json();
      assert.equal(again.input_tokens, body.input_tokens);
    } finally {
      await gateway.stop();
      await neuron.stop();
    }
  },
});
