// Bad inputs end in precise PluginErrors (code + a message naming the file, tensor or numbers),
// never in a crash or a poisoned device.
import assert from "node:assert/strict";
import { GREEDY, Plugin, PluginError, type PluginErrorCode } from "./mod.ts";
import { MODELS_DIR, pluginError, STORIES_DIR, storiesAvailable } from "./_test_helpers.ts";
import {
  encodeSafetensors,
  syntheticConfig,
  type SyntheticShape,
  syntheticTensors,
} from "./_safetensors_writer.ts";

const QWEN = `${MODELS_DIR}/tiny-qwen3-f32`;
const SHAPE: SyntheticShape = {
  architecture: "LlamaForCausalLM",
  hidden: 32,
  intermediate: 48,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  headDim: 8,
  vocab: 64,
  dtype: "F32",
  tied: true,
};

/** Writes a model folder whose config/tensors are edited by the callbacks. */
async function writeModel(
  root: string,
  name: string,
  edit: {
    config?: (c: Record<string, unknown>) => void;
    tensors?: (bytes: Uint8Array) => Uint8Array;
    drop?: string;
  } = {},
): Promise<string> {
  const folder = `${root}/${name}`;
  await Deno.mkdir(folder, { recursive: true });
  const config = syntheticConfig(SHAPE);
  edit.config?.(config);
  await Deno.writeTextFile(`${folder}/config.json`, JSON.stringify(config));
  const bytes = encodeSafetensors(syntheticTensors(SHAPE).filter((t) => t.name !== edit.drop));
  await Deno.writeFile(`${folder}/model.safetensors`, edit.tensors ? edit.tensors(bytes) : bytes);
  return folder;
}

Deno.test("bad model folders are refused with precise errors", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "cortex-bad-models-" });
  const plugin = Plugin.open();
  try {
    const noConfig = `${root}/no-config`;
    await Deno.mkdir(noConfig);
    await Deno.copyFile(`${QWEN}/model.safetensors`, `${noConfig}/model.safetensors`);
    const cases: { name: string; folder: string; code: PluginErrorCode; pattern: RegExp }[] = [
      {
        name: "missing folder",
        folder: `${root}/nothing-here`,
        code: "not_found",
        pattern: /nothing-here does not exist/,
      },
      {
        name: "no config.json",
        folder: noConfig,
        code: "bad_model",
        pattern: /no-config has no config\.json/,
      },
      {
        name: "unknown architecture",
        folder: await writeModel(root, "gpt2", { config: (c) => c.architectures = ["GPT2LMHeadModel"] }),
        code: "unsupported_architecture",
        pattern:
          /'GPT2LMHeadModel' is not supported \(supported: LlamaForCausalLM, Qwen3ForCausalLM, .*Qwen3NextForCausalLM\)/,
      },
      {
        name: "truncated safetensors",
        folder: await writeModel(root, "truncated", { tensors: (b) => b.slice(0, b.length - 1000) }),
        code: "bad_model",
        pattern:
          /model\.safetensors is truncated: tensor '[^']+' in model\.safetensors needs data bytes \[\d+, \d+\) but the data section holds only \d+ bytes/,
      },
      {
        name: "truncated header",
        folder: await writeModel(root, "short-header", { tensors: (b) => b.slice(0, 100) }),
        code: "bad_model",
        pattern: /model\.safetensors is truncated: header claims \d+ bytes/,
      },
      {
        name: "missing tensor",
        folder: await writeModel(root, "missing", { drop: "model.layers.1.mlp.up_proj.weight" }),
        code: "bad_model",
        pattern: /missing tensor 'model\.layers\.1\.mlp\.up_proj\.weight' \(needed by LlamaForCausalLM\)/,
      },
      {
        name: "misshaped tensor",
        folder: await writeModel(root, "misshaped", { config: (c) => c.intermediate_size = 40 }),
        code: "bad_model",
        pattern:
          /tensor 'model\.layers\.0\.mlp\.gate_proj\.weight' has shape \[48, 32\] but config\.json implies \[40, 32\]/,
      },
      {
        name: "config without hidden_size",
        folder: await writeModel(root, "no-hidden", { config: (c) => delete c.hidden_size }),
        code: "bad_model",
        pattern: /config\.json has no 'hidden_size'/,
      },
      {
        name: "dynamic rope",
        folder: await writeModel(root, "dynamic", {
          config: (c) => c.rope_scaling = { rope_type: "dynamic", factor: 4 },
        }),
        code: "unsupported_architecture",
        pattern: /'rope_scaling\.rope_type' is 'dynamic'/,
      },
      {
        name: "garbage header",
        folder: await writeModel(root, "garbage", {
          tensors: (b) => {
            b.set(new TextEncoder().encode("{not json"), 8);
            return b;
          },
        }),
        code: "bad_model",
        pattern: /model\.safetensors header is not valid JSON/,
      },
    ];
    for (const c of cases) {
      await t.step(c.name, async () => {
        await assert.rejects(plugin.loadModel(c.folder), pluginError(c.code, c.pattern));
      });
    }
    await t.step("contextLength beyond max_position_embeddings", async () => {
      await assert.rejects(
        plugin.loadModel(QWEN, { contextLength: 100_000 }),
        pluginError(
          "invalid_argument",
          /contextLength 100000 exceeds the model's max_position_embeddings 512/,
        ),
      );
    });
    await t.step("unknown device and tensor parallel", async () => {
      await assert.rejects(
        plugin.loadModel(QWEN, { devices: [7] }),
        pluginError("not_found", /device 7 does not exist/),
      );
      await assert.rejects(
        plugin.loadModel(QWEN, { devices: [0, 0] }),
        pluginError("invalid_argument", /device 0 appears twice in devices/),
      );
      await assert.rejects(
        plugin.loadModel(QWEN, { devices: [0, 7] }),
        pluginError("not_found", /device 7 does not exist/),
      );
    });
    assert.equal(plugin.devices()[0].poisoned, false);
    assert.equal(
      plugin.devices()[0].memoryFreeBytes,
      plugin.devices()[0].memoryTotalBytes,
      "failed loads leave no reservation",
    );
  } finally {
    plugin.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a model larger than the device budget is refused with the numbers", async () => {
  const plugin = Plugin.open({ cpuMemoryBudgetBytes: 200_000 });
  try {
    await assert.rejects(
      plugin.loadModel(QWEN, { contextLength: 64 }),
      pluginError(
        "out_of_memory",
        /weights [\d.]+ MiB \(\d+ bytes\) \+ KV cache .* needs .* but the device has 0\.2 MiB \(200000 bytes\) free/,
      ),
    );
    assert.equal(plugin.devices()[0].memoryFreeBytes, 200_000);
  } finally {
    plugin.close();
  }
});

