// Acceptance: the real Claude Code CLI (pinned, from npm) in print mode against a real gateway
// in front of a neuron test double scripted to call its Bash tool once and then answer; the
// command really runs. Claude Code posts to `/v1/messages?beta=true` and sends part of its
// system prompt as a `role: "system"` message inside `messages`.
import assert from "node:assert/strict";
import { CLAUDE_CODE, installClient } from "./_install.ts";
import {
  assertToolRoundTrip,
  KEY,
  MODEL,
  proofCommand,
  runClient,
  shellRoundTrip,
  startStage,
} from "./_harness.ts";

const claude = await installClient(CLAUDE_CODE);
if (claude.skip) console.warn(`skipping the Claude Code acceptance test: ${claude.skip}`);

Deno.test({
  name: `acceptance: Claude Code ${CLAUDE_CODE.version} runs a Bash tool call through the gateway`,
  ignore: claude.skip !== undefined,
  async fn() {
    const stage = await startStage((home) => shellRoundTrip(["Bash"], proofCommand(home)));
    try {
      const run = await runClient(stage, claude.path!, [
        "-p",
        "Write the proof file.",
        "--model",
        MODEL,
        "--allowedTools",
        "Bash",
        "--output-format",
        "text",
      ], {
        env: {
          ANTHROPIC_BASE_URL: stage.url,
          ANTHROPIC_API_KEY: KEY,
          DISABLE_AUTOUPDATER: "1",
          DISABLE_TELEMETRY: "1",
          DISABLE_ERROR_REPORTING: "1",
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
        },
      });
      const why = await assertToolRoundTrip(run, stage, "Bash");

      const messages = stage.tapped.filter((t) => t.method === "POST" && t.path.startsWith("/v1/messages"));
      assert.ok(messages.length >= 2, why);
      for (const t of messages) {
        assert.equal(t.path, "/v1/messages?beta=true", why);
        assert.equal(t.status, 200, why);
      }

      // The system text Claude Code sent as a conversation message reached the model.
      const inConversation = messages
        .flatMap((t) => (JSON.parse(t.body) as { messages: { role: string; content: unknown }[] }).messages)
        .filter((m) => m.role === "system")
        .map((m) => _text(m.content));
      assert.ok(inConversation.length > 0, `Claude Code sent no role:"system" message\n${why}`);
      const firstLine = inConversation[0].split("\n")[0];
      const reached = stage.double.requests.some((seen) =>
        seen.body.messages.some((m) => m.role === "system" && _text(m.content).includes(firstLine))
      );
      assert.ok(reached, `the model never saw the system message "${firstLine}"\n${why}`);
    } finally {
      await stage.stop();
    }
  },
});

function _text(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((part) => (part as { text?: string }).text ?? "").join("");
}
