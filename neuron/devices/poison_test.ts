// A fatal error poisons one device: its jobs then fail fast, the other device keeps computing.
import assert from "node:assert/strict";
import { GREEDY, Plugin, PluginError } from "./mod.ts";
import { MODELS_DIR } from "./_test_helpers.ts";

const FOLDER = `${MODELS_DIR}/tiny-qwen3-f32`;

Deno.test("poisoning device 1 fails its later jobs fast while device 0 keeps computing", async () => {
  const plugin = Plugin.open({ cpuDevices: 2, cpuThreadsPerDevice: 1 });
  try {
    const healthy = await plugin.loadModel(FOLDER, { devices: [0], contextLength: 32 });
    const doomed = await plugin.loadModel(FOLDER, { devices: [1], contextLength: 32 });
    const doomedSequence = await doomed.newSequence();
    const healthySequence = await healthy.newSequence();
    const [before] = await healthy.step([{
      sequence: healthySequence,
      tokens: [10, 11, 12],
      sampling: GREEDY,
    }]);

    // Submitted in one synchronous run while device 1 is busy: a fault, then a step queued behind it.
    const busy = plugin.testHookSleep(1, 300);
    const fault = assert.rejects(
      plugin.testHookPoison(1),
      (e: unknown) => e instanceof PluginError && e.code === "internal" && /debug fault/.test(e.message),
    );
    const queuedBehind = assert.rejects(
      doomed.step([{ sequence: doomedSequence, tokens: [10], sampling: GREEDY }]),
      (e: unknown) => e instanceof PluginError && e.code === "device_poisoned",
    );
    await Promise.all([busy, fault, queuedBehind]);

    const devices = plugin.devices();
    assert.equal(devices[1].poisoned, true);
    assert.equal(devices[0].poisoned, false);

    // Later submits to the poisoned device are refused at submit time, with a message that says why.
    await assert.rejects(
      doomed.step([{ sequence: doomedSequence, tokens: [10], sampling: GREEDY }]),
      (e: unknown) =>
        e instanceof PluginError && e.code === "device_poisoned" &&
        /device 1 \(cpu-dev-1\) is poisoned/.test(e.message) &&
        /debug fault/.test(e.message),
    );
    await assert.rejects(
      plugin.queryMemory(1),
      (e: unknown) => e instanceof PluginError && e.code === "device_poisoned",
    );

    // Device 0 still computes, and computes the same thing as before.
    const again = await healthy.newSequence();
    const [after] = await healthy.step([{ sequence: again, tokens: [10, 11, 12], sampling: GREEDY }]);
    assert.equal(after.token, before.token);
    await healthy.unload();
  } finally {
    plugin.close();
  }
});
