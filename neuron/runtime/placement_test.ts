import assert from "node:assert/strict";
import { CortexError } from "@cortex/core/errors";
import { type DeviceInfo, PluginError } from "../devices/mod.ts";
import { defaultContextLength, loadErrorToCortex, pickDevices } from "./placement.ts";

const MB = 2 ** 20;
// Only the fields placement reads are set; the engine may add more to DeviceInfo.
const device = (index: number, freeMb: number, poisoned = false): DeviceInfo => ({
  index,
  name: `cpu${index}`,
  backend: "cpu",
  memoryTotalBytes: 100 * MB,
  memoryFreeBytes: freeMb * MB,
  computeCapability: null,
  cpuFeatures: null,
  threads: 1,
  poisoned,
} as Partial<DeviceInfo> as DeviceInfo);

Deno.test("placement: the healthy device with the most free memory wins; requested devices must exist", () => {
  const devices = [device(0, 10), device(1, 50), device(2, 90, true)];
  assert.deepEqual(pickDevices(devices, null, 5 * MB), [1]);
  assert.deepEqual(pickDevices(devices, [0], 5 * MB), [0]);
  assert.throws(() => pickDevices(devices, [0, 7], 0), (error: unknown) => {
    assert.ok(error instanceof CortexError);
    assert.equal(error.status, 400);
    assert.equal(error.param, "devices[1]");
    assert.match(error.message, /no usable device 7 on this neuron \(devices: 0, 1, 2\)/);
    return true;
  });
  assert.throws(() => pickDevices([device(0, 9, true)], null, 0), /no usable device/);
});

Deno.test("placement: engine load errors map to the neuron's codes, out-of-memory with the numbers", () => {
  const need = { weights: 2 * MB, kv: 6 * MB, total: 8 * MB };
  const oom = loadErrorToCortex(new PluginError("out_of_memory", "needs 8 MiB"), "m", need, 0, device(0, 3));
  assert.equal(oom.status, 507);
  assert.equal(oom.code, "insufficient_memory");
  assert.deepEqual(oom.extras, { required_mb: 8, available_mb: 3, device: 0 });
  assert.match(oom.message, /^model 'm' does not fit in the memory of device 0: needs 8 MiB$/);
  const cases: [PluginError, number, string][] = [
    [new PluginError("bad_model", "x"), 422, "bad_model_folder"],
    [new PluginError("not_found", "x"), 422, "bad_model_folder"],
    [new PluginError("unsupported_architecture", "x"), 422, "unsupported_architecture"],
    [new PluginError("invalid_argument", "x"), 400, "invalid_request_body"],
    [new PluginError("device_poisoned", "x"), 503, "backend_unavailable"],
    [new PluginError("internal", "x"), 500, "model_load_failed"],
  ];
  for (const [error, status, code] of cases) {
    const mapped = loadErrorToCortex(error, "m", need, 0, undefined);
    assert.equal(mapped.status, status, error.code);
    assert.equal(mapped.code, code, error.code);
  }
});

Deno.test("placement: a load naming no context gets max_position_embeddings, at most 4096", () => {
  assert.equal(defaultContextLength(512), 512);
  assert.equal(defaultContextLength(262_144), 4096);
  assert.equal(defaultContextLength(null), 4096);
});
