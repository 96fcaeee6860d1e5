// The event loop stays free while device work runs, and worker threads are real, named OS threads.
import assert from "node:assert/strict";
import { Plugin, PluginError } from "./mod.ts";

async function threadNames(): Promise<string[]> {
  const { stdout, success } = await new Deno.Command("ps", {
    args: ["-L", "-o", "comm=", "-p", String(Deno.pid)],
  })
    .output();
  assert.ok(success, "ps -L failed");
  return new TextDecoder().decode(stdout).split("\n").map((name) => name.trim()).filter(Boolean);
}

Deno.test("Deno.serve answers requests while a device job runs for over a second", async () => {
  const plugin = Plugin.open({ cpuDevices: 1 });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("alive"));
  const url = `http://127.0.0.1:${server.addr.port}/`;
  try {
    let settled = false;
    // A long job (cut short when the plugin closes), so the checks below never race its end.
    const job = plugin.testHookSleep(0, 60_000).finally(() => settled = true);
    const started = performance.now();
    let answered = 0;
    while (performance.now() - started < 1200) {
      const response = await fetch(url);
      assert.equal(await response.text(), "alive");
      assert.equal(settled, false, "the device job must still be running");
      answered++;
    }
    assert.ok(answered >= 2, `only ${answered} requests answered while the job ran`);
    plugin.close();
    await assert.rejects(
      job,
      (error: unknown) => error instanceof PluginError && /closed/.test(error.message),
    );
  } finally {
    plugin.close();
    await server.shutdown();
  }
});

Deno.test("worker threads are named cpu-dev-N and visible to ps -L", async () => {
  const plugin = Plugin.open({ cpuDevices: 2, cpuThreadsPerDevice: 2 });
  try {
    await Promise.all([plugin.queryMemory(0), plugin.queryMemory(1)]);
    // ps reads /proc while the test runner's own threads come and go; a listing can miss
    // threads, so read it a few times before judging.
    const expected = ["cpu-dev-0", "cpu-dev-1", "cpu-dev-0.1"];
    let names = await threadNames();
    for (let attempt = 0; attempt < 10 && !expected.every((name) => names.includes(name)); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      names = await threadNames();
    }
    assert.equal(plugin.closed, false, "the plugin must still be open");
    assert.ok(names.includes("cpu-dev-0"), `threads: ${names.join(", ")}`);
    assert.ok(names.includes("cpu-dev-1"), `threads: ${names.join(", ")}`);
    assert.ok(names.includes("cpu-dev-0.1"), `compute helper of device 0 missing: ${names.join(", ")}`);
  } finally {
    plugin.close();
  }
});

Deno.test("hundreds of concurrent device jobs resolve through one completion queue", async () => {
  const plugin = Plugin.open({ cpuDevices: 2 });
  try {
    const jobs = Array.from({ length: 400 }, (_, i) => plugin.queryMemory(i % 2));
    const results = await Promise.all(jobs);
    assert.equal(results.length, 400);
    for (const memory of results) assert.ok(memory.totalBytes > 0 && memory.freeBytes <= memory.totalBytes);
    // A file read still completes promptly: the waits do not occupy Deno's blocking pool.
    const slow = Array.from({ length: 100 }, () => plugin.testHookSleep(0, 1));
    assert.ok((await Deno.readTextFile(new URL(import.meta.url))).includes("completion queue"));
    await Promise.all(slow);
  } finally {
    plugin.close();
  }
});
