// Acceptance: the real Codex CLI (pinned, from npm) running `codex exec` against a real gateway
// over the Responses API, in front of a neuron test double scripted to call one tool and then
// answer: its shell tool (the command really runs), and a tool of a tiny stdio MCP server,
// which Codex sends as a Responses `namespace` tool (the MCP server must receive the call).
import assert from "node:assert/strict";
import { CODEX, installClient } from "./_install.ts";
import {
  afterToolResult,
  assertToolRoundTrip,
  describeRun,
  FINAL_TEXT,
  KEY,
  MODEL,
  proofCommand,
  runClient,
  type Script,
  shellRoundTrip,
  type Stage,
  startStage,
} from "./_harness.ts";
import { PROBE_TOOL } from "./_mcp_probe_server.ts";

const codex = await installClient(CODEX);
if (codex.skip) console.warn(`skipping the Codex acceptance tests: ${codex.skip}`);

const PROBE_TEXT = "probe-from-the-neuron-double";
const MCP_SERVER = new URL("./_mcp_probe_server.ts", import.meta.url).pathname;

Deno.test({
  name: `acceptance: Codex ${CODEX.version} runs a shell tool call through the gateway (Responses)`,
  ignore: codex.skip !== undefined,
  async fn() {
    const stage = await startStage((home) =>
      shellRoundTrip(["exec_command", "shell", "shell_command"], proofCommand(home))
    );
    try {
      await _writeConfig(stage, null);
      const run = await _codexExec(stage, "Write the proof file.");
      const why = await assertToolRoundTrip(run, stage, "shell");
      const responses = stage.tapped.filter((t) => t.path === "/v1/responses");
      assert.ok(responses.length >= 2, why);
      for (const t of responses) assert.equal(t.status, 200, why);
    } finally {
      await stage.stop();
    }
  },
});

Deno.test({
  name: `acceptance: Codex ${CODEX.version} calls an MCP server's tool (a Responses namespace tool)`,
  ignore: codex.skip !== undefined,
  async fn() {
    const stage = await startStage(() => _probeRoundTrip);
    const log = `${stage.home}/mcp-calls.log`;
    try {
      await _writeConfig(stage, log);
      const run = await _codexExec(stage, "Record a probe with the MCP tool.");
      const why = describeRun(run, stage);
      assert.equal(run.code, 0, why);
      const offered = stage.double.requests.flatMap((r) => (r.body.tools ?? []).map((t) => t.function.name));
      assert.ok(
        offered.some((name) => name.endsWith(PROBE_TOOL)),
        `the MCP tool never reached the model; it was offered: ${[...new Set(offered)].join(", ")}\n${why}`,
      );
      let calls = "";
      try {
        calls = await Deno.readTextFile(log);
      } catch {
        // never called
      }
      assert.equal(calls, `${PROBE_TEXT}\n`, `the MCP server did not receive the call\n${why}`);
      assert.ok(run.stdout.includes(FINAL_TEXT), why);
    } finally {
      await stage.stop();
    }
  },
});

// Calls the MCP probe tool under whatever qualified name the gateway gave it, then answers.
const _probeRoundTrip: Script = (request) => {
  if (afterToolResult(request)) return { text: FINAL_TEXT };
  const tool = (request.tools ?? []).find((t) => t.function.name.endsWith(PROBE_TOOL));
  if (!tool) return { text: "The MCP tool is not offered." };
  return { toolCall: { name: tool.function.name, arguments: { text: PROBE_TEXT } } };
};

// `$CODEX_HOME/config.toml`: the gateway as a Responses provider; with `mcpLog`, the probe MCP server.
async function _writeConfig(stage: Stage, mcpLog: string | null): Promise<void> {
  const lines = [
    `model = "${MODEL}"`,
    `model_provider = "cortex"`,
    "",
    "[model_providers.cortex]",
    `name = "cortex"`,
    `base_url = "${stage.url}/v1"`,
    `env_key = "CORTEX_API_KEY"`,
    `wire_api = "responses"`,
  ];
  if (mcpLog !== null) {
    const args = ["run", "--no-config", "--no-prompt", `--allow-write=${mcpLog}`, MCP_SERVER, mcpLog];
    lines.push(
      "",
      "[mcp_servers.probe]",
      `command = ${JSON.stringify(Deno.execPath())}`,
      `args = ${JSON.stringify(args)}`,
    );
  }
  await Deno.mkdir(`${stage.home}/.codex`, { recursive: true });
  await Deno.writeTextFile(`${stage.home}/.codex/config.toml`, lines.join("\n") + "\n");
}

function _codexExec(stage: Stage, prompt: string): ReturnType<typeof runClient> {
  return runClient(stage, codex.path!, [
    "exec",
    "--skip-git-repo-check",
    "--dangerously-bypass-approvals-and-sandbox",
    prompt,
  ], { env: { CORTEX_API_KEY: KEY, CODEX_HOME: `${stage.home}/.codex` } });
}
