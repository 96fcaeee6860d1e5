// Configs that used to load into wrong output without a word, and logits that are not numbers: a tied
// config over a file with its own lm_head.weight (transformers 5.x then does not tie), a config with
// fewer layers than the file (refused), a window or rope the engine cannot honour (refused naming the
// key), both RoPE spellings giving the same model, and NaN logits failing the step.
import assert from "node:assert/strict";
import { GREEDY, type Model, Plugin, PluginError } from "./mod.ts";
import { maxAbsDiff, MODELS_DIR, withTempDir } from "./_test_helpers.ts";

const PROMPT = [5, 900, 17, 333, 42, 8, 611, 12, 700, 3, 99];

/** A copy of model folder `name` in `dir`, with config.json edited by `edit`. */
async function copyWithConfig(
  name: string,
  dir: string,
  edit: (config: Record<string, unknown>) => void,
): Promise<string> {
  const from = `${MODELS_DIR}/${name}`;
  for await (const entry of Deno.readDir(from)) {
    await Deno.copyFile(`${from}/${entry.name}`, `${dir}/${entry.name}`);
  }
  const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  edit(config);
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config, null, 2));
  return dir;
}

async function logits(model: Model, ids: number[]): Promise<Float32Array> {
  const sequence = await model.newSequence();
  try {
    const [result] = await model.step([{ sequence, tokens: ids, allLogits: true }]);
    return result.logits!;
  } finally {
    await sequence.free();
  }
}

async function logitsOfFolder(plugin: Plugin, folder: string): Promise<Float32Array> {
  const model = await plugin.loadModel(folder);
  try {
    return await logits(model, PROMPT);
  } finally {
    await model.unload();
  }
}

async function assertRefused(folder: string, code: string, pattern: RegExp): Promise<void> {
  const plugin = Plugin.open();
  try {
    await assert.rejects(plugin.loadModel(folder), (error: unknown) => {
      assert.ok(error instanceof PluginError, String(error));
      assert.equal(error.code, code, error.message);
      assert.match(error.message, pattern);
      return true;
    });
  } finally {
    plugin.close();
  }
}

Deno.test("tie_word_embeddings true over a file with a distinct lm_head.weight uses the file's lm_head", async () => {
  await withTempDir(async (dir) => {
    const folder = await copyWithConfig("tiny-qwen3-f32-untied", dir, (c) => c.tie_word_embeddings = true);
    const plugin = Plugin.open();
    try {
      const ours = await logitsOfFolder(plugin, folder);
      const untied = await logitsOfFolder(plugin, `${MODELS_DIR}/tiny-qwen3-f32-untied`);
      const tied = await logitsOfFolder(plugin, `${MODELS_DIR}/tiny-qwen3-f32`);
      assert.equal(
        maxAbsDiff(ours, untied),
        0,
        "the file's lm_head.weight must be used, as transformers does",
      );
      assert.ok(maxAbsDiff(ours, tied) > 0.1, "tying to the embedding would give the tied model's logits");
    } finally {
      plugin.close();
    }
  });
});

Deno.test("a config with fewer layers than the file is refused, naming both counts", async () => {
  await withTempDir(async (dir) => {
    const folder = await copyWithConfig("tiny-qwen3-f32", dir, (c) => c.num_hidden_layers = 1);
    await assertRefused(folder, "bad_model", /num_hidden_layers 1 but the weights hold 2 layers/);
  });
});

Deno.test("RoPE and window settings the engine does not implement are refused, naming the key", async () => {
  const cases: [string, (c: Record<string, unknown>) => void, RegExp][] = [
    [
      "dynamic",
      (c) => c.rope_scaling = { type: "dynamic", factor: 2.0 },
      /'rope_scaling\.rope_type' is 'dynamic'/,
    ],
    [
      "longrope",
      (c) => c.rope_scaling = { rope_type: "longrope", short_factor: [1], long_factor: [2] },
      /'rope_scaling\.rope_type' is 'longrope'/,
    ],
    [
      "unknown key",
      (c) =>
        c.rope_scaling = { rope_type: "yarn", factor: 4, original_max_position_embeddings: 64, extra: 1 },
      /'rope_scaling\.extra'/,
    ],
    ["partial rotary", (c) => c.partial_rotary_factor = 0.5, /'partial_rotary_factor'/],
    [
      "layer type",
      (c) => c.layer_types = ["full_attention", "chunked_attention"],
      /'layer_types' names 'chunked_attention'/,
    ],
  ];
  for (const [label, edit, pattern] of cases) {
    await withTempDir(async (dir) => {
      const folder = await copyWithConfig("tiny-qwen3-f32", dir, edit);
      await assertRefused(folder, "unsupported_architecture", pattern);
    }).catch((error) => {
      throw new Error(`${label}: ${error.message}`);
    });
  }
});