Deno.test("bad steps fail precisely and change no sequence", async (t) => {
  if (!storiesAvailable()) return;
  const plugin = Plugin.open();
  try {
    const model = await plugin.loadModel(STORIES_DIR, { contextLength: 16, maxSequences: 2 });
    const good = await model.newSequence();
    const other = await model.newSequence();
    await model.step([{ sequence: good, tokens: [1, 2, 3] }]);

    await t.step("token id >= vocab", async () => {
      await assert.rejects(
        model.step([{ sequence: good, tokens: [5] }, { sequence: other, tokens: [1, 512] }]),
        pluginError(
          "invalid_argument",
          /entry 1: token id 512 at index 1 is outside the vocabulary \[0, 512\)/,
        ),
      );
      await assert.rejects(
        model.step([{ sequence: good, tokens: [-1] }]),
        pluginError("invalid_argument", /token id -1/),
      );
      assert.equal(good.position, 3, "the valid entry of a failed step did not advance");
      assert.equal(other.position, 0);
    });
    await t.step("past the context length", async () => {
      await assert.rejects(
        model.step([{ sequence: good, tokens: new Array(14).fill(5) }]),
        pluginError(
          "context_overflow",
          /sequence \d+ holds 3 tokens; 14 more would pass its context length of 16/,
        ),
      );
      await model.step([{ sequence: good, tokens: new Array(13).fill(5) }]);
      assert.equal(good.position, 16);
      await assert.rejects(
        model.step([{ sequence: good, tokens: [5], sampling: GREEDY }]),
        pluginError("context_overflow", /16/),
      );
    });
    await t.step("no free KV slot", async () => {
      await assert.rejects(
        model.newSequence(),
        pluginError("out_of_memory", /no free KV slot: all 2 sequence slots/),
      );
    });
    await t.step("bad sampling parameters", async () => {
      await assert.rejects(
        model.step([{ sequence: other, tokens: [1], sampling: { ...GREEDY, temperature: 1, topP: 0 } }]),
        pluginError("invalid_argument", /entry 0 sampling topP must be in \(0, 1\]/),
      );
      await assert.rejects(
        model.step([{ sequence: other, tokens: [1], sampling: { ...GREEDY, seed: 1.5 } }]),
        pluginError("invalid_argument", /seed must be a non-negative integer/),
      );
    });
    await t.step("same sequence twice, freed sequence, empty step", async () => {
      await assert.rejects(
        model.step([{ sequence: other, tokens: [1] }, { sequence: other, tokens: [2] }]),
        pluginError("invalid_argument", /appears twice in one step/),
      );
      await other.free();
      await assert.rejects(
        model.step([{ sequence: other, tokens: [1] }]),
        pluginError("invalid_argument", /was freed/),
      );
      await assert.rejects(model.step([]), pluginError("invalid_argument", /at least one entry/));
      await assert.rejects(
        model.step([{ sequence: good, tokens: [] }]),
        pluginError("invalid_argument", /at least one token/),
      );
    });
    await model.unload();
    await assert.rejects(model.newSequence(), pluginError("invalid_argument", /was unloaded/));
    assert.equal(plugin.devices()[0].poisoned, false);
  } finally {
    plugin.close();
  }
});

Deno.test("options are validated before anything native happens", () => {
  assert.throws(() => Plugin.open({ cpuDevices: -1 }), pluginError("invalid_argument", /cpuDevices/));
  assert.throws(
    () => Plugin.open({ libraryPath: "/nonexistent/libcortex_plugin.so" }),
    (e: unknown) => e instanceof PluginError,
  );
  const plugin = Plugin.open();
  plugin.close();
  plugin.close();
  assert.throws(() => plugin.devices(), pluginError("internal", /closed/));
});
