// Acceptance: observability with a real gateway in front of real neurons. A request's log lines
// on the gateway and the neuron share its x-request-id; both /metrics pass promtool's lint
// rules; a failed load shows no file-system path on the public /health and stops counting once
// its neuron drops it; a request that finds a node dead logs the health change, and the
// client's error text never shows the neuron's address.
import assert from "node:assert/strict";
import { spawnNeuron } from "../../neuron/testing/spawn_neuron.ts";
import { lintExposition } from "../metrics/promlint.ts";
import { spawnGateway } from "../testing/spawn_gateway.ts";
import { chat, havePlugin, post, TINY } from "./_fixtures.ts";

const PROMTOOL = "/usr/bin/promtool";

/** `promtool check metrics` on `text`: its exit code and output, or null when promtool is absent. */
async function promtoolCheck(text: string): Promise<{ code: number; output: string } | null> {
  try {
    await Deno.stat(PROMTOOL);
  } catch {
    return null;
  }
  const child = new Deno.Command(PROMTOOL, {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, output: (decoder.decode(stdout) + decoder.decode(stderr)).trim() };
}

const key = "sk-obs-acceptance-key";
const auth = { authorization: `Bearer ${key}` };

/** The JSON lines of `text` whose `event` is `event`. */
function jsonLines(text: string, event: string): Record<string, unknown>[] {
  return text.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l))
    .filter((l) => l.event === event);
}

Deno.test({
  name: "acceptance: request lines share x-request-id, both /metrics lint clean, failed loads and /health",
  ignore: !havePlugin(),
  async fn(t) {
    const neuron = await spawnNeuron({
      models: { m: TINY.f32, ghost: "/nonexistent/obs/model/folder" },
      defaultModels: ["m"],
      failedLoadTtlS: 1,
      log: { format: "json" },
    });
    const gateway = await spawnGateway({
      neurons: [{ name: "n1", endpoint: neuron.url }],
      gateway: { keys: [{ name: "ops", key, admin: true }] },
      log: { format: "json" },
    });
    try {
      await gateway.waitFor(async () => (await gateway.fleet(auth)).nodes.every((n) => n.healthy));

      await t.step("a request's lines on gateway and neuron share its id", async () => {
        const given = await post(`${gateway.url}/v1/chat/completions`, chat("m"), {
          ...auth,
          "x-request-id": "obs-accept-1",
        });
        assert.equal(given.status, 200);
        assert.equal(given.headers.get("x-request-id"), "obs-accept-1");
        await given.json();
        const streamed = await post(`${gateway.url}/v1/messages`, {
          model: "m",
          max_tokens: 6,
          stream: true,
          messages: [{ role: "user", content: "Hello" }],
        }, auth);
        const made = streamed.headers.get("x-request-id")!;
        assert.match(made, /^[0-9a-f-]{36}$/, "the gateway makes an id when the client sends none");
        await streamed.text();
        for (const id of ["obs-accept-1", made]) {
          await gateway.waitFor(
            () =>
              jsonLines(gateway.stderr(), "request").some((l) => l.request_id === id) &&
              jsonLines(neuron.output(), "request").some((l) => l.request_id === id),
            10_000,
            `log lines of ${id}`,
          );
          const ours = jsonLines(gateway.stderr(), "request").filter((l) => l.request_id === id);
          const theirs = jsonLines(neuron.output(), "request").filter((l) => l.request_id === id);
          assert.equal(ours.length, 1, gateway.stderr());
          assert.equal(theirs.length, 1, neuron.output());
          const [g, n] = [ours[0], theirs[0]];
          assert.equal(g.component, "gateway");
          assert.equal(g.key, "ops", "the key's name");
          assert.equal(g.model, "m");
          assert.equal(g.node, "n1");
          assert.equal(g.status, 200);
          assert.equal(g.cold_load_ms, 0);
          // The gateway sees tokens only in a stream; the neuron times every generation.
          if (id === made) assert.equal(typeof g.ttft_ms, "number");
          assert.equal(typeof n.ttft_ms, "number");
          assert.equal(typeof g.duration_ms, "number");
          assert.ok((g.prompt_tokens as number) > 0 && (g.completion_tokens as number) > 0);
          assert.equal(g.prompt_tokens, n.prompt_tokens, "the neuron's usage");
          assert.equal(g.completion_tokens, n.completion_tokens);
          assert.equal(n.model, "m");
          assert.equal(n.status, 200);
          assert.ok(typeof g.finish_reason === "string" && g.finish_reason === n.finish_reason);
        }
        const [chatLine] = jsonLines(gateway.stderr(), "request").filter((l) =>
          l.request_id === "obs-accept-1"
        );
        assert.equal(chatLine.dialect, "chat");
        assert.equal(chatLine.stream, false);
        assert.equal(
          jsonLines(gateway.stderr(), "request").find((l) => l.request_id === made)?.dialect,
          "messages",
        );
        assert.ok(!gateway.stderr().includes(key), "the key itself is never logged");
        assert.ok(!gateway.stderr().includes("Hello"), "no prompt text unless asked");
        assert.ok(!neuron.output().includes("Hello"), "no prompt text unless asked");
      });

      await t.step("both /metrics pass promtool's lint rules", async () => {
        const gatewayText = await (await fetch(gateway.metricsUrl)).text();
        assert.match(gatewayText, /cortex_device_memory_total_bytes/);
        assert.deepEqual(lintExposition(gatewayText), []);
        const neuronText = await (await fetch(`${neuron.url}/metrics`)).text();
        assert.match(neuronText, /cortex_tool_calls_total\{model="m",format="json",outcome="ok"\} 0/);
        assert.deepEqual(lintExposition(neuronText), []);
        // And promtool itself, where it is installed (Debian's `prometheus` package; .ci/run installs it).
        for (const [which, text] of [["gateway", gatewayText], ["neuron", neuronText]]) {
          const verdict = await promtoolCheck(text);
          if (verdict === null) {
            console.log(`promtool not installed (${PROMTOOL}): only the lint rules above were checked`);
            break;
          }
          assert.deepEqual(
            verdict,
            { code: 0, output: "" },
            `promtool check metrics on the ${which}'s /metrics`,
          );
        }
      });

      await t.step("a failed load: no path on /health, not impaired once the neuron drops it", async () => {
        const load = await post(`${gateway.url}/admin/load`, { model: "ghost" }, auth);
        assert.ok(load.status >= 400, String(load.status));
        const text = await load.text();
        assert.doesNotMatch(text, /127\.0\.0\.1|:\d{4,5}\b/, "no neuron address in the error");
        // While the neuron lists the failure (failed_load_ttl_s = 1), /health names it, without its text.
        let health = "";
        await gateway.waitFor(
          async () => {
            health = await (await fetch(`${gateway.url}/health`)).text();
            return JSON.parse(health).status === "impaired";
          },
          5_000,
          "/health impaired while the failure is listed",
        );
        assert.equal(JSON.parse(health).unservable[0].model, "ghost");
        assert.equal(JSON.parse(health).unservable[0].reason, "bad_model_folder");
        assert.ok(!health.includes("/nonexistent"), `no file-system path: ${health}`);
        assert.ok(!health.includes(neuron.url), "no neuron address");
        await gateway.waitFor(
          async () => (await (await fetch(`${gateway.url}/health`)).json()).status === "ok",
          15_000,
          "/health ok once the failed load has expired",
        );
        const models = await (await fetch(`${neuron.url}/models`)).json() as { id: string; status: string }[];
        assert.equal(models.find((m) => m.id === "ghost")?.status, "available");
      });
    } finally {
      await gateway.stop();
      await neuron.stop();
    }
  },
});

