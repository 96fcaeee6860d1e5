import assert from "node:assert/strict";
import { CortexError } from "@cortex/core/errors";
import { readGgufHeader } from "./gguf/mod.ts";
import { GgufValueType } from "./gguf/types.ts";
import { encodeGguf } from "./gguf/write.ts";
import { resolveModel } from "./model_path.ts";

const FIXTURES = new URL("../../../shared/fixtures/gguf/", import.meta.url).pathname;
const haveFixtures = await Deno.stat(FIXTURES).then(() => true, () => false);
if (!haveFixtures) console.warn(`skipping GGUF source tests: ${FIXTURES} is absent`);
const QWEN = `${FIXTURES}qwen3-tiny`;

async function rejects422(
  promise: Promise<unknown>,
  pattern: RegExp,
  code = "bad_model_folder",
): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof CortexError, String(e));
    assert.equal(e.status, 422);
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test({
  name: "a .gguf file resolves with its architecture, tensor bytes, weight type and KV bytes per token",
  ignore: !haveFixtures,
  fn: async () => {
    const f32 = await resolveModel(`${QWEN}/qwen3-tiny-f32.gguf`, null);
    assert.equal(f32.format, "gguf");
    assert.equal(f32.isqQuant, null);
    assert.equal(f32.info.architecture, "Qwen3ForCausalLM");
    assert.equal(f32.info.maxPositionEmbeddings, 4096);
    assert.equal(f32.info.kvBytesPerToken, 4 * 2 * (64 + 64) * 4);
    assert.equal(f32.info.weightType, "F32");
    const size = (await Deno.stat(`${QWEN}/qwen3-tiny-f32.gguf`)).size;
    assert.ok(
      f32.info.weightBytes < size && size - f32.info.weightBytes < 64 * 1024,
      `${f32.info.weightBytes}`,
    );
    const q4km = await resolveModel(`${QWEN}/qwen3-tiny-q4_k_m.gguf`, "q4_k_m");
    assert.equal(q4km.info.weightType, "Q4_K");
    assert.ok(q4km.gguf!.bytesByType.Q6_K > 0, "the K_M mix has Q6_K tensors");
    const llama = await resolveModel(`${FIXTURES}llama31-tiny/llama31-tiny-q8_0.gguf`, null);
    assert.equal(llama.info.architecture, "LlamaForCausalLM");
    assert.equal(llama.info.kvBytesPerToken, 3 * 2 * (32 + 32) * 4);
    await rejects422(
      resolveModel(`${QWEN}/qwen3-tiny-f32.gguf`, "q8_0"),
      /quant 'q8_0' matches no \.gguf/,
      "quant_not_found",
    );
  },
});

Deno.test({
  name: "a folder of .gguf files picks by quant; no match lists the offer",
  ignore: !haveFixtures,
  fn: async () => {
    assert.equal((await resolveModel(QWEN, "q8_0")).path, `${QWEN}/qwen3-tiny-q8_0.gguf`);
    assert.equal((await resolveModel(QWEN, "Q6K")).path, `${QWEN}/qwen3-tiny-q6_k.gguf`);
    assert.equal(
      (await resolveModel(QWEN, null)).path,
      `${QWEN}/qwen3-tiny-bf16.gguf`,
      "no quant: the first by name",
    );
    await rejects422(
      resolveModel(QWEN, "q5_k"),
      /qwen3-tiny-bf16\.gguf, qwen3-tiny-f32\.gguf, .*nearest: qwen3-tiny-q6_k\.gguf/,
      "quant_not_found",
    );
  },
});

Deno.test({
  name: "ISQ: a safetensors folder with quant counts quantized matrix bytes (equal to llama.cpp's Q8_0 file)",
  ignore: !haveFixtures,
  fn: async () => {
    const plain = await resolveModel(`${QWEN}/hf`, null);
    assert.equal(plain.format, "safetensors");
    assert.equal(plain.info.weightType, "F32");
    const isq = await resolveModel(`${QWEN}/hf`, "q8_0");
    assert.equal(isq.isqQuant, "q8_0");
    assert.equal(isq.info.weightType, "Q8_0");
    const q8 = await readGgufHeader(`${QWEN}/qwen3-tiny-q8_0.gguf`);
    assert.equal(isq.info.weightBytes, q8.tensorBytes);
    assert.equal((await resolveModel(`${QWEN}/hf`, "Q6K")).isqQuant, "q6_k", "case and '_' are ignored");
    await assert.rejects(
      resolveModel(`${QWEN}/hf`, "q3_k"),
      /quant 'q3_k' cannot be applied .*supported: q8_0, q4_0, q4_k, q5_k, q6_k, q4_k_m/,
    );
  },
});

Deno.test("bad GGUF files are 422s naming the problem", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const meta = (arch: string) =>
      new Map([["general.architecture", { type: GgufValueType.STRING, itemType: null, value: arch }]]);
    await Deno.writeFile(`${dir}/mamba.gguf`, await encodeGguf(meta("mamba"), []));
    await rejects422(
      resolveModel(`${dir}/mamba.gguf`, null),
      /architecture 'mamba' is not supported \(supported: llama, qwen3, qwen3moe\)/,
      "unsupported_architecture",
    );
    await Deno.writeFile(
      `${dir}/q2k.gguf`,
      await encodeGguf(meta("qwen3"), [{
        name: "blk.0.ffn_up.weight",
        type: "Q2_K",
        dims: [256, 4],
        data: new Uint8Array(4 * 84),
      }]),
    );
    await rejects422(
      resolveModel(`${dir}/q2k.gguf`, null),
      /tensor 'blk\.0\.ffn_up\.weight' has type Q2_K, which the engine does not compute with/,
    );
    const good = await encodeGguf(meta("qwen3"), [{
      name: "w",
      type: "Q8_0",
      dims: [1024],
      data: new Uint8Array(1088),
    }]);
    await Deno.writeFile(`${dir}/cut.gguf`, good.subarray(0, good.length - 100));
    await rejects422(resolveModel(`${dir}/cut.gguf`, null), /tensor 'w' .* runs past the end/);
    await Deno.writeFile(`${dir}/magic.gguf`, new TextEncoder().encode("not a gguf at all"));
    await rejects422(resolveModel(`${dir}/magic.gguf`, null), /bad magic "not "/);
    await Deno.writeFile(`${dir}/notes.txt`, new Uint8Array(4));
    await rejects422(resolveModel(`${dir}/notes.txt`, null), /is a file but not a \.gguf/);
    await rejects422(resolveModel(`${dir}/absent`, null), /does not exist/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
