// `cortex neuron` and `cortex serve` as the `neuron` and `cortex` tasks run them: each
// starts its process with permissions derived from its config (checked on the live
// processes' command lines, from `ps`), prints where it listens, and stops cleanly on SIGTERM.
import assert from "node:assert/strict";
import { isListening, runCortex, startTask } from "./_test_helpers.ts";
import { REPO_ROOT } from "./service.ts";
import { NEURON_SOURCE_DIRS } from "./neuron_permissions.ts";

const TINY = `${REPO_ROOT}/neuron/testdata/models/tiny-qwen3-f32`;

/** Command lines (split on spaces; our paths have none) of live processes mentioning `marker`. */
async function _commandLines(marker: string): Promise<string[][]> {
  const { stdout } = await new Deno.Command("ps", { args: ["-ww", "-eo", "args="], stdout: "piped" })
    .output();
  return new TextDecoder().decode(stdout).split("\n").filter((line) => line.includes(marker))
    .map((line) => line.trim().split(/\s+/));
}

Deno.test({
  name: "cortex neuron and cortex serve run their processes with config-derived permissions",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "cortex-cli-services-" });
    const neuronToml = `${dir}/neuron.toml`;
    await Deno.writeTextFile(
      neuronToml,
      `listen = "127.0.0.1:0"\ndefault_models = ["tiny"]\n[devices]\ncpu_devices = 1\ncpu_memory_budget_mb = 256\n` +
        `cpu_threads = 1\ncuda = "none"\n[hub]\noffline = true\ncache_dir = "hub"\n` +
        `[[models]]\nid = "tiny"\npath = ${JSON.stringify(TINY)}\n`,
    );
    const neuron = startTask("neuron", ["--config", neuronToml]);
    let gateway: ReturnType<typeof startTask> | null = null;
    try {
      const neuronUrl = (await neuron.waitFor(/neuron listening on (http:\/\/\S+)/))[1];
      await Deno.writeTextFile(
        `${dir}/cortex.toml`,
        `[gateway]\nlisten = "127.0.0.1:0"\nmetrics_listen = "127.0.0.1:0"\n[poller]\ninterval_s = 0.25\n` +
          `[[neurons]]\nname = "n1"\nendpoint = "${neuronUrl}"\n`,
      );
      gateway = startTask("cortex", ["serve", "--config", `${dir}/cortex.toml`]);
      const url = (await gateway.waitFor(/gateway listening on (http:\/\/\S+) \(metrics http:\/\/\S+\)/))[1];
      assert.match(gateway.stdout(), /1 neuron\(s\): n1 http:\/\/127\.0\.0\.1:\d+/);

      const [neuronArgs] = (await _commandLines(neuronToml)).filter((a) =>
        a.some((x) => x.endsWith("neuron/main.ts"))
      );
      assert.ok(neuronArgs, "the neuron process is running");
      const port = new URL(neuronUrl).port;
      assert.ok(neuronArgs.includes(`--allow-net=127.0.0.1`), neuronArgs.join(" "));
      assert.ok(
        neuronArgs.includes(
          `--allow-read=${neuronToml},${REPO_ROOT}/cuda_plugin/build/libcortex_plugin.so,${dir}/hub,${TINY},${
            NEURON_SOURCE_DIRS.join(",")
          }`,
        ),
      );
      assert.ok(neuronArgs.includes(`--allow-ffi=${REPO_ROOT}/cuda_plugin/build/libcortex_plugin.so`));
      assert.equal(neuronArgs.some((a) => a.startsWith("--allow-write")), false, "offline: no write");
      assert.ok(port.length > 0);

      const [gatewayArgs] = (await _commandLines(`${dir}/cortex.toml`)).filter((a) =>
        a.some((x) => x.endsWith("gateway/main.ts"))
      );
      assert.ok(gatewayArgs, "the gateway process is running");
      assert.ok(gatewayArgs.includes(`--allow-net=127.0.0.1,127.0.0.1:${port}`), gatewayArgs.join(" "));
      assert.ok(gatewayArgs.includes(`--allow-read=${dir}/cortex.toml,${dir}/models.toml`));
      for (const args of [neuronArgs, gatewayArgs]) {
        assert.equal(
          args.some((a) =>
            a === "-A" || a === "--allow-all" || a === "--allow-run" || a.startsWith("--allow-run=")
          ),
          false,
        );
        assert.ok(args.includes("--no-prompt"));
      }

      // The fleet works through them: the CLI sees the node and its model.
      for (let i = 0;; i++) {
        const status = await runCortex(["status", "--json", "--gateway", url]);
        const node = JSON.parse(status.stdout).nodes[0];
        if (
          node.healthy &&
          node.models.some((m: { id: string; status: string }) => m.id === "tiny" && m.status === "loaded")
        ) break;
        assert.ok(i < 100, `node never became healthy with tiny loaded: ${status.stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }

      const gatewayStatus = await gateway.stop("SIGTERM");
      assert.equal(gatewayStatus.code, 0, gateway.stderr());
      assert.equal(await isListening(url), false);
      const neuronStatus = await neuron.stop("SIGINT");
      // The signal goes to the `deno task` wrapper, which forwards it; under load the wrapper may
      // report the interrupt (130) although the neuron under it stopped cleanly with 0.
      assert.ok(
        neuronStatus.code === 0 || (neuronStatus.code === 130 && /neuron: stopped/.test(neuron.stderr())),
        `exit ${neuronStatus.code}: ${neuron.stderr()}`,
      );
      assert.equal(await isListening(neuronUrl), false);
      assert.equal(neuron.stderr().match(/draining in-flight requests/g)?.length, 1, neuron.stderr());
    } finally {
      await gateway?.stop("SIGTERM");
      await neuron.stop("SIGTERM");
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("cortex serve and cortex neuron: a bad config is one line naming the file and key, exit 2 (as the neuron and gateway exit on a bad config)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cortex-cli-badconfig-" });
  try {
    await Deno.writeTextFile(`${dir}/cortex.toml`, `[eviction]\nstrategy = "lfu"\n`);
    const serve = await runCortex(["serve", "--config", `${dir}/cortex.toml`]);
    assert.equal(serve.code, 2);
    assert.match(
      serve.stderr.trim(),
      /^cortex: .*cortex\.toml: eviction\.strategy: expected "lru" \| "priority", got "lfu" — fix it/,
    );
    assert.equal(serve.stderr.trim().split("\n").length, 1);
    const neuron = await runCortex(["neuron", "--config", `${dir}/missing.toml`]);
    assert.equal(neuron.code, 2);
    assert.match(neuron.stderr.trim(), /^cortex: .*missing\.toml: file not found — fix it/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
