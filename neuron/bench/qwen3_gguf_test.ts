import assert from "node:assert/strict";
import {
  encodeSafetensors,
  type SyntheticShape,
  writeSyntheticModel,
} from "../devices/_safetensors_writer.ts";
import { benchVocab, byteSymbols, TOKEN_TYPE } from "./_bench_vocab.ts";
import { ggufBytesPerToken, tiedBytesPerToken } from "./_bytes_per_token.ts";
import { Plugin } from "../devices/mod.ts";
import { greedyIds, logitsOf, maxAbsDiff } from "../devices/_test_helpers.ts";
import {
  ggmlTensorBytes,
  ggufScalar,
  GgufValueType,
  readGgufHeader,
  writeGguf,
} from "../sources/gguf/mod.ts";
import { ggufTensorName, writeQwen3Gguf } from "./qwen3_gguf.ts";

const FIXTURES = new URL("../../../shared/fixtures/gguf/qwen3-tiny/", import.meta.url).pathname;

/** A Qwen3 whose every matrix is 256 wide (so llama-quantize takes K-quants) and whose vocab holds the byte symbols. */
const SHAPE: SyntheticShape = {
  architecture: "Qwen3ForCausalLM",
  hidden: 256,
  intermediate: 512,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  headDim: 64,
  vocab: 320,
  dtype: "F32",
  tied: false,
};

async function readTensor(
  path: string,
  dataOffset: number,
  offset: number,
  bytes: number,
): Promise<Uint8Array> {
  const file = await Deno.open(path, { read: true });
  try {
    await file.seek(dataOffset + offset, Deno.SeekMode.Start);
    const out = new Uint8Array(bytes);
    let filled = 0;
    while (filled < bytes) filled += (await file.read(out.subarray(filled)))!;
    return out;
  } finally {
    file.close();
  }
}

