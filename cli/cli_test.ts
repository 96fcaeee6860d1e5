// End-to-end: `cortex up` (the `serve` task) starts a real neuron serving cortex-demo and a
// real gateway; every command then runs as its own `deno task -q cortex …`
// subprocess against it, with the permissions the tasks grant.
import assert from "node:assert/strict";
import { spawnGateway } from "../gateway/testing/spawn_gateway.ts";
import { postForJson } from "../neuron/testing/http.ts";
import { closedPort, isListening, runCortex, startUp, type UpStack } from "./_test_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** The first choice of a chat completion for "Hello" from the stack's model, asked directly. */
async function greet(up: UpStack, sampling: Record<string, unknown>): Promise<Json> {
  const { body } = await postForJson<Json>(`${up.url}/v1/chat/completions`, {
    model: up.model,
    messages: [{ role: "user", content: "Hello" }],
    ...sampling,
  });
  return body.choices[0];
}

Deno.test("cortex CLI against a real gateway and neuron started by `cortex up`", async (t) => {
  const up = await startUp();
  const gw = ["--gateway", up.url];
  let stopped = false;
  try {
    await t.step("up announces both listeners, its configs and the loaded model", () => {
      const out = up.task.stdout();
      assert.match(
        out,
        /neuron listening on http:\/\/127\.0\.0\.1:\d+ \(model cortex-demo: /,
      );
      assert.match(
        out,
        /gateway listening on http:\/\/127\.0\.0\.1:\d+ \(metrics http:\/\/127\.0\.0\.1:\d+\/metrics\)/,
      );
      assert.match(out, /configs in \.cache\/cortex-up\/test-/);
      assert.ok(!out.includes("\x1b["), "no colour codes when stdout is not a terminal");
    });

    await t.step("status: the table shows the node healthy with the model", async () => {
      const { code, stdout, stderr } = await runCortex(["status", ...gw]);
      assert.equal(code, 0, stderr);
      const lines = stdout.trim().split("\n");
      assert.match(lines[0], /: ok, 1\/1 node\(s\) healthy/);
      assert.match(lines[1], /^NODE\s+HEALTH\s+BACKEND\s+DEVICES\s+MEMORY\s+MODELS\s+IN-FLIGHT$/);
      const row = lines.find((l) => l.startsWith("local "));
      assert.ok(row, stdout);
      assert.match(row, /healthy\s+cpu\s+1\s+\d+ MB \/ [\d.]+ [MG]B\s+/);
      assert.ok(row.includes(up.model), stdout);
      assert.equal(stdout.includes("\x1b["), false);
    });

    await t.step("status --json: the node's models include the loaded model", async () => {
      const { code, stdout, stderr } = await runCortex(["status", "--json", ...gw]);
      assert.equal(code, 0, stderr);
      const doc: Json = JSON.parse(stdout);
      assert.equal(doc.gateway, up.url);
      assert.equal(doc.health.status, "ok");
      assert.equal(doc.nodes[0].name, "local");
      assert.equal(doc.nodes[0].endpoint, up.neuronUrl);
      assert.deepEqual(
        doc.nodes[0].models.filter((m: Json) => m.status === "loaded").map((m: Json) => m.id),
        [up.model],
      );
    });

    await t.step("models: table and --json list the model as loaded on local", async () => {
      const table = await runCortex(["models", ...gw]);
      assert.equal(table.code, 0, table.stderr);
      const [header, row] = table.stdout.trim().split("\n");
      assert.match(header, /^MODEL\s+LOADED ON\s+FEASIBLE ON\s+CONTEXT\s+CAPABILITIES$/);
      assert.match(row, new RegExp(`^${up.model}\\s+local\\s+local\\s+\\d+\\s+text`));
      const json = await runCortex(["models", "--json", ...gw]);
      assert.equal(json.code, 0, json.stderr);
      const entry = (JSON.parse(json.stdout) as Json).data.find((m: Json) => m.id === up.model);
      assert.equal(entry.loaded, true);
      assert.deepEqual(entry.locations.map((l: Json) => [l.node, l.status]), [["local", "loaded"]]);
    });

    await t.step(
      "chat through stdin prints the model's reply, the same one a direct request gets",
      async () => {
        const sampling = { max_tokens: 24, temperature: 1.5, seed: 7 };
        const expected: string = (await greet(up, sampling)).message.content.trim();
        assert.ok(expected.length > 0, "the seeded reply has visible text");
        const flags = ["--max-tokens", "24", "--temperature", "1.5", "--seed", "7"];
        const { code, stdout, stderr } = await runCortex(["chat", up.model, ...flags, ...gw], {
          stdin: "Hello\n/exit\n",
        });
        assert.equal(code, 0, stderr);
        assert.equal(stdout, `${expected}\n`, "stdout carries only the reply (no prompt, no notes)");
      },
    );

    await t.step("the default model, cortex-demo, greets back when greeted (greedy)", async () => {
      const choice = await greet(up, { temperature: 0 });
      assert.equal(choice.finish_reason, "stop");
      assert.match(choice.message.content, /^(Hello|Hi)!/);
    });

    await t.step(
      "chat: /reset forgets the conversation (the same first turn gives the same reply)",
      async () => {
        const flags = ["--max-tokens", "12", "--temperature", "1.5", "--seed", "3", ...gw];
        const { code, stdout, stderr } = await runCortex(["chat", up.model, ...flags], {
          stdin: "Hi there\n/reset\nHi there\n",
        });
        assert.equal(code, 0, stderr);
        const replies = stdout.split("\n").slice(0, 2);
        assert.equal(stdout.split("\n").length, 3, stdout);
        assert.ok(replies[0].length > 0);
        assert.equal(replies[1], replies[0]);
      },
    );

    await t.step("unload, then status and models no longer show it loaded", async () => {
      const { code, stdout, stderr } = await runCortex(["unload", up.model, ...gw]);
      assert.equal(code, 0, stderr);
      assert.equal(stdout.trim(), `✓ unloaded ${up.model} from local`);
      const status = await runCortex(["status", "--json", ...gw]);
      const loaded = (JSON.parse(status.stdout) as Json).nodes[0].models.filter((m: Json) =>
        m.status === "loaded"
      );
      assert.deepEqual(loaded, []);
      const table = await runCortex(["status", ...gw]);
      const row = table.stdout.split("\n").find((l) => l.startsWith("local "))!;
      assert.equal(row.includes(up.model), false, table.stdout);
      const models = await runCortex(["models", "--json", ...gw]);
      assert.equal(
        (JSON.parse(models.stdout) as Json).data.find((m: Json) => m.id === up.model)?.loaded ?? false,
        false,
      );
    });

    await t.step("load shows progress, then status shows the model loaded again", async () => {
      const { code, stdout, stderr } = await runCortex(["load", up.model, "--node", "local", ...gw]);
      assert.equal(code, 0, stderr);
      assert.match(
        stdout.trim(),
        new RegExp(`^✓ loaded ${up.model} on local in \\d+ ms$|^✓ loaded ${up.model} on local in [\\d.]+s$`),
      );
      // Not a terminal: one plain progress line per phase on stderr, with the elapsed time.
      assert.match(stderr, new RegExp(`^requesting ${up.model} on local \\(\\d+\\.\\ds\\)$`, "m"));
      assert.equal(stderr.includes("\r"), false);
      const status = await runCortex(["status", "--json", ...gw]);
      const models = (JSON.parse(status.stdout) as Json).nodes[0].models;
      assert.deepEqual(models.filter((m: Json) => m.status === "loaded").map((m: Json) => m.id), [up.model]);
      const again = await runCortex(["load", up.model, "--json", ...gw]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal((JSON.parse(again.stdout) as Json).already_loaded, true);
    });

    await t.step("a model the fleet does not have: exit 1 and one line that says what to do", async () => {
      for (
        const args of [["load", "no-such-model"], ["chat", "no-such-model"], ["unload", "no-such-model"]]
      ) {
        const { code, stdout, stderr } = await runCortex([...args, ...gw], { stdin: "hi\n" });
        assert.equal(code, 1, `${args[0]}: ${stderr}`);
        const lines = stderr.trim().split("\n").filter((l) => !l.startsWith("requesting "));
        assert.equal(lines.length, 1, stderr);
        assert.match(lines[0], /^cortex: .*no-such-model.* — .*`cortex (models|status)`/);
        assert.equal(stdout, "");
      }
    });

    await t.step("up stops both processes on SIGTERM and exits 0", async () => {
      stopped = true;
      const status = await up.stop();
      assert.equal(status.code, 0, up.task.stderr());
      assert.equal(await isListening(up.url), false, "gateway stopped");
      assert.equal(await isListening(up.neuronUrl), false, "neuron stopped");
      const log = up.task.stderr();
      assert.equal(
        log.match(/draining in-flight requests/g)?.length,
        1,
        `the neuron is stopped once:\n${log}`,
      );
    });
  } finally {
    if (!stopped) await up.stop();
  }
});

Deno.test("an unreachable gateway: every client command exits 1 with a one-line error", async () => {
  const url = `http://127.0.0.1:${closedPort()}`;
  for (const args of [["status"], ["models", "--json"], ["load", "m"], ["unload", "m"], ["chat", "m"]]) {
    const { code, stdout, stderr } = await runCortex([...args, "--gateway", url], { stdin: "hi\n" });
    assert.equal(code, 1, `${args.join(" ")}: ${stderr}`);
    const lines = stderr.trim().split("\n");
    assert.equal(lines.length, 1, stderr);
    assert.equal(
      lines[0],
      `cortex: cannot reach the gateway at ${url} (connection refused) — start one with \`cortex up\` or ` +
        "`cortex serve`, or point --gateway / CORTEX_URL at a running gateway",
    );
    assert.equal(stdout, "");
  }
  // CORTEX_URL is the default when --gateway is absent.
  const viaEnv = await runCortex(["status"], { env: { CORTEX_URL: url } });
  assert.equal(viaEnv.code, 1);
  assert.ok(viaEnv.stderr.includes(`cannot reach the gateway at ${url}`), viaEnv.stderr);
});

Deno.test("usage errors exit 2 and name the problem", async () => {
  const cases: [string[], RegExp][] = [
    [["frobnicate"], /^cortex: unknown command "frobnicate" — commands: up, serve, neuron, status/],
    [["status", "--jsno"], /^cortex: unknown option --jsno — see --help/],
    [["load"], /^cortex: usage: cortex load MODEL/],
    [["chat", "m", "--temperature", "hot"], /^cortex: --temperature: expected a number in 0\.\.2, got "hot"/],
    [["up", "--model", "/nonexistent"], /^cortex: --model: \/nonexistent is not a model folder/],
    [["status", "--gateway", "ftp://x"], /^cortex: --gateway: expected an http\(s\) URL/],
  ];
  for (const [args, pattern] of cases) {
    const { code, stderr } = await runCortex(args);
    assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
    assert.equal(stderr.trim().split("\n").length, 1, stderr);
    assert.match(stderr.trim(), pattern);
  }
  const help = await runCortex(["--help"]);
  assert.equal(help.code, 0);
  for (const name of ["up", "serve", "neuron", "status", "models", "load", "unload", "chat"]) {
    assert.match(help.stdout, new RegExp(`^  ${name} `, "m"));
  }
});

Deno.test("CORTEX_API_KEY: no key, a non-admin key and an admin key against a gateway with keys", async () => {
  const gateway = await spawnGateway({
    neurons: [],
    gateway: {
      keys: [{ name: "ops", key: "sk-admin-0123456", admin: true }, { name: "app", key: "sk-app-01234567" }],
    },
  });
  try {
    const gw = ["--gateway", gateway.url];
    const none = await runCortex(["status", ...gw]);
    assert.equal(none.code, 1);
    assert.match(none.stderr.trim(), /^cortex: GET \/admin\/fleet: 401 .* — set CORTEX_API_KEY to a key/);
    const app = await runCortex(["status", ...gw], { env: { CORTEX_API_KEY: "sk-app-01234567" } });
    assert.equal(app.code, 1);
    assert.match(app.stderr.trim(), /^cortex: GET \/admin\/fleet: 403 .* — this needs an admin key/);
    const models = await runCortex(["models", "--json", ...gw], {
      env: { CORTEX_API_KEY: "sk-app-01234567" },
    });
    assert.equal(models.code, 0, models.stderr);
    assert.deepEqual(JSON.parse(models.stdout).data, []);
    const admin = await runCortex(["status", ...gw], { env: { CORTEX_API_KEY: "sk-admin-0123456" } });
    assert.equal(admin.code, 0, admin.stderr);
    assert.match(admin.stdout, /no neurons configured/);
  } finally {
    await gateway.stop();
  }
});
