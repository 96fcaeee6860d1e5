// Property tests of the native JSON / config / safetensors-header parsers, driven through loadModel:
// any JSON spelling of a valid config loads the same model; any damaged file is a PluginError.
import assert from "node:assert/strict";
import { Plugin, PluginError } from "./mod.ts";
import { MODELS_DIR } from "./_test_helpers.ts";

const SOURCE = `${MODELS_DIR}/tiny-qwen3-f32`;

function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

/** Serialises a JSON value with random whitespace, key order, number spelling and string escapes. */
function spell(value: unknown, random: () => number): string {
  const space = (): string => [" ", "\n", "\t", "\r\n  ", ""][Math.floor(random() * 5)];
  if (typeof value === "number") {
    if (Number.isInteger(value) && random() < 0.3) return `${value}.0`;
    if (value !== 0 && random() < 0.3) return value.toExponential();
    return JSON.stringify(value);
  }
  if (typeof value === "string") {
    const escape = (c: string): string =>
      random() < 0.3 ? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}` : JSON.stringify(c).slice(1, -1);
    return `"${value.split("").map(escape).join("")}"`;
  }
  if (Array.isArray(value)) {
    return `[${space()}${value.map((v) => spell(v, random)).join(`,${space()}`)}${space()}]`;
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).sort(() => random() - 0.5);
    return `{${space()}${
      entries.map(([k, v]) => `${spell(k, random)}${space()}:${space()}${spell(v, random)}`).join(
        `,${space()}`,
      )
    }${space()}}`;
  }
  return JSON.stringify(value);
}

Deno.test("any JSON spelling of config.json loads the same model", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cortex-json-" });
  const plugin = Plugin.open();
  try {
    const config = JSON.parse(await Deno.readTextFile(`${SOURCE}/config.json`));
    const expected = (await plugin.loadModel(SOURCE, { contextLength: 16, maxSequences: 1 })).info;
    await Deno.copyFile(`${SOURCE}/model.safetensors`, `${dir}/model.safetensors`);
    for (let seed = 1; seed <= 40; seed++) {
      const random = prng(seed);
      const extra = {
        note: 'ünïcode ✓ 🦕 "quoted" \\ slash',
        nested: [1, [2, { deep: null }], true, false, -0.5e-3],
      };
      await Deno.writeTextFile(`${dir}/config.json`, spell({ ...config, ...extra }, random));
      const model = await plugin.loadModel(dir, { contextLength: 16, maxSequences: 1 });
      // Everything but the load's timings and how far its background repack had come, which differ
      // from one load to the next.
      assert.deepEqual(
        model.info,
        { ...expected, devices: model.info.devices, load: model.info.load, repack: model.info.repack },
        `seed ${seed}`,
      );
      await model.unload();
    }
  } finally {
    plugin.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("damaged config.json and safetensors files always end in a PluginError, never a crash", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cortex-damage-" });
  const plugin = Plugin.open();
  try {
    const config = await Deno.readFile(`${SOURCE}/config.json`);
    const weights = await Deno.readFile(`${SOURCE}/model.safetensors`);
    const headerEnd = 8 + Number(new DataView(weights.buffer).getBigUint64(0, true));
    const random = prng(2024);
    let refused = 0;
    for (let trial = 0; trial < 80; trial++) {
      const damagedConfig = trial % 2 === 0;
      const bytes = (damagedConfig ? config : weights).slice();
      const limit = damagedConfig ? bytes.length : headerEnd;
      const at = Math.floor(random() * limit);
      const truncate = trial % 4 < 2;
      const damaged = truncate ? bytes.slice(0, at) : (bytes[at] = Math.floor(random() * 256), bytes);
      await Deno.writeFile(`${dir}/config.json`, damagedConfig ? damaged : config);
      await Deno.writeFile(`${dir}/model.safetensors`, damagedConfig ? weights : damaged);
      try {
        const model = await plugin.loadModel(dir, { contextLength: 16, maxSequences: 1 });
        await model.unload(); // a harmless change (e.g. inside an unused string) may still load
      } catch (error) {
        assert.ok(error instanceof PluginError, `trial ${trial}: ${error}`);
        assert.ok(
          ["bad_model", "unsupported_architecture", "invalid_argument"].includes(error.code),
          `trial ${trial}: ${error.code} ${error.message}`,
        );
        refused++;
      }
    }
    assert.ok(refused >= 60, `only ${refused} of 80 damaged files were refused`);
    assert.equal(plugin.devices()[0].poisoned, false);
  } finally {
    plugin.close();
    await Deno.remove(dir, { recursive: true });
  }
});
