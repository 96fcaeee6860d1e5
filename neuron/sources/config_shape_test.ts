import assert from "node:assert/strict";
import { CortexError } from "@cortex/core/errors";
import { readConfigShape, textConfig } from "./config_shape.ts";

const CONFIGS = new URL("../testdata/configs/", import.meta.url).pathname;

Deno.test("config shape: the published configs' layer kinds, nesting and defaults", async () => {
  const read = async (name: string) => JSON.parse(await Deno.readTextFile(`${CONFIGS}/${name}/config.json`));
  const qwen36 = await read("Qwen3.6-27B");
  assert.equal(textConfig(qwen36), qwen36.text_config);
  const hybrid = readConfigShape(qwen36);
  assert.equal(hybrid.modelType, "qwen3_5");
  assert.equal(hybrid.prefix, "model.language_model.");
  assert.deepEqual(hybrid.linear.slice(0, 8), [true, true, true, false, true, true, true, false]);
  assert.deepEqual([hybrid.linearKeyHeads, hybrid.linearValueHeads], [16, 48]);
  assert.ok(hybrid.attnOutputGate && hybrid.qkNorm && !hybrid.fusedLinearProjections);
  assert.ok(hybrid.sparse.every((s) => !s), "Qwen3.6-27B is dense");
  const next = readConfigShape(await read("Qwen3-Next-80B-A3B-Instruct"));
  assert.equal(next.prefix, "model.");
  assert.equal(next.linear.filter((l) => !l).length, 12, "full_attention_interval 4 over 48 layers");
  assert.ok(next.fusedLinearProjections && next.sparse.every((s) => s));
  assert.deepEqual([next.numExperts, next.sharedExpertIntermediateSize], [512, 512]);
  const llama = readConfigShape(await read("Llama-3.1-8B"));
  assert.deepEqual([llama.headDim, llama.kvHeads, llama.qkNorm, llama.linear.some((l) => l)], [
    128,
    8,
    false,
    false,
  ]);
  // A hybrid naming neither layer_types nor full_attention_interval gets the engine's interval of 4.
  const bare = readConfigShape({
    model_type: "qwen3_next",
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 8,
    num_attention_heads: 4,
    vocab_size: 100,
  });
  assert.deepEqual(bare.linear, [true, true, true, false, true, true, true, false]);
  assert.deepEqual([bare.linearKeyHeads, bare.linearValueHeads, bare.linearConvKernel], [16, 32, 4]);
});

Deno.test("config shape: an unknown model_type or a missing shape key is a 422 naming it", () => {
  const refused = (config: Record<string, unknown>, code: string, pattern: RegExp) => {
    assert.throws(() => readConfigShape(config), (error: unknown) => {
      assert.ok(error instanceof CortexError);
      assert.equal(error.status, 422);
      assert.equal(error.code, code);
      assert.match(error.message, pattern);
      return true;
    });
  };
  const llama = {
    model_type: "llama",
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    vocab_size: 100,
  };
  assert.equal(readConfigShape(llama).headDim, 16);
  refused({ ...llama, model_type: "mistral" }, "unsupported_architecture", /'model_type' is 'mistral'/);
  refused({ ...llama, model_type: undefined }, "bad_model_folder", /no 'model_type'/);
  for (
    const key of [
      "hidden_size",
      "num_hidden_layers",
      "num_attention_heads",
      "vocab_size",
      "intermediate_size",
    ]
  ) {
    refused({ ...llama, [key]: undefined }, "bad_model_folder", new RegExp(`config\\.json has no '${key}'`));
  }
  refused(
    { ...llama, hidden_size: 64.5 },
    "bad_model_folder",
    /'hidden_size' must be a non-negative integer/,
  );
  refused({ ...llama, num_attention_heads: 0 }, "bad_model_folder", /'num_attention_heads' must be positive/);
  refused({ ...llama, num_attention_heads: 3 }, "bad_model_folder", /no 'head_dim' and hidden_size 64/);
  refused(
    { ...llama, tie_word_embeddings: "yes" },
    "bad_model_folder",
    /'tie_word_embeddings' must be true or false/,
  );
  const moe = { ...llama, model_type: "qwen3_moe", moe_intermediate_size: 32 };
  refused(moe, "bad_model_folder", /no 'num_experts' \(or 'num_local_experts'\)/);
  refused(
    { ...moe, num_experts: 8, moe_intermediate_size: undefined },
    "bad_model_folder",
    /no 'moe_intermediate_size'/,
  );
  refused(
    { ...moe, num_experts: 8, num_local_experts: 4 },
    "bad_model_folder",
    /num_experts 8 and num_local_experts 4/,
  );
  refused({ ...moe, num_experts: 8, mlp_only_layers: [2] }, "bad_model_folder", /'mlp_only_layers' holds 2/);
  refused(
    { ...moe, num_experts: 8, shared_expert_intermediate_size: 64 },
    "unsupported_architecture",
    /'shared_expert_intermediate_size'/,
  );
  refused(
    {
      model_type: "qwen3_5",
      text_config: { ...llama, model_type: "qwen3_5_text", layer_types: ["full_attention"] },
    },
    "bad_model_folder",
    /config\.json text_config 'layer_types' must list one type for each of the 2 layers/,
  );
  refused(
    { model_type: "qwen3_5_moe", text_config: { ...llama, moe_intermediate_size: 8 } },
    "bad_model_folder",
    /config\.json text_config has no 'num_experts'/,
  );
});
