// The process exits cleanly (no SIGSEGV / std::terminate) however it ends while worker threads run.
import assert from "node:assert/strict";
import { REPO_ROOT } from "./_test_helpers.ts";

const LIBRARY = `${REPO_ROOT}/cuda_plugin/build/libcortex_plugin.so`;
const MOD = new URL("./mod.ts", import.meta.url).href;

async function runScript(body: string): Promise<{ code: number; signal: string | null; stderr: string }> {
  const dir = await Deno.makeTempDir({ prefix: "cortex-exit-" });
  try {
    const script = `${dir}/script.ts`;
    await Deno.writeTextFile(script, `import { Plugin } from "${MOD}";\n${body}\n`);
    const { code, signal, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-lock", "--allow-read", `--allow-ffi=${LIBRARY}`, script],
      stdout: "piped",
      stderr: "piped",
      cwd: REPO_ROOT,
    }).output();
    return { code, signal, stderr: new TextDecoder().decode(stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("an uncaught error while a device job runs exits with the error, not a crash", async () => {
  const result = await runScript(`
    const plugin = Plugin.open({ cpuDevices: 2 });
    plugin.testHookSleep(0, 30000).catch(() => {});
    plugin.testHookSleep(1, 30000).catch(() => {});
    setTimeout(() => { throw new Error("boom from the script"); }, 100);
  `);
  assert.equal(result.signal, null, result.stderr);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /boom from the script/);
});

Deno.test("an unhandled rejection while a device job runs exits with the error, not a crash", async () => {
  const result = await runScript(`
    const plugin = Plugin.open();
    plugin.testHookSleep(0, 30000).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 100));
    Promise.reject(new Error("rejected in the script"));
  `);
  assert.equal(result.signal, null, result.stderr);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /rejected in the script/);
});

Deno.test("Deno.exit while a device job runs, and a script that never closes the plugin, exit cleanly", async () => {
  const exited = await runScript(`
    const plugin = Plugin.open();
    plugin.testHookSleep(0, 30000).catch(() => {});
    setTimeout(() => Deno.exit(3), 100);
  `);
  assert.equal(exited.signal, null, exited.stderr);
  assert.equal(exited.code, 3, exited.stderr);

  const unclosed = await runScript(`
    const plugin = Plugin.open({ cpuDevices: 2 });
    await plugin.queryMemory(0);
    await plugin.queryMemory(1);
  `);
  assert.equal(unclosed.signal, null, unclosed.stderr);
  assert.equal(unclosed.code, 0, unclosed.stderr);
});
