import assert from "node:assert/strict";
import { configWeightBytes, configWeights } from "./config_weights.ts";
import { inspectModelFolder } from "./model_folder.ts";
import { readSafetensorsTensors } from "./safetensors_header.ts";

const MODELS = new URL("../testdata/models/", import.meta.url).pathname;

Deno.test("model folder: ISQ bytes count fused experts (transformers 5.x layout) as the engine's per-expert matrices", async () => {
  // The same Qwen3.5-MoE shapes, experts fused in the f32 file and one by one in the bf16 file.
  const fused = `${MODELS}/tiny-qwen3_5-moe-f32`;
  const split = `${MODELS}/tiny-qwen3_5-moe-bf16`;
  const names = (await readSafetensorsTensors(`${fused}/model.safetensors`)).map((t) => t.name);
  assert.ok(
    names.includes("model.language_model.layers.0.mlp.experts.gate_up_proj"),
    "the f32 file is fused",
  );
  const config = JSON.parse(await Deno.readTextFile(`${fused}/config.json`));
  const expected = configWeightBytes(configWeights(config), "q8_0");
  assert.equal((await inspectModelFolder(fused, "q8_0")).weightBytes, expected);
  assert.equal((await inspectModelFolder(split, "q8_0")).weightBytes, expected);
});

Deno.test("model folder: KV bytes per token count only the attention layers' K and V, in f32", async () => {
  const info = await inspectModelFolder(`${MODELS}/tiny-qwen3-next-f32`);
  const text = info.config;
  // One full-attention layer in four: K and V of num_key_value_heads × head_dim, 4 bytes each.
  const full = (text.num_hidden_layers as number) / 4;
  assert.equal(
    info.kvBytesPerToken,
    2 * full * (text.num_key_value_heads as number) * (text.head_dim as number) * 4,
  );
  assert.ok((info.stateBytesPerSequence ?? 0) > 0);
  assert.equal(info.maxPositionEmbeddings, text.max_position_embeddings);
});
