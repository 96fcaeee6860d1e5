import assert from "node:assert/strict";
import { CortexError } from "@cortex/core/errors";
import { ggufShards, isPrimaryGguf, selectGgufFile } from "./gguf_select.ts";

const REPO = [
  "README.md",
  "Qwen3-0.6B-Q4_K_M.gguf",
  "Qwen3-0.6B-Q6_K.gguf",
  "Qwen3-0.6B-Q8_0.gguf",
  "Qwen3-0.6B-BF16-00001-of-00002.gguf",
  "Qwen3-0.6B-BF16-00002-of-00002.gguf",
];

Deno.test("quant picks the first .gguf whose name contains it, ignoring case, '_' and '-'", () => {
  assert.equal(selectGgufFile(REPO, "q8_0", "r"), "Qwen3-0.6B-Q8_0.gguf");
  assert.equal(selectGgufFile(REPO, "Q6_K", "r"), "Qwen3-0.6B-Q6_K.gguf");
  assert.equal(selectGgufFile(REPO, "q6k", "r"), "Qwen3-0.6B-Q6_K.gguf");
  assert.equal(selectGgufFile(REPO, "q4-k-m", "r"), "Qwen3-0.6B-Q4_K_M.gguf");
  assert.equal(selectGgufFile(REPO, "bf16", "r"), "Qwen3-0.6B-BF16-00001-of-00002.gguf");
  assert.equal(selectGgufFile(REPO, null, "r"), "Qwen3-0.6B-Q4_K_M.gguf", "no quant: the first");
  assert.equal(selectGgufFile(REPO, "", "r"), "Qwen3-0.6B-Q4_K_M.gguf");
});

Deno.test("no match is a 422 quant_not_found listing the offer and the nearest", () => {
  assert.throws(() => selectGgufFile(REPO, "q5_k_m", "org/repo"), (e: unknown) => {
    assert.ok(e instanceof CortexError);
    assert.equal(e.code, "quant_not_found");
    assert.equal(e.status, 422);
    assert.match(e.message, /quant 'q5_k_m' matches no \.gguf file in org\/repo/);
    assert.match(
      e.message,
      /Qwen3-0\.6B-Q6_K\.gguf, Qwen3-0\.6B-Q8_0\.gguf, Qwen3-0\.6B-BF16-00001-of-00002\.gguf/,
    );
    assert.match(e.message, /\(nearest: Qwen3-0\.6B-Q4_K_M\.gguf\)/);
    assert.ok(!e.message.includes("00002-of"), "later shards are not offered");
    assert.deepEqual(e.extras.nearest, "Qwen3-0.6B-Q4_K_M.gguf");
    return true;
  });
  assert.throws(() => selectGgufFile(["README.md"], "q8_0", "org/x"), /org\/x holds no \.gguf file/);
});

Deno.test("split files: only the first shard is primary, and it brings every shard", () => {
  assert.ok(isPrimaryGguf("m-00001-of-00003.gguf"));
  assert.ok(!isPrimaryGguf("m-00002-of-00003.gguf"));
  assert.ok(!isPrimaryGguf("m.safetensors"));
  assert.deepEqual(ggufShards("Qwen3-0.6B-BF16-00001-of-00002.gguf", REPO), [
    "Qwen3-0.6B-BF16-00001-of-00002.gguf",
    "Qwen3-0.6B-BF16-00002-of-00002.gguf",
  ]);
  assert.deepEqual(ggufShards("Qwen3-0.6B-Q8_0.gguf", REPO), ["Qwen3-0.6B-Q8_0.gguf"]);
  assert.throws(
    () => ggufShards("m-00001-of-00003.gguf", ["m-00001-of-00003.gguf"]),
    /lacks shard\(s\) m-00002-of-00003\.gguf, m-00003-of-00003\.gguf/,
  );
});
