// The plugin opens, reports its ABI and devices, and closes idempotently.
import assert from "node:assert/strict";
import { Plugin, PluginError } from "./mod.ts";

Deno.test("plugin reports the ABI version it was built with", () => {
  const plugin = Plugin.open();
  try {
    assert.equal(plugin.abiVersion, 5);
  } finally {
    plugin.close();
  }
});

Deno.test("the CPU can be split into devices with a budget and a thread count each", () => {
  const plugin = Plugin.open({ cpuDevices: 3, cpuMemoryBudgetBytes: 123_456_789, cpuThreadsPerDevice: 2 });
  try {
    const cpus = plugin.devices().filter((device) => device.backend === "cpu");
    assert.equal(cpus.length, 3);
    for (const device of cpus) {
      assert.equal(device.memoryTotalBytes, 123_456_789);
      assert.equal(device.memoryFreeBytes, 123_456_789);
      assert.equal(device.threads, 2);
      assert.equal(device.poisoned, false);
      assert.equal(device.computeCapability, null);
      assert.equal(typeof device.cpuFeatures, "string");
      assert.ok(device.name.length > 0);
    }
    assert.deepEqual(cpus.map((device) => device.index), [...cpus.keys()].map((i) => i + cpus[0].index));
  } finally {
    plugin.close();
  }
});

Deno.test("without a budget, CPU devices split physical memory evenly", () => {
  const whole = Plugin.open({ cpuDevices: 1 });
  const split = Plugin.open({ cpuDevices: 2 });
  try {
    const total = whole.devices()[0].memoryTotalBytes;
    for (const device of split.devices()) assert.equal(device.memoryTotalBytes, Math.floor(total / 2));
  } finally {
    whole.close();
    split.close();
  }
});

Deno.test("without a GPU driver there are no CUDA devices, and CPU defaults are sane", () => {
  const plugin = Plugin.open();
  try {
    const devices = plugin.devices();
    const cuda = devices.filter((device) => device.backend === "cuda");
    for (const device of cuda) assert.match(device.computeCapability ?? "", /^\d+\.\d+$/);
    const cpu = devices.filter((device) => device.backend === "cpu");
    assert.equal(cpu.length, 1);
    assert.ok(cpu[0].memoryTotalBytes > 0);
    assert.ok(cpu[0].threads >= 1);
  } finally {
    plugin.close();
  }
});

Deno.test("two plugins in one process keep separate runtimes", async () => {
  const first = Plugin.open({ cpuMemoryBudgetBytes: 1_000_000 });
  const second = Plugin.open({ cpuMemoryBudgetBytes: 2_000_000 });
  try {
    assert.equal(first.devices()[0].memoryTotalBytes, 1_000_000);
    assert.equal(second.devices()[0].memoryTotalBytes, 2_000_000);
    first.close();
    assert.equal(first.closed, true);
    assert.deepEqual(await second.queryMemory(0), { totalBytes: 2_000_000, freeBytes: 2_000_000 });
  } finally {
    first.close();
    second.close();
  }
});

Deno.test("close rejects pending jobs and later calls, and is safe to call twice", async () => {
  const plugin = Plugin.open();
  const pending = plugin.testHookSleep(0, 60_000);
  plugin.close();
  plugin.close();
  await assert.rejects(pending, /closed/);
  await assert.rejects(plugin.queryMemory(0), /closed/);
  await assert.rejects(plugin.loadModel("/nowhere"), /closed/);
});

Deno.test("cpuIsa picks the CPU kernels; an unknown or unsupported one is refused", () => {
  const auto = Plugin.open();
  const best = auto.devices()[0].cpuIsa;
  auto.close();
  assert.ok(["amx", "avx512", "avx2", "scalar"].includes(best ?? ""), `cpuIsa ${best}`);
  const scalar = Plugin.open({ cpuIsa: "scalar" });
  assert.equal(scalar.devices()[0].cpuIsa, "scalar");
  scalar.close();
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => Plugin.open({ cpuIsa: "sse" as any }),
    (error: unknown) =>
      error instanceof PluginError && error.code === "invalid_argument" && /cpuIsa/.test(error.message),
  );
  if (best !== "amx") {
    assert.throws(
      () => Plugin.open({ cpuIsa: "amx" }),
      (error: unknown) =>
        error instanceof PluginError && error.code === "invalid_argument" &&
        /not supported/.test(error.message),
    );
  }
});

Deno.test("the bandwidth probe streams a buffer on the device and reports bytes per second", async () => {
  const plugin = Plugin.open({ cpuThreadsPerDevice: 1 });
  try {
    const bandwidth = await plugin.measureReadBandwidth(0, 64 * 2 ** 20);
    assert.ok(Number.isFinite(bandwidth) && bandwidth > 1e8, `bandwidth ${bandwidth}`);
    await assert.rejects(
      () => plugin.measureReadBandwidth(0, 1024),
      (error: unknown) => error instanceof PluginError && error.code === "invalid_argument",
    );
  } finally {
    plugin.close();
  }
});