Deno.test("hub spelling (rope_scaling with `type`, top-level rope_theta) equals the 5.x rope_parameters spelling", async () => {
  await withTempDir(async (dir) => {
    const folder = await copyWithConfig("tiny-qwen3-linear-rope-f32", dir, (c) => {
      const parameters = c.rope_parameters as Record<string, unknown>;
      delete c.rope_parameters;
      c.rope_theta = parameters.rope_theta;
      c.rope_scaling = { type: parameters.rope_type, factor: parameters.factor };
    });
    const plugin = Plugin.open();
    try {
      const hub = await logitsOfFolder(plugin, folder);
      const native = await logitsOfFolder(plugin, `${MODELS_DIR}/tiny-qwen3-linear-rope-f32`);
      assert.equal(maxAbsDiff(hub, native), 0);
    } finally {
      plugin.close();
    }
  });
});

Deno.test("use_sliding_window false ignores sliding_window, as transformers does (full attention)", async () => {
  await withTempDir(async (dir) => {
    const folder = await copyWithConfig("tiny-qwen3-swa-f32", dir, (c) => c.use_sliding_window = false);
    const plugin = Plugin.open();
    try {
      const full = await logitsOfFolder(plugin, folder);
      const windowed = await logitsOfFolder(plugin, `${MODELS_DIR}/tiny-qwen3-swa-f32`);
      // PROMPT is longer than the window of 8: the last rows must differ, the first 8 agree.
      const vocab = 1024;
      assert.equal(maxAbsDiff(full.subarray(0, 8 * vocab), windowed.subarray(0, 8 * vocab)), 0);
      assert.ok(maxAbsDiff(full.subarray(8 * vocab), windowed.subarray(8 * vocab)) > 1e-3);
    } finally {
      plugin.close();
    }
  });
});

/** Overwrites every float of f32 tensor `name` in `folder`/model.safetensors with `value`. */
async function poisonTensor(folder: string, name: string, value: number): Promise<void> {
  const path = `${folder}/model.safetensors`;
  const bytes = await Deno.readFile(path);
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  const [start, end] = header[name].data_offsets as [number, number];
  assert.equal(header[name].dtype, "F32");
  const floats = new Float32Array(bytes.buffer, 8 + headerLength + start, (end - start) / 4);
  floats.fill(value);
  await Deno.writeFile(path, bytes);
}

Deno.test("NaN logits fail the step with a message naming the sequence, instead of sampling nothing", async () => {
  await withTempDir(async (dir) => {
    const folder = await copyWithConfig("tiny-qwen3-f32", dir, () => {});
    await poisonTensor(folder, "model.norm.weight", NaN);
    const plugin = Plugin.open();
    try {
      const model = await plugin.loadModel(folder);
      try {
        const sequence = await model.newSequence();
        await assert.rejects(
          model.step([{ sequence, tokens: PROMPT, sampling: GREEDY }]),
          (error: unknown) => {
            assert.ok(error instanceof PluginError, String(error));
            assert.equal(error.code, "internal");
            assert.match(
              error.message,
              /non-finite logit \(nan for token 0\) for sequence \d+ at position 10/,
            );
            return true;
          },
        );
        assert.equal(sequence.position, 0, "a failed step advances nothing");
        await sequence.free();
      } finally {
        await model.unload();
      }
    } finally {
      plugin.close();
    }
  });
});

Deno.test("a hybrid's sequence in a failed step is refused afterwards (its DeltaNet state moved on); a new one in its slot starts clean", async () => {
  await withTempDir(async (dir) => {
    const folder = await copyWithConfig("tiny-qwen3-next-f32", dir, () => {});
    await poisonTensor(folder, "model.norm.weight", NaN);
    const plugin = Plugin.open();
    try {
      const model = await plugin.loadModel(folder, { maxSequences: 2 });
      try {
        const sequence = await model.newSequence();
        await assert.rejects(
          model.step([{ sequence, tokens: PROMPT, sampling: GREEDY }]),
          /non-finite logit/,
        );
        assert.equal(sequence.position, 0, "a failed step advances nothing");
        await assert.rejects(
          model.step([{ sequence, tokens: PROMPT, sampling: GREEDY }]),
          (error: unknown) => {
            assert.ok(error instanceof PluginError, String(error));
            assert.equal(error.code, "invalid_argument");
            assert.match(
              error.message,
              /sequence \d+ lost its recurrent \(DeltaNet\) state when the step at position 0 failed; free it and prefill it again/,
            );
            return true;
          },
        );
        await sequence.free();
        // The slot is reused by a new sequence, which starts from zeroed states: it fails on the
        // poisoned norm again, for its own reason, not the refusal.
        const fresh = await model.newSequence();
        await assert.rejects(
          model.step([{ sequence: fresh, tokens: PROMPT, sampling: GREEDY }]),
          /non-finite logit/,
        );
        await fresh.free();
      } finally {
        await model.unload();
      }
    } finally {
      plugin.close();
    }
  });
});
