// config.json of the Qwen3.5 / Qwen3-Next hybrids: the published shapes parse, layer_types derive
// from full_attention_interval, and every key or value the engine does not implement is a 422
// (unsupported_architecture) naming it.
import assert from "node:assert/strict";
import { Plugin, PluginError } from "./mod.ts";
import { loadReference, logitsOf, maxAbsDiff, MODELS_DIR, REPO_ROOT, withTempDir } from "./_test_helpers.ts";

const TINY = `${MODELS_DIR}/tiny-qwen3_5-f32`;
const CONFIGS = `${REPO_ROOT}/neuron/testdata/configs`;

type Json = Record<string, unknown>;

/** A copy of the tiny qwen3_5 folder whose text_config `edit` changed, handed to `body`. */
async function withEditedConfig(
  edit: (text: Json, root: Json) => void,
  body: (dir: string) => Promise<void>,
) {
  await withTempDir(async (dir) => {
    for (const file of ["model.safetensors", "tokenizer.json", "tokenizer_config.json"]) {
      await Deno.copyFile(`${TINY}/${file}`, `${dir}/${file}`);
    }
    const root = JSON.parse(await Deno.readTextFile(`${TINY}/config.json`)) as Json;
    edit(root.text_config as Json, root);
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(root));
    await body(dir);
  });
}

async function assertRefused(plugin: Plugin, dir: string, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(plugin.loadModel(dir), (error: unknown) => {
    assert.ok(error instanceof PluginError, String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("hybrid config: keys, rope types and layer types that are not implemented are refused naming them", async () => {
  const plugin = Plugin.open();
  try {
    const cases: [(text: Json, root: Json) => void, RegExp][] = [
      [(text) => (text.attn_logit_softcapping = 30), /'attn_logit_softcapping'/],
      [(_text, root) => (root.some_new_switch = true), /'some_new_switch'/],
      [(text) => ((text.rope_parameters as Json).rope_type = "yarn"), /rope type 'yarn'/],
      [(text) => ((text.rope_parameters as Json).factor = 4), /'factor'/],
      [
        (text) => ((text.layer_types as string[])[1] = "sliding_attention"),
        /layer_types\[1\] is 'sliding_attention'/,
      ],
      [(text) => (text.use_sliding_window = true), /use_sliding_window/],
      [(text) => (text.attn_output_gate = false), /attn_output_gate/],
    ];
    for (const [edit, pattern] of cases) {
      await withEditedConfig(edit, (dir) => assertRefused(plugin, dir, "unsupported_architecture", pattern));
    }
  } finally {
    plugin.close();
  }
});

Deno.test("hybrid config: without layer_types, full_attention_interval 4 gives [linear ×3, full] (same logits)", async () => {
  const plugin = Plugin.open();
  try {
    const reference = loadReference("tiny-qwen3_5-f32");
    const prompt = reference.prompts.find((p) => p.name === "prompt_7")!;
    await withEditedConfig((text) => delete text.layer_types, async (dir) => {
      const model = await plugin.loadModel(dir);
      try {
        const diff = maxAbsDiff(await logitsOf(model, prompt.ids), reference.read(prompt.logits));
        assert.ok(diff <= 3e-4, `max abs diff ${diff}`);
      } finally {
        await model.unload();
      }
    });
    // Interval 2 makes layer 1 full attention: the checkpoint's layer 1 is DeltaNet, so it is refused.
    await withEditedConfig((text) => {
      delete text.layer_types;
      text.full_attention_interval = 2;
    }, (dir) => assertRefused(plugin, dir, "bad_model", /model\.language_model\.layers\.1\.self_attn/));
  } finally {
    plugin.close();
  }
});

Deno.test("hybrid config: the published Qwen3.6-27B and Qwen3-Next-80B configs parse (only the weights are missing)", async () => {
  const plugin = Plugin.open();
  try {
    await assertRefused(plugin, `${CONFIGS}/Qwen3.6-27B`, "bad_model", /safetensors/);
    await assertRefused(plugin, `${CONFIGS}/Qwen3-Next-80B-A3B-Instruct`, "bad_model", /safetensors/);
  } finally {
    plugin.close();
  }
});
