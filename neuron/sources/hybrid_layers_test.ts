import assert from "node:assert/strict";
import {
  attentionLayerCount,
  isUnservedTensor,
  linearLayers,
  sequenceStateBytes,
  unservedTensorBytes,
} from "./hybrid_layers.ts";

const CONFIGS = new URL("../testdata/configs/", import.meta.url).pathname;

Deno.test("hybrid layers: layer_types wins; else every full_attention_interval-th layer is full attention", () => {
  assert.deepEqual(
    linearLayers({ num_hidden_layers: 4, layer_types: ["full_attention", "linear_attention"] }),
    [
      false,
      true,
    ],
  );
  assert.deepEqual(
    linearLayers({ num_hidden_layers: 6, linear_num_key_heads: 2, full_attention_interval: 3 }),
    [
      true,
      true,
      false,
      true,
      true,
      false,
    ],
  );
  assert.deepEqual(linearLayers({ num_hidden_layers: 2 }), []);
  assert.equal(attentionLayerCount({ num_hidden_layers: 28 }), 28);
  assert.equal(sequenceStateBytes({ num_hidden_layers: 28 }), 0);
});

Deno.test("hybrid layers: Qwen3.6-27B keeps KV in 16 of 64 layers and 48 DeltaNet states per sequence", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${CONFIGS}/Qwen3.6-27B/config.json`));
  const text = config.text_config;
  assert.equal(attentionLayerCount(text), 16);
  // channels 2·16·128 + 48·128 = 10240; per layer 10240·3 + 48·128·128 floats.
  assert.equal(
    sequenceStateBytes(text),
    2 * 48 * (10240 * 3 + 48 * 128 * 128) * 4,
    "live states and their snapshot",
  );
  const next = JSON.parse(await Deno.readTextFile(`${CONFIGS}/Qwen3-Next-80B-A3B-Instruct/config.json`));
  assert.equal(attentionLayerCount(next), next.num_hidden_layers / 4);
});

Deno.test("hybrid layers: the vision tower and MTP head are not counted as loaded weights", async () => {
  const { inspectModelFolder } = await import("./model_folder.ts");
  const { readSafetensorsTensors } = await import("./safetensors_header.ts");
  const folder = new URL("../testdata/models/tiny-qwen3_5-f32", import.meta.url).pathname;
  const tensors = await readSafetensorsTensors(`${folder}/model.safetensors`);
  const unserved = tensors.filter((t) => isUnservedTensor(t.name));
  assert.ok(
    unserved.some((t) => t.name.startsWith("model.visual.")) &&
      unserved.some((t) => t.name.startsWith("mtp.")),
  );
  const info = await inspectModelFolder(folder);
  const fileBytes = (await Deno.stat(`${folder}/model.safetensors`)).size;
  const text = tensors.filter((t) => !isUnservedTensor(t.name))
    .reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1) * 4, 0);
  assert.equal(info.weightBytes, fileBytes - unservedTensorBytes(tensors));
  // What remains is the text model's f32 tensors plus the safetensors header.
  assert.ok(
    info.weightBytes >= text && info.weightBytes - text < 64 * 1024,
    `${info.weightBytes} vs ${text}`,
  );
});
