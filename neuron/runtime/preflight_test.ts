import assert from "node:assert/strict";
import { CortexError } from "@cortex/core/errors";
import type { DeviceInfo } from "../devices/mod.ts";
import { configNeed, type PreflightLoad, refuseUnfittingConfig } from "./preflight.ts";

const MB = 2 ** 20;
const CONFIGS = new URL("../testdata/configs/", import.meta.url).pathname;
const qwen30b = JSON.parse(await Deno.readTextFile(`${CONFIGS}/Qwen3-30B-A3B/config.json`));
// Only the fields the preflight reads are set.
const device = (index: number, freeMb: number, poisoned = false): DeviceInfo => ({
  index,
  memoryFreeBytes: freeMb * MB,
  poisoned,
} as Partial<DeviceInfo> as DeviceInfo);
const load = (devices: DeviceInfo[], more: Partial<PreflightLoad> = {}): PreflightLoad => ({
  modelId: "Qwen/Qwen3-30B-A3B",
  quant: null,
  contextLength: null,
  maxSequences: 1,
  devices,
  requested: null,
  ...more,
});

Deno.test("preflight: the need is the config's bf16 weights plus f32 KV for the slots", () => {
  const need = configNeed(qwen30b, null, 4096, 2)!;
  assert.equal(need.weights, 61_064_245_248);
  // 48 layers × K and V × 4 KV heads × 128 × 4 bytes per token.
  assert.equal(need.kv, 48 * 2 * 4 * 128 * 4 * 4096 * 2);
  assert.equal(need.total, need.weights + need.kv);
  assert.ok(configNeed(qwen30b, "q4_k_m", 4096, 2)!.weights < need.weights / 3, "ISQ shrinks the weights");
  assert.equal(configNeed({ ...qwen30b, quantization_config: { quant_method: "fp8" } }, null, 4096, 1), null);
  assert.equal(configNeed({ ...qwen30b, model_type: "mistral" }, null, 4096, 1), null);
  assert.equal(configNeed(qwen30b, "q3_k", 4096, 1), null, "an unknown quant is the loader's to refuse");
});

Deno.test("preflight: a model that fits on no device is a 507 naming the estimate and the free memory", () => {
  const devices = [device(0, 24_000), device(1, 16_000), device(2, 200_000, true)];
  assert.throws(() => refuseUnfittingConfig(qwen30b, load(devices)), (error: unknown) => {
    assert.ok(error instanceof CortexError);
    assert.equal(error.status, 507);
    assert.equal(error.code, "insufficient_memory");
    assert.match(
      error.message,
      /^model 'Qwen\/Qwen3-30B-A3B' needs at least 59004 MB \(weights 58236 MB from its config\.json, KV cache 768 MB for 1 sequences × 4096 tokens\); the most free on one device is 24000 MB \(device 0\); refused before downloading its weights$/,
    );
    assert.deepEqual(error.extras, { required_mb: 59004, available_mb: 24000, device: 0 });
    return true;
  });
  // Fits on one big device; a poisoned one does not count.
  refuseUnfittingConfig(qwen30b, load([...devices, device(3, 80_000)]));
  // Two requested devices hold it together; quantized it fits on one.
  refuseUnfittingConfig(qwen30b, load([device(0, 40_000), device(1, 40_000)], { requested: [0, 1] }));
  refuseUnfittingConfig(qwen30b, load(devices, { quant: "q4_k_m" }));
  assert.throws(
    () => refuseUnfittingConfig(qwen30b, load(devices, { requested: [0, 1] })),
    /devices 0, 1 have 40000 MB free together/,
  );
  assert.throws(
    () =>
      refuseUnfittingConfig(qwen30b, load(devices, { quant: "q8_0", contextLength: 32768, maxSequences: 8 })),
    /weights quantized to q8_0 \d+ MB from its config\.json, KV cache 49152 MB for 8 sequences × 32768 tokens/,
  );
  // What the config cannot say is let through for the engine to judge.
  refuseUnfittingConfig({ ...qwen30b, model_type: "mistral" }, load(devices));
  refuseUnfittingConfig(qwen30b, load([device(0, 1, true)]));
});
