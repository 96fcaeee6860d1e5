import assert from "node:assert/strict";
import { parseNeuronConfig } from "@cortex/core/config";
import { startNeuron } from "./server.ts";

Deno.test("a token_env naming an unset variable stops the neuron at start instead of running open", async () => {
  const config = parseNeuronConfig('token_env = "CORTEX_TEST_TOKEN_THAT_IS_NEVER_SET"\n');
  await assert.rejects(
    () => startNeuron(config, { port: 0 }),
    /token_env: environment variable CORTEX_TEST_TOKEN_THAT_IS_NEVER_SET is unset or empty/,
  );
});