Deno.test({
  name: "acceptance: a request that finds a node dead logs the change; the client's text has no address",
  ignore: !havePlugin(),
  async fn() {
    const neuron = await spawnNeuron({ models: { m: TINY.f32 }, defaultModels: ["m"] });
    // Polls far apart: only the request can find out that the node died.
    const gateway = await spawnGateway({
      neurons: [{ name: "lost", endpoint: neuron.url }],
      poller: { interval_s: 60, unhealthy_after: 2 },
      log: { format: "json" },
    });
    try {
      await gateway.waitFor(async () => (await gateway.fleet()).nodes.every((n) => n.healthy));
      await neuron.stop("SIGKILL");
      const port = new URL(neuron.url).port;
      const response = await post(`${gateway.url}/v1/chat/completions`, chat("m"), {
        "x-request-id": "obs-dead",
      });
      assert.ok(response.status >= 500, String(response.status));
      const text = await response.text();
      assert.ok(!text.includes(port) && !text.includes("127.0.0.1"), `no neuron address: ${text}`);
      await gateway.waitFor(
        () => jsonLines(gateway.stderr(), "node_unhealthy").length > 0,
        10_000,
        "the log line",
      );
      const [change] = jsonLines(gateway.stderr(), "node_unhealthy");
      assert.equal(change.node, "lost");
      assert.equal(change.found_by, "request");
      assert.equal(change.endpoint, neuron.url, "the log has the address");
      const line = jsonLines(gateway.stderr(), "request").find((l) => l.request_id === "obs-dead");
      assert.equal(line?.status, response.status);
      assert.equal(typeof line?.error, "string");
    } finally {
      await gateway.stop();
    }
  },
});
