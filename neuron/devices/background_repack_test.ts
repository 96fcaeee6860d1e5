// Background repack (LoadOptions.repack): a model served from the mapped file's layout, repacked at
// load, or repacked while the device is idle gives the same bits on every kernel path — so the
// switch, whenever it happens, is invisible to a sequence — and reports its progress.
import assert from "node:assert/strict";
import { GREEDY, type Model, Plugin, type RepackWhen } from "./mod.ts";
import { cpuIsasToTest, logitsOf, pluginError, withTempDir } from "./_test_helpers.ts";
import { GGUF_FIXTURES, ggufFixturesAvailable } from "./_gguf_fixtures.ts";
import { SMALL_QWEN3, writeSyntheticModel } from "./_safetensors_writer.ts";

const PROMPT = [1, 5, 9, 17, 33, 65, 80, 7, 3, 11, 2, 40, 41, 42, 43, 44, 45, 46, 47];
const GGUFS = ["q8_0", "q4_0", "q4_k_m", "q6_k", "bf16"];
const fixtures = ggufFixturesAvailable();

// Polls until nothing is pending (the worker repacks between jobs; a tiny model takes milliseconds).
async function repacked(model: Model): Promise<void> {
  for (let i = 0; i < 2000 && model.repackState().pendingBytes > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.equal(model.repackState().pendingBytes, 0, "the background repack did not finish");
}

// Prompt logits and 6 greedy tokens, the tokens one step at a time.
async function outputs(model: Model): Promise<{ logits: Float32Array; tokens: number[] }> {
  const logits = await logitsOf(model, PROMPT);
  const sequence = await model.newSequence();
  const tokens: number[] = [];
  let feed = PROMPT;
  for (let i = 0; i < 6; i++) {
    const [result] = await model.step([{ sequence, tokens: feed, sampling: GREEDY }]);
    tokens.push(result.token!);
    feed = [result.token!];
  }
  await sequence.free();
  return { logits, tokens };
}

async function sameBitsEveryWay(path: string, label: string): Promise<void> {
  for (const cpuIsa of cpuIsasToTest()) {
    const plugin = Plugin.open({ cpuIsa });
    try {
      const runs = new Map<RepackWhen, { logits: Float32Array; tokens: number[] }>();
      for (const repack of ["never", "load", "background"] as const) {
        const model = await plugin.loadModel(path, { contextLength: 64, repack });
        if (repack !== "background") {
          assert.deepEqual(model.info.repack, {
            pendingBytes: 0,
            seconds: 0,
            readySeconds: null,
            failed: false,
          });
          assert.equal(model.info.load.deferredBytes, 0);
        } else {
          // Every matrix on the interleaving paths; quantized ones stay in place on the scalar path.
          const deferred = model.info.load.deferredBytes;
          if (cpuIsa !== "scalar" || !/^q/.test(label)) {
            assert.ok(
              deferred > 0.5 * model.info.weightBytes,
              `${label} ${cpuIsa}: ${deferred} bytes deferred`,
            );
          }
          await repacked(model);
          const done = model.repackState();
          assert.equal(done.failed, false);
          assert.ok(
            done.readySeconds !== null && done.readySeconds >= model.info.load.seconds,
            `${label} ${cpuIsa}: ready after ${done.readySeconds} s, load ${model.info.load.seconds} s`,
          );
        }
        runs.set(repack, await outputs(model));
        await model.unload();
      }
      const never = runs.get("never")!;
      assert.ok(never.logits.some((v) => Math.abs(v) > 0.1), `${label}: logits are not all near zero`);
      for (const repack of ["load", "background"] as const) {
        const run = runs.get(repack)!;
        assert.deepEqual(run.tokens, never.tokens, `${label} ${cpuIsa} ${repack}: greedy tokens`);
        const differing = run.logits.findIndex((v, i) => !Object.is(v, never.logits[i]));
        assert.equal(
          differing,
          -1,
          `${label} ${cpuIsa} ${repack}: logit ${differing} differs from the mapped layout's`,
        );
      }
    } finally {
      plugin.close();
    }
  }
}

for (const dtype of ["F32", "BF16", "F16"] as const) {
  Deno.test(`a ${dtype} safetensors model gives the same bits mapped, repacked at load and repacked in the background`, async () => {
    await withTempDir(async (dir) => {
      await writeSyntheticModel(dir, { ...SMALL_QWEN3, dtype, tied: dtype === "BF16" });
      await sameBitsEveryWay(dir, dtype);
    });
  });
}

for (const quant of GGUFS) {
  Deno.test({
    name: `a ${quant} GGUF gives the same bits mapped, repacked at load and repacked in the background`,
    ignore: !fixtures,
    fn: () => sameBitsEveryWay(`${GGUF_FIXTURES}/qwen3-tiny/qwen3-tiny-${quant}.gguf`, quant),
  });
}

Deno.test({
  name: "a background repack reports the bytes it has left, and a model unloaded part way frees its copies",
  ignore: !fixtures,
  async fn() {
    const path = `${GGUF_FIXTURES}/qwen3moe-tiny/qwen3moe-tiny-q8_0.gguf`;
    const plugin = Plugin.open({ cpuIsa: cpuIsasToTest()[0] });
    try {
      const before = (await plugin.queryMemory(0)).freeBytes;
      for (let i = 0; i < 5; i++) {
        const model = await plugin.loadModel(path, { contextLength: 64 });
        const state = model.repackState();
        assert.ok(
          state.pendingBytes <= model.info.weightBytes,
          `${state.pendingBytes} pending of ${model.info.weightBytes}`,
        );
        await model.unload(); // at once: usually before the worker has repacked every expert
      }
      assert.equal(
        (await plugin.queryMemory(0)).freeBytes,
        before,
        "the unloaded models gave their memory back",
      );
      const model = await plugin.loadModel(path, { contextLength: 64 });
      await repacked(model);
      const state = model.repackState();
      if (cpuIsasToTest()[0] !== "scalar") {
        assert.ok(state.seconds > 0, "some repack time was reported");
        assert.ok(
          model.info.load.deferredBytes > 0.5 * model.info.weightBytes,
          "the load left the experts to repack",
        );
      }
    } finally {
      plugin.close();
    }
  },
});

Deno.test("an unknown repack value is refused naming it", async () => {
  await withTempDir(async (dir) => {
    await writeSyntheticModel(dir, SMALL_QWEN3);
    const plugin = Plugin.open();
    try {
      await assert.rejects(
        plugin.loadModel(dir, { repack: "later" as RepackWhen }),
        pluginError("invalid_argument", /repack "later" is not one of background, load, never/),
      );
      await assert.rejects(
        plugin.loadModel(dir, { repack: "toString" as RepackWhen }),
        pluginError("invalid_argument", /repack "toString"/),
      );
    } finally {
      plugin.close();
    }
  });
});
