import assert from "node:assert/strict";
import { CortexError } from "@cortex/core/errors";
import { checkpointDtype, configWeightBytes, configWeights, WEIGHT_PARTS } from "./config_weights.ts";
import { isUnservedTensor } from "./hybrid_layers.ts";
import { readSafetensorsTensors, type SafetensorsTensor } from "./safetensors_header.ts";

const TESTDATA = new URL("../testdata/", import.meta.url).pathname;
const SHARED_FIXTURES = "/work/shared/fixtures";

interface _Truth {
  config: string;
  params: number;
  weight_bytes: number;
  params_by_part: Record<string, number>;
}

const truths = JSON.parse(await Deno.readTextFile(`${TESTDATA}/configs/weight_bytes.json`)).models as Record<
  string,
  _Truth
>;

Deno.test("config weights: the four published configs count exactly transformers' parameters, part by part", async () => {
  assert.deepEqual(Object.keys(truths).sort(), [
    "Llama-3.1-8B",
    "Qwen3-30B-A3B",
    "Qwen3-Next-80B-A3B-Instruct",
    "Qwen3.6-27B",
  ]);
  for (const [name, truth] of Object.entries(truths)) {
    const config = JSON.parse(await Deno.readTextFile(`${TESTDATA}/configs/${name}/config.json`));
    const weights = configWeights(config);
    assert.equal(weights.params, truth.params, name);
    assert.deepEqual(Object.keys(truth.params_by_part).sort(), [...WEIGHT_PARTS].sort(), name);
    for (const part of WEIGHT_PARTS) {
      assert.equal(weights.paramsByPart[part], truth.params_by_part[part], `${name} ${part}`);
    }
    assert.equal(checkpointDtype(config), "bf16", name);
    const bytes = configWeightBytes(weights, "bf16");
    assert.equal(bytes, truth.weight_bytes, name);
    assert.ok(Math.abs(bytes - truth.weight_bytes) <= 0.02 * truth.weight_bytes, `${name} within 2%`);
    assert.equal(configWeightBytes(weights, "f32"), 2 * truth.weight_bytes, name);
    assert.equal(configWeightBytes(weights, "F16"), truth.weight_bytes, name);
  }
});

Deno.test("config weights: each architecture's distinctive tensors are where the engine looks for them", async () => {
  const read = async (name: string) =>
    configWeights(JSON.parse(await Deno.readTextFile(`${TESTDATA}/configs/${name}/config.json`)));
  const shapes = (w: ReturnType<typeof configWeights>) => new Map(w.tensors.map((t) => [t.name, t.shape]));
  const next = shapes(await read("Qwen3-Next-80B-A3B-Instruct"));
  assert.deepEqual(next.get("model.layers.0.linear_attn.in_proj_qkvz.weight"), [12288, 2048]);
  assert.deepEqual(next.get("model.layers.0.linear_attn.in_proj_ba.weight"), [64, 2048]);
  assert.deepEqual(next.get("model.layers.3.self_attn.q_proj.weight"), [8192, 2048], "q rows + gate rows");
  assert.deepEqual(next.get("model.layers.47.mlp.shared_expert_gate.weight"), [1, 2048]);
  assert.deepEqual(next.get("model.layers.47.mlp.experts.511.down_proj.weight"), [2048, 512]);
  assert.equal(next.has("model.layers.0.self_attn.q_proj.weight"), false, "layer 0 is a DeltaNet layer");
  const qwen36 = shapes(await read("Qwen3.6-27B"));
  assert.deepEqual(qwen36.get("model.language_model.layers.0.linear_attn.in_proj_qkv.weight"), [10240, 5120]);
  assert.deepEqual(qwen36.get("model.language_model.layers.0.linear_attn.conv1d.weight"), [10240, 1, 4]);
  assert.deepEqual(qwen36.get("lm_head.weight"), [248320, 5120]);
  assert.ok(![...qwen36.keys()].some(isUnservedTensor), "no vision tower, no MTP head");
  const llama = shapes(await read("Llama-3.1-8B"));
  assert.equal(llama.has("model.layers.0.self_attn.q_norm.weight"), false, "Llama has no q/k norms");
});

