import assert from "node:assert/strict";
import { parseBenchFlags } from "./_flags.ts";
import { nextBytesPerToken, QWEN3_NEXT_80B_SHAPE } from "./bench_next_model.ts";

Deno.test("--arch qwen3_next parses with --layers", () => {
  const flags = parseBenchFlags(["--arch", "qwen3_next", "--layers", "8"]);
  assert.equal(flags.arch, "qwen3_next");
  assert.equal(flags.layers, 8);
});

Deno.test("nextBytesPerToken reads 10 of 512 routed experts, the shared expert and one embedding row", () => {
  const s = QWEN3_NEXT_80B_SHAPE;
  const expertBf16 = 3 * s.hidden_size * s.moe_intermediate_size * 2;
  const embedding = s.vocab_size * s.hidden_size * 2;
  const rest = 3_000_000; // DeltaNet / attention, routers, shared experts, norms, lm_head: read whole
  const weightBytes = embedding + rest + 4 * s.num_experts * expertBf16;
  assert.equal(
    nextBytesPerToken(weightBytes, "bf16", 4),
    rest + s.hidden_size * 2 + 4 * s.num_experts_per_tok * expertBf16,
  );
  assert.throws(() => nextBytesPerToken(weightBytes, "bf16", 4, "q4_k_m"), /q4_k_m/);
});
