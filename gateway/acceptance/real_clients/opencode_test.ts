// Acceptance: the real opencode CLI (pinned, from npm) running `opencode run` with the gateway
// configured as an OpenAI-compatible provider (chat completions), in front of a neuron test
// double scripted to call its bash tool once and then answer; the command really runs.
import assert from "node:assert/strict";
import { installClient, OPENCODE } from "./_install.ts";
import {
  assertToolRoundTrip,
  KEY,
  MODEL,
  proofCommand,
  runClient,
  shellRoundTrip,
  startStage,
} from "./_harness.ts";

const opencode = await installClient(OPENCODE);
if (opencode.skip) console.warn(`skipping the opencode acceptance test: ${opencode.skip}`);

Deno.test({
  name: `acceptance: opencode ${OPENCODE.version} runs a bash tool call through the gateway`,
  ignore: opencode.skip !== undefined,
  async fn() {
    const stage = await startStage((home) => shellRoundTrip(["bash"], proofCommand(home)));
    try {
      await Deno.mkdir(`${stage.home}/.config/opencode`, { recursive: true });
      await Deno.writeTextFile(
        `${stage.home}/.config/opencode/opencode.json`,
        JSON.stringify({
          autoupdate: false,
          share: "disabled",
          provider: {
            cortex: {
              npm: "@ai-sdk/openai-compatible",
              name: "cortex",
              options: { baseURL: `${stage.url}/v1`, apiKey: KEY },
              models: { [MODEL]: { name: MODEL, tool_call: true } },
            },
          },
          model: `cortex/${MODEL}`,
          permission: { bash: "allow" },
        }),
      );
      const run = await runClient(stage, opencode.path!, ["run", "Write the proof file."], {
        env: {
          OPENCODE_DISABLE_AUTOUPDATE: "1",
          OPENCODE_DISABLE_MODELS_FETCH: "1",
          OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
          OPENCODE_DISABLE_SHARE: "1",
        },
      });
      const why = await assertToolRoundTrip(run, stage, "bash");
      const chats = stage.tapped.filter((t) => t.path === "/v1/chat/completions");
      assert.ok(chats.length >= 2, why);
      for (const t of chats) assert.equal(t.status, 200, why);
    } finally {
      await stage.stop();
    }
  },
});
