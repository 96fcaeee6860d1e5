// Acceptance: a neuron that requires a bearer token, and a gateway that takes it from the
// environment (`[[neurons]] token_env`) rather than from cortex.toml. Real processes only.
import assert from "node:assert/strict";
import { spawnNeuron } from "../../neuron/testing/spawn_neuron.ts";
import { spawnGateway } from "../testing/spawn_gateway.ts";
import { chat, havePlugin, post, TINY } from "./_fixtures.ts";

const TOKEN = "neuron-token-0123456789";
const TOKEN_ENV = "CORTEX_TEST_NEURON_TOKEN";

Deno.test({
  name: "acceptance: the gateway reaches a token-protected neuron with the token from token_env",
  ignore: !havePlugin(),
  async fn(t) {
    const neuron = await spawnNeuron({ models: { tiny: TINY.f32 }, token: TOKEN });
    try {
      await t.step("the neuron itself refuses a request without the token", async () => {
        const response = await fetch(`${neuron.url}/health`);
        assert.equal(response.status, 401);
        await response.body?.cancel();
      });

      await t.step("token_env set: the node is healthy and requests go through", async () => {
        const gateway = await spawnGateway({
          neurons: [{ name: "n1", endpoint: neuron.url, token_env: TOKEN_ENV }],
          models: [{ id: "tiny", vram_mb: 3 }],
          env: { [TOKEN_ENV]: TOKEN },
        });
        try {
          await gateway.waitFor(
            async () => (await gateway.fleet()).nodes[0].healthy,
            20_000,
            "node n1 healthy",
          );
          const response = await post(`${gateway.url}/v1/chat/completions`, chat("tiny"));
          assert.equal(response.status, 200);
          assert.equal((await response.json()).object, "chat.completion");
        } finally {
          await gateway.stop();
        }
      });

      await t.step(
        "token_env unset: the gateway does not start, and says which key and variable",
        async () => {
          const error = await spawnGateway({
            neurons: [{ name: "n1", endpoint: neuron.url, token_env: TOKEN_ENV }],
          }).then(() => null, (e: Error) => e);
          assert.ok(error, "the gateway must not start");
          assert.match(
            error.message,
            /cortex\.toml: neurons\[0\]\.token_env: environment variable CORTEX_TEST_NEURON_TOKEN is unset or empty/,
          );
        },
      );
    } finally {
      await neuron.stop();
    }
  },
});
