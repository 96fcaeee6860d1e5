import assert from "node:assert/strict";
import { parseBenchFlags } from "./_flags.ts";
import { moeBytesPerToken, QWEN3_30B_A3B_SHAPE } from "./bench_moe_model.ts";

Deno.test("--arch qwen3_moe and --layers parse; --layers alone and --arch with --gguf are refused", () => {
  const flags = parseBenchFlags(["--arch", "qwen3_moe", "--layers", "2"]);
  assert.equal(flags.arch, "qwen3_moe");
  assert.equal(flags.layers, 2);
  assert.equal(parseBenchFlags([]).arch, "qwen3");
  assert.throws(() => parseBenchFlags(["--layers", "2"]), /--layers applies to --arch qwen3_moe/);
  assert.throws(() => parseBenchFlags(["--arch", "qwen3_moe", "--gguf", "m.gguf"]), /--arch picks/);
  assert.throws(() => parseBenchFlags(["--arch", "llama"]), /--arch must be one of qwen3, qwen3_moe/);
});

Deno.test("moeBytesPerToken reads 8 of 128 experts and one embedding row", () => {
  const s = QWEN3_30B_A3B_SHAPE;
  const expertBf16 = 3 * s.hidden_size * s.moe_intermediate_size * 2;
  const embedding = s.vocab_size * s.hidden_size * 2;
  const rest = 1_000_000; // attention, router, norms, lm_head: read whole
  const weightBytes = embedding + rest + 2 * s.num_experts * expertBf16;
  assert.equal(
    moeBytesPerToken(weightBytes, "bf16", 2),
    rest + s.hidden_size * 2 + 2 * s.num_experts_per_tok * expertBf16,
  );
  // q8_0: 34 bytes per 32 values for every expert matrix.
  const expertQ8 = 3 * s.hidden_size * s.moe_intermediate_size / 32 * 34;
  const q8Weights = embedding / 2 / 32 * 34 + rest + s.num_experts * expertQ8;
  assert.equal(
    moeBytesPerToken(q8Weights, "q8_0", 1, "q8_0"),
    rest + s.hidden_size / 32 * 34 + s.num_experts_per_tok * expertQ8,
  );
});