Deno.test("config weights: ISQ sizes come from isq_estimate's block sizes", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${TESTDATA}/configs/Llama-3.1-8B/config.json`));
  const weights = configWeights(config);
  // Q8_0 is 34 bytes per 32 elements for every matrix; the 65 norms of 4096 stay f32.
  const matrices = weights.params - 65 * 4096;
  assert.equal(configWeightBytes(weights, "q8_0"), (matrices / 32) * 34 + 65 * 4096 * 4);
  assert.ok(configWeightBytes(weights, "Q4_K_M") < configWeightBytes(weights, "q8_0"));
  assert.throws(() => configWeightBytes(weights, "q3_k"), (error: unknown) => {
    assert.ok(error instanceof CortexError);
    assert.equal(error.status, 400);
    assert.match(error.message, /quant 'q3_k'/);
    return true;
  });
});

Deno.test("config weights: either expert spelling, and transformers 5.x rope_parameters, count the same", () => {
  const llama = {
    model_type: "llama",
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    vocab_size: 100,
  };
  // Untied embeddings and lm_head, final norm; per layer q/k/v/o of 64 × 64 (head_dim 16), the MLP, two norms.
  assert.equal(configWeights(llama).params, 2 * 100 * 64 + 64 + 2 * (4 * 64 * 64 + 3 * 128 * 64 + 2 * 64));
  assert.equal(configWeights({ ...llama, tie_word_embeddings: true }).paramsByPart.lm_head, 0);
  const base = {
    model_type: "qwen3_moe",
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 32,
    vocab_size: 100,
    moe_intermediate_size: 32,
    num_experts_per_tok: 2,
  };
  const hub = configWeights({ ...base, num_experts: 8, rope_scaling: null, rope_theta: 1e6 });
  const v5 = configWeights({
    ...base,
    num_local_experts: 8,
    rope_parameters: { rope_type: "default", rope_theta: 1e6 },
  });
  assert.equal(hub.params, v5.params);
  assert.equal(hub.paramsByPart.experts, 4 * 8 * 3 * 32 * 64);
  // decoder_sparse_step 2 and mlp_only_layers [1]: only layer 3 is sparse.
  const mixed = configWeights({ ...base, num_experts: 8, decoder_sparse_step: 2, mlp_only_layers: [1] });
  assert.equal(mixed.paramsByPart.experts, 8 * 3 * 32 * 64);
  assert.equal(mixed.paramsByPart.mlp_dense, 3 * 3 * 128 * 64);
  const biased = configWeights({ ...base, num_experts: 8, attention_bias: true });
  assert.equal(biased.paramsByPart.attention - hub.paramsByPart.attention, 4 * (128 + 64 + 64 + 64));
});

/** Model folders with safetensors weights: the engine's fixtures and, when present, the shared ones. */
async function _fixtureFolders(): Promise<string[]> {
  const folders: string[] = [];
  for await (const entry of Deno.readDir(`${TESTDATA}/models`)) {
    if (entry.isDirectory) folders.push(`${TESTDATA}/models/${entry.name}`);
  }
  const shared = [
    `${SHARED_FIXTURES}/stories260K/hf`,
    `${SHARED_FIXTURES}/gguf/llama31-tiny/hf`,
    `${SHARED_FIXTURES}/gguf/qwen3-tiny/hf`,
    `${SHARED_FIXTURES}/gguf/qwen3moe-tiny/hf`,
  ];
  for (const folder of shared) {
    try {
      await Deno.stat(`${folder}/model.safetensors`);
      folders.push(folder);
    } catch {
      console.warn(`config weights: skipping ${folder}: absent on this machine`);
    }
  }
  return folders.sort();
}

const _DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };

/**
 * transformers 5.x stores a layer's experts fused (`mlp.experts.gate_up_proj` [E, 2h, d],
 * `mlp.experts.down_proj` [E, d, h]); the engine views them expert by expert, as counted here.
 */
function _perExpert(tensors: readonly SafetensorsTensor[]): SafetensorsTensor[] {
  return tensors.flatMap((t) => {
    const fused = /^(.*\.mlp\.experts)\.(gate_up_proj|down_proj)$/.exec(t.name);
    if (fused === null) return [t];
    const [experts, rows, cols] = t.shape;
    return Array.from({ length: experts }, (_, e) => {
      const at = `${fused[1]}.${e}.`;
      if (fused[2] === "down_proj") return [{ ...t, name: `${at}down_proj.weight`, shape: [rows, cols] }];
      return ["gate_proj", "up_proj"].map((proj) => ({
        ...t,
        name: `${at}${proj}.weight`,
        shape: [rows / 2, cols],
      }));
    }).flat();
  });
}

Deno.test("config weights: every tiny fixture's estimate is its served tensors, name for name and byte for byte", async () => {
  const folders = await _fixtureFolders();
  assert.ok(folders.length >= 14, `fixtures found: ${folders.length}`);
  for (const folder of folders) {
    const config = JSON.parse(await Deno.readTextFile(`${folder}/config.json`));
    const served = _perExpert(
      (await readSafetensorsTensors(`${folder}/model.safetensors`)).filter((t) => !isUnservedTensor(t.name)),
    );
    const dtypes = new Set(served.map((t) => t.dtype));
    assert.equal(dtypes.size, 1, `${folder}: one dtype (${[...dtypes]})`);
    const [dtype] = dtypes;
    const fileBytes = served.reduce(
      (sum, t) => sum + t.shape.reduce((a, b) => a * b, 1) * _DTYPE_BYTES[dtype],
      0,
    );
    const weights = configWeights(config);
    assert.deepEqual(
      new Map(weights.tensors.map((t) => [t.name, t.shape])),
      new Map(served.map((t) => [t.name, t.shape])),
      folder,
    );
    assert.equal(configWeightBytes(weights, dtype), fileBytes, folder);
  }
});
