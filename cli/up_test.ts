// `cortex up` flags a new user reaches for: a state directory anywhere (the command re-runs itself
// with write access derived from it), `--name` for the served id, and a port clash that names the
// address.
import assert from "node:assert/strict";
import { runTask, startUp } from "./_test_helpers.ts";

Deno.test("cortex up: --state-dir outside the repository and --name serve the model under that id", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "cortex-up-anywhere-" });
  const stack = await startUp({ stateDir, args: ["--name", "my-demo"] });
  try {
    assert.equal(stack.model, "my-demo");
    const configs = [...Deno.readDirSync(stateDir)].map((e) => e.name).sort();
    assert.deepEqual(configs, ["cortex.toml", "models.toml", "neuron.toml"]);
    const list = await (await fetch(`${stack.url}/v1/models`)).json();
    assert.ok(list.data.some((m: { id: string }) => m.id === "my-demo"), JSON.stringify(list));
  } finally {
    const status = await stack.stop();
    assert.equal(status.code, 0, stack.task.stderr());
  }
});

Deno.test("cortex up: a port already in use is named in the error", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  try {
    const { code, stdout, stderr } = await runTask("serve", [
      "--port",
      "0",
      "--neuron-port",
      String(port),
      "--state-dir",
      `.cache/cortex-up/test-clash-${port}`,
    ]);
    assert.notEqual(code, 0);
    assert.match(
      stdout + stderr,
      new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use`),
    );
  } finally {
    taken.close();
    await Deno.remove(`.cache/cortex-up/test-clash-${port}`, { recursive: true }).catch(() => {});
  }
});