/** The raw bytes of one tensor of a single-file safetensors checkpoint. */
async function safetensorsTensor(
  path: string,
  name: string,
): Promise<{ shape: number[]; bytes: Uint8Array }> {
  const all = await Deno.readFile(path);
  const length = Number(new DataView(all.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(all.subarray(8, 8 + length)));
  const [begin, end] = header[name].data_offsets;
  return { shape: header[name].shape, bytes: all.slice(8 + length + begin, 8 + length + end) };
}

function bf16Bits(f32Bits: number): number {
  return ((f32Bits + 0x7fff + ((f32Bits >>> 16) & 1)) >>> 16) & 0xffff;
}

Deno.test("writeQwen3Gguf: an f32 GGUF reads back with llama.cpp's qwen3 keys, names, dims and the exact weights", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeSyntheticModel(`${dir}/hf`, SHAPE);
    const result = await writeQwen3Gguf(`${dir}/hf`, `${dir}/m.gguf`, "f32");
    const header = await readGgufHeader(`${dir}/m.gguf`);
    assert.equal(header.version, 3);
    assert.equal(header.fileSize, result.bytes);
    assert.equal(header.fileSize % 32, 0);
    const m = new Map([...header.metadata].map(([key, entry]) => [key, entry.value]));
    assert.equal(m.get("general.architecture"), "qwen3");
    assert.equal(m.get("general.file_type"), 0);
    for (
      const [key, value] of [
        ["qwen3.block_count", 2],
        ["qwen3.context_length", 256],
        ["qwen3.embedding_length", 256],
        ["qwen3.feed_forward_length", 512],
        ["qwen3.attention.head_count", 4],
        ["qwen3.attention.head_count_kv", 2],
        ["qwen3.attention.key_length", 64],
        ["qwen3.attention.value_length", 64],
      ] as const
    ) {
      assert.equal(m.get(key), value, key);
      assert.equal(header.metadata.get(key)!.type, GgufValueType.UINT32, key);
    }
    assert.equal(m.get("qwen3.rope.freq_base"), 10000);
    assert.equal(m.get("qwen3.attention.layer_norm_rms_epsilon"), Math.fround(1e-6));
    assert.equal(m.get("tokenizer.ggml.model"), "gpt2");
    assert.equal(m.get("tokenizer.ggml.pre"), "qwen2");
    assert.equal((m.get("tokenizer.ggml.tokens") as string[]).length, 320);
    assert.equal(m.get("tokenizer.ggml.bos_token_id"), 1);
    assert.equal(m.get("tokenizer.ggml.eos_token_id"), 2);
    assert.equal(header.metadata.get("tokenizer.ggml.token_type")!.type, GgufValueType.ARRAY);

    // 2 layers × 11 tensors + embedding, final norm and (untied) output.
    assert.equal(header.tensors.length, 25);
    assert.equal(result.tensors, 25);
    const byName = new Map(header.tensors.map((t) => [t.name, t]));
    const attnQ = byName.get("blk.1.attn_q.weight")!;
    assert.deepEqual(attnQ.dims, [256, 256]);
    assert.deepEqual(byName.get("blk.0.attn_k.weight")!.dims, [256, 128]);
    assert.deepEqual(byName.get("blk.0.ffn_down.weight")!.dims, [512, 256]);
    assert.deepEqual(byName.get("output.weight")!.dims, [256, 320]);
    assert.deepEqual(byName.get("blk.0.attn_q_norm.weight")!.dims, [64]);
    for (const tensor of header.tensors) {
      assert.equal(tensor.type, "F32", tensor.name);
      assert.equal(tensor.offset % 32, 0, tensor.name);
    }
    for (
      const [hf, gguf] of [
        ["model.layers.1.self_attn.q_proj.weight", "blk.1.attn_q.weight"],
        ["model.layers.0.self_attn.k_norm.weight", "blk.0.attn_k_norm.weight"],
        ["lm_head.weight", "output.weight"],
      ]
    ) {
      const source = await safetensorsTensor(`${dir}/hf/model.safetensors`, hf);
      const info = byName.get(gguf)!;
      assert.deepEqual(info.dims, [...source.shape].reverse());
      assert.deepEqual(
        await readTensor(`${dir}/m.gguf`, header.dataOffset, info.offset, info.bytes),
        source.bytes,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeQwen3Gguf: bf16 rounds matrices to nearest even, keeps norms f32, and a tied model has no output.weight", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeSyntheticModel(`${dir}/hf`, { ...SHAPE, tied: true });
    await writeQwen3Gguf(`${dir}/hf`, `${dir}/m.gguf`, "bf16");
    const header = await readGgufHeader(`${dir}/m.gguf`);
    assert.equal(header.metadata.get("general.file_type")!.value, 32);
    const byName = new Map(header.tensors.map((t) => [t.name, t]));
    assert.equal(byName.has("output.weight"), false);
    assert.equal(header.tensors.length, 24);
    assert.equal(byName.get("token_embd.weight")!.type, "BF16");
    assert.equal(byName.get("blk.0.attn_norm.weight")!.type, "F32");
    const source = await safetensorsTensor(
      `${dir}/hf/model.safetensors`,
      "model.layers.0.mlp.up_proj.weight",
    );
    const info = byName.get("blk.0.ffn_up.weight")!;
    const written = await readTensor(`${dir}/m.gguf`, header.dataOffset, info.offset, info.bytes);
    const f32 = new Uint32Array(source.bytes.slice().buffer);
    const bf16 = new Uint16Array(written.slice().buffer);
    assert.equal(bf16.length, f32.length);
    for (let i = 0; i < f32.length; i++) assert.equal(bf16[i], bf16Bits(f32[i]), `element ${i}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the engine loads the converter's GGUF (f32 and bf16, tied and untied) and computes what it computes from the safetensors", async () => {
  const dir = await Deno.makeTempDir();
  const plugin = Plugin.open({ cpuDevices: 1, cpuThreadsPerDevice: 1 });
  const prompt = [1, 40, 300, 7, 99, 256, 3];
  try {
    for (const tied of [false, true]) {
      for (const dtype of ["F32", "BF16"] as const) {
        const hf = `${dir}/${dtype}-${tied}`;
        await writeSyntheticModel(hf, { ...SHAPE, dtype, tied });
        await writeQwen3Gguf(hf, `${hf}.gguf`, dtype === "F32" ? "f32" : "bf16");
        const fromFolder = await plugin.loadModel(hf, { contextLength: 32, maxSequences: 1 });
        const fromGguf = await plugin.loadModel(`${hf}.gguf`, { contextLength: 32, maxSequences: 1 });
        try {
          const label = `${dtype} tied=${tied}`;
          assert.equal(fromGguf.info.weightDtype, dtype.toLowerCase(), label);
          // Same tensors and types at f32; at bf16 the GGUF's norm gains are f32, so the totals differ by a few KB.
          if (dtype === "F32") assert.equal(fromGguf.info.weightBytes, fromFolder.info.weightBytes, label);
          const expected = await logitsOf(fromFolder, prompt);
          const actual = await logitsOf(fromGguf, prompt);
          assert.ok(maxAbsDiff(actual, expected) <= 1e-5, `${label}: ${maxAbsDiff(actual, expected)}`);
          assert.deepEqual(
            await greedyIds(fromGguf, prompt, 8),
            await greedyIds(fromFolder, prompt, 8),
            label,
          );
        } finally {
          await fromFolder.unload();
          await fromGguf.unload();
        }
      }
    }
  } finally {
    plugin.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeQwen3Gguf: refuses other architectures, unknown tensors, and lm_head beside tied embeddings", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeSyntheticModel(`${dir}/llama`, { ...SHAPE, architecture: "LlamaForCausalLM" });
    await assert.rejects(writeQwen3Gguf(`${dir}/llama`, `${dir}/x.gguf`, "f32"), /is not Qwen3/);
    await writeSyntheticModel(`${dir}/tied`, SHAPE);
    const config = JSON.parse(await Deno.readTextFile(`${dir}/tied/config.json`));
    await Deno.writeTextFile(
      `${dir}/tied/config.json`,
      JSON.stringify({ ...config, tie_word_embeddings: true }),
    );
    await assert.rejects(writeQwen3Gguf(`${dir}/tied`, `${dir}/x.gguf`, "f32"), /lm_head\.weight is present/);
    assert.throws(
      () => ggufTensorName("model.layers.0.mlp.experts.0.up_proj.weight"),
      /has no qwen3 GGUF name/,
    );
    await Deno.mkdir(`${dir}/odd`);
    await Deno.writeTextFile(`${dir}/odd/config.json`, JSON.stringify(config));
    await Deno.writeFile(
      `${dir}/odd/model.safetensors`,
      encodeSafetensors([{
        name: "model.extra.weight",
        dtype: "F32",
        shape: [2],
        values: new Float32Array(2),
      }]),
    );
    await assert.rejects(
      writeQwen3Gguf(`${dir}/odd`, `${dir}/x.gguf`, "f32"),
      /model\.extra\.weight has no qwen3 GGUF name/,
    );
    await assert.rejects(Deno.stat(`${dir}/x.gguf`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("benchVocab: byte symbols, specials at their ids, unique texts, merges whose parts exist", () => {
  const vocab = benchVocab(1000, new Map([[5, "<|endoftext|>"], [999, "<|im_end|>"]]));
  assert.equal(vocab.tokens.length, 1000);
  assert.equal(new Set(vocab.tokens).size, 1000);
  assert.equal(vocab.tokens[5], "<|endoftext|>");
  assert.equal(vocab.tokenTypes[999], TOKEN_TYPE.control);
  const symbols = byteSymbols();
  assert.equal(new Set(symbols).size, 256);
  assert.equal(symbols[10], "Ċ"); // "\n" in GPT-2's byte map
  assert.equal(symbols[65], "A");
  for (const symbol of symbols) assert.ok(vocab.tokens.includes(symbol), symbol);
  assert.equal(vocab.merges.length, 26 * 26);
  for (const merge of vocab.merges) {
    const [a, b] = merge.split(" ");
    assert.ok(vocab.tokens.includes(a + b), merge);
  }
  assert.equal(vocab.tokens.filter((t) => t.startsWith("[PAD")).length, 1000 - 256 - 2 - 676);
  const small = benchVocab(300, new Map([[0, "<s>"]]));
  assert.equal(small.merges.length, 300 - 256 - 1);
  assert.throws(
    () => benchVocab(257, new Map([[0, "<s>"], [1, "</s>"]])),
    /cannot hold the 256 byte symbols/,
  );
  assert.throws(() => benchVocab(300, new Map([[300, "<s>"]])), /outside the vocabulary of 300/);
});

Deno.test("writeGguf: refuses a tensor whose data length disagrees with its type and dims, and leaves no file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const short = writeGguf(`${dir}/t.gguf`, {}, [
      { name: "t", type: "F32", dims: [4, 2], data: (write) => write(new Uint8Array(16)) },
    ]);
    await assert.rejects(short, /tensor t: wrote 16 bytes, its type and dims need 32/);
    await assert.rejects(Deno.stat(`${dir}/t.gguf`), Deno.errors.NotFound);
    await assert.rejects(Deno.stat(`${dir}/t.gguf.partial`), Deno.errors.NotFound);
    const twice = writeGguf(`${dir}/t.gguf`, {}, [
      { name: "t", type: "F32", dims: [1], data: (write) => write(new Uint8Array(4)) },
      { name: "t", type: "F32", dims: [1], data: (write) => write(new Uint8Array(4)) },
    ]);
    await assert.rejects(twice, /tensor t appears twice/);
    assert.throws(() => ggmlTensorBytes("Q8_0", [48]), /not a whole number of 32-blocks/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readGgufHeader: refuses a bad magic, an unknown version and a truncated header", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeGguf(`${dir}/ok.gguf`, { "general.architecture": ggufScalar(GgufValueType.STRING, "qwen3") }, [
      { name: "t", type: "Q8_0", dims: [32, 2], data: (write) => write(new Uint8Array(68)) },
    ]);
    const ok = await Deno.readFile(`${dir}/ok.gguf`);
    const header = await readGgufHeader(`${dir}/ok.gguf`);
    assert.equal(header.tensors[0].bytes, 68);
    const badMagic = ok.slice();
    badMagic[0] = 0;
    await Deno.writeFile(`${dir}/magic.gguf`, badMagic);
    await assert.rejects(readGgufHeader(`${dir}/magic.gguf`), /not a GGUF file/);
    const badVersion = ok.slice();
    new DataView(badVersion.buffer).setUint32(4, 9, true);
    await Deno.writeFile(`${dir}/version.gguf`, badVersion);
    await assert.rejects(
      readGgufHeader(`${dir}/version.gguf`),
      /unknown GGUF version 9; versions 2 and 3 are supported/,
    );
    await Deno.writeFile(`${dir}/short.gguf`, ok.slice(0, 40));
    await assert.rejects(readGgufHeader(`${dir}/short.gguf`), /truncated/);
    await Deno.writeFile(`${dir}/nodata.gguf`, ok.slice(0, header.dataOffset + 34));
    await assert.rejects(readGgufHeader(`${dir}/nodata.gguf`), /tensor 't' .* runs past the end of the file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const Q4_K_M_FILE = `${FIXTURES}qwen3-tiny-q4_k_m.gguf`;
const haveFixture = (() => {
  try {
    return Deno.statSync(Q4_K_M_FILE).isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: `bytes per token of llama.cpp's own Q4_K_M file, as made (untied) and without output.weight (tied)${
    haveFixture ? "" : ` (skipped: ${Q4_K_M_FILE} is missing; see ../shared/fixtures/gguf)`
  }`,
  ignore: !haveFixture,
  fn: async () => {
    const header = await readGgufHeader(Q4_K_M_FILE);
    const embedding = header.tensors.find((x) => x.name === "token_embd.weight")!;
    assert.equal(embedding.type, "Q4_K");
    const all = header.tensors.reduce((sum, x) => sum + x.bytes, 0);
    const last = header.tensors.reduce((a, b) => (a.offset > b.offset ? a : b));
    const end = header.dataOffset + last.offset + last.bytes;
    assert.ok(end <= header.fileSize && end > header.fileSize - header.alignment);
    // Untied: everything but the embedding matrix, plus one Q4_K row of 256 values (144 bytes).
    assert.equal(ggufBytesPerToken(header.tensors), all - embedding.bytes + 144);
    const output = header.tensors.find((x) => x.name === "output.weight")!;
    const tied = header.tensors.filter((x) => x !== output);
    assert.equal(ggufBytesPerToken(tied), all - output.bytes + 144);
  },
});

Deno.test("tiedBytesPerToken adds one embedding row of the embedding's type", () => {
  // The bench model at bf16: its row is 1024 × 2 bytes; quantized, 1024 values are 32 Q8_0 or 4 Q6_K blocks.
  assert.equal(tiedBytesPerToken(2 * 596049920, "bf16", 1024), 2 * 596049920 + 2048);
  assert.equal(tiedBytesPerToken(1000, "q8_0", 1024), 1000 + 32 * 34);
  assert.equal(tiedBytesPerToken(1000, "q6_k", 1024), 1000 + 4 * 210);
  assert.throws(() => tiedBytesPerToken(1000, "q4_k", 1000), /not a whole number of 256-blocks/);
});

const MOE_DIR = new URL("../../../shared/fixtures/gguf/qwen3moe-tiny/", import.meta.url).pathname;
const haveMoeFixture = (() => {
  try {
    return Deno.statSync(`${MOE_DIR}qwen3moe-tiny-f32.gguf`).isFile &&
      Deno.statSync(`${MOE_DIR}hf/config.json`).isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name:
    `writeQwen3Gguf: Qwen3-MoE (qwen3moe-tiny/hf) comes out as llama.cpp's converter wrote it — same tensors, dims, types and bytes, same qwen3moe keys${
      haveMoeFixture ? "" : ` (skipped: ${MOE_DIR} is missing; see ../shared/fixtures/gguf)`
    }`,
  ignore: !haveMoeFixture,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const result = await writeQwen3Gguf(`${MOE_DIR}hf`, `${dir}/m.gguf`, "f32");
      const ours = await readGgufHeader(result.path);
      const theirs = await readGgufHeader(`${MOE_DIR}qwen3moe-tiny-f32.gguf`);
      assert.equal(ours.tensors.length, theirs.tensors.length);
      for (const t of theirs.tensors) {
        const o = ours.tensors.find((x) => x.name === t.name);
        assert.ok(o, `${t.name} is missing`);
        assert.deepEqual([o.dims, o.type], [t.dims, t.type], t.name);
        assert.deepEqual(
          await readTensor(result.path, ours.dataOffset, o.offset, o.bytes),
          await readTensor(`${MOE_DIR}qwen3moe-tiny-f32.gguf`, theirs.dataOffset, t.offset, t.bytes),
          t.name,
        );
      }
      for (const [key, entry] of theirs.metadata) {
        if (!key.startsWith("qwen3moe.")) continue;
        assert.deepEqual(ours.metadata.get(key)?.value, entry.value, key);
      }
      assert.equal(
        ggufBytesPerToken(ours.tensors, { used: 2, count: 8 }) < ggufBytesPerToken(ours.tensors),
        true,
      );
      // The engine runs the written file as it runs the folder.
      const plugin = Plugin.open({ cpuDevices: 1, cpuThreadsPerDevice: 1 });
      const fromFolder = await plugin.loadModel(`${MOE_DIR}hf`, { contextLength: 32, maxSequences: 1 });
      const fromGguf = await plugin.loadModel(result.path, { contextLength: 32, maxSequences: 1 });
      try {
        const prompt = [1, 40, 300, 7, 99, 256, 3];
        assert.ok(maxAbsDiff(await logitsOf(fromGguf, prompt), await logitsOf(fromFolder, prompt)) <= 1e-5);
        assert.deepEqual(await greedyIds(fromGguf, prompt, 8), await greedyIds(fromFolder, prompt, 8));
      } finally {
        await fromFolder.unload();
        await fromGguf.unload();
        plugin.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("ggufBytesPerToken: a MoE file's expert stacks count the used experts' share", () => {
  const t = (name: string, bytes: number, dims = [4, 4]) => ({
    name,
    bytes,
    dims,
    type: "F32",
    typeId: 0,
    offset: 0,
  });
  const tensors = [
    t("token_embd.weight", 400, [4, 100]),
    t("output.weight", 400),
    t("blk.0.ffn_up_exps.weight", 800),
  ];
  assert.equal(ggufBytesPerToken(tensors), 400 + 800 + 4);
  assert.equal(ggufBytesPerToken(tensors, { used: 2, count: 8 }), 400 + 200 + 4);
});
