// The GGUF loader on files derived from a fixture (read by sources/gguf, written by its writer): split files open from any shard,
// v2 and other alignments load alike, and each structural fault or unsupported feature is refused
// with the right code and a message naming it.
import assert from "node:assert/strict";
import { type Model, Plugin, type PluginErrorCode } from "./mod.ts";
import { logitsOf, pluginError, withTempDir } from "./_test_helpers.ts";
import { GGUF_FIXTURES, ggufFixturesAvailable } from "./_gguf_fixtures.ts";
import {
  bytesSource,
  encodeGguf,
  type GgufMetadataEntry,
  ggufScalar,
  type GgufTensorSource,
  GgufValueType,
  parseGgufHeader,
} from "../sources/gguf/mod.ts";

const QWEN = `${GGUF_FIXTURES}/qwen3-tiny/qwen3-tiny-q8_0.gguf`;
const PROMPT = [1, 436, 89, 232, 399, 97, 26];

async function logitsOfFile(plugin: Plugin, path: string): Promise<Float32Array> {
  const model: Model = await plugin.loadModel(path);
  try {
    return await logitsOf(model, PROMPT);
  } finally {
    await model.unload();
  }
}

/** A GGUF file as the tests derive others from it. `offsets` overrides the data offsets written. */
interface GgufFile {
  version: 2 | 3;
  metadata: Map<string, GgufMetadataEntry>;
  tensors: (GgufTensorSource & { data: Uint8Array })[];
  offsets?: number[];
}

async function parseGguf(bytes: Uint8Array): Promise<GgufFile> {
  const header = await parseGgufHeader(bytesSource(bytes), QWEN);
  const tensors = header.tensors.map((t) => {
    const start = header.dataOffset + t.offset;
    return { name: t.name, type: t.typeId, dims: t.dims, data: bytes.subarray(start, start + t.bytes) };
  });
  return { version: header.version as 2 | 3, metadata: header.metadata, tensors };
}

/** Writes `file` as given (the broken cases on purpose: no checks). */
function writeGguf(file: GgufFile): Promise<Uint8Array> {
  return encodeGguf(file.metadata, file.tensors, {
    version: file.version,
    offsets: file.offsets,
    check: false,
  });
}

/** A copy of `file` with metadata `key` replaced (or added, last) by `value`. */
function withKv(file: GgufFile, key: string, value: GgufMetadataEntry): GgufFile {
  const metadata = new Map([...file.metadata].filter(([k]) => k !== key));
  return { ...file, metadata: metadata.set(key, value) };
}

/** Splits `file` into `count` shards the way llama.cpp's gguf-split does: metadata in the first,
 * `split.no` / `split.count` / `split.tensors.count` in each, tensors dealt out in order. */
function splitGguf(file: GgufFile, count: number): GgufFile[] {
  const per = Math.ceil(file.tensors.length / count);
  return Array.from({ length: count }, (_, k) => ({
    ...file,
    metadata: new Map([
      ...(k === 0 ? file.metadata : []),
      ["split.no", ggufScalar(GgufValueType.UINT16, k)],
      ["split.count", ggufScalar(GgufValueType.UINT16, count)],
      ["split.tensors.count", ggufScalar(GgufValueType.INT32, file.tensors.length)],
    ]),
    tensors: file.tensors.slice(k * per, (k + 1) * per),
  }));
}

if (ggufFixturesAvailable()) {
  const original = await parseGguf(await Deno.readFile(QWEN));

  Deno.test("the test writer reproduces the fixture byte for byte", async () => {
    assert.deepEqual(await writeGguf(original), await Deno.readFile(QWEN));
  });

  Deno.test("a split GGUF opens from any shard and gives the unsplit file's logits", async () => {
    const plugin = Plugin.open();
    try {
      const expected = await logitsOfFile(plugin, QWEN);
      await withTempDir(async (dir) => {
        const shards = splitGguf(original, 3);
        const name = (k: number): string => `${dir}/qwen3-tiny-q8_0-0000${k}-of-00003.gguf`;
        for (const [k, shard] of shards.entries()) await Deno.writeFile(name(k + 1), await writeGguf(shard));
        assert.deepEqual(await logitsOfFile(plugin, name(1)), expected);
        assert.deepEqual(await logitsOfFile(plugin, name(3)), expected);
        await Deno.remove(name(2));
        await assert.rejects(plugin.loadModel(name(1)), pluginError("not_found", /-00002-of-00003\.gguf/));
      });
    } finally {
      plugin.close();
    }
  });

  Deno.test("GGUF v2 and a 64-byte alignment load with the same logits", async () => {
    const plugin = Plugin.open();
    try {
      const expected = await logitsOfFile(plugin, QWEN);
      await withTempDir(async (dir) => {
        await Deno.writeFile(`${dir}/v2.gguf`, await writeGguf({ ...original, version: 2 }));
        assert.deepEqual(await logitsOfFile(plugin, `${dir}/v2.gguf`), expected);
        const aligned = withKv(original, "general.alignment", ggufScalar(GgufValueType.UINT32, 64));
        await Deno.writeFile(`${dir}/aligned.gguf`, await writeGguf(aligned));
        assert.deepEqual(await logitsOfFile(plugin, `${dir}/aligned.gguf`), expected);
      });
    } finally {
      plugin.close();
    }
  });

  Deno.test("structural faults and unsupported features are refused by name", async () => {
    const plugin = Plugin.open();
    try {
      const baseline = (await plugin.queryMemory(0)).freeBytes;
      const first = original.tensors[0];
      const cases: [string, Uint8Array, PluginErrorCode, RegExp][] = [
        [
          "duplicate tensor",
          await writeGguf({ ...original, tensors: [...original.tensors, first] }),
          "bad_model",
          new RegExp(`tensor '${first.name.replaceAll(".", "\\.")}' is defined twice`),
        ],
        [
          "unaligned offset",
          await writeGguf({ ...original, offsets: original.tensors.map((_, i) => i === 1 ? 1 : 0) }),
          "bad_model",
          /has offset 1, not a multiple of the alignment 32/,
        ],
        [
          "string past the end",
          await (async () => {
            const bytes = await writeGguf(original);
            // The first key's length (right after the 24-byte header) made larger than the file.
            new DataView(bytes.buffer).setBigUint64(24, 1n << 40n, true);
            return bytes;
          })(),
          "bad_model",
          /truncated: metadata key 0 needs 1099511627776 bytes/,
        ],
        [
          "rope scaling",
          await writeGguf(
            withKv(original, "qwen3.rope.scaling.type", ggufScalar(GgufValueType.STRING, "yarn")),
          ),
          "unsupported_architecture",
          /rope scaling 'yarn'/,
        ],
        [
          "a tensor without a place",
          await writeGguf({
            ...original,
            tensors: [...original.tensors, { ...first, name: "blk.0.attn_q.bias", dims: [512] }],
          }),
          "unsupported_architecture",
          /tensor 'blk\.0\.attn_q\.bias', which the engine's Qwen3ForCausalLM graph has no place for/,
        ],
        [
          "mamba",
          await writeGguf(
            withKv(original, "general.architecture", ggufScalar(GgufValueType.STRING, "mamba")),
          ),
          "unsupported_architecture",
          /GGUF architecture 'mamba', which is not supported \(supported: qwen3, qwen3moe, llama\)/,
        ],
        [
          "qwen3moe without its metadata",
          await writeGguf(
            withKv(original, "general.architecture", ggufScalar(GgufValueType.STRING, "qwen3moe")),
          ),
          "bad_model",
          /has no metadata 'qwen3moe\.embedding_length'/,
        ],
        [
          "missing metadata",
          await writeGguf({
            ...original,
            metadata: new Map([...original.metadata].filter(([key]) => key !== "qwen3.block_count")),
          }),
          "bad_model",
          /has no metadata 'qwen3\.block_count'/,
        ],
      ];
      await withTempDir(async (dir) => {
        for (const [label, bytes, code, pattern] of cases) {
          const path = `${dir}/${label.replaceAll(" ", "-")}.gguf`;
          await Deno.writeFile(path, bytes);
          await assert.rejects(plugin.loadModel(path), pluginError(code, pattern), label);
        }
      });
      assert.equal((await plugin.queryMemory(0)).freeBytes, baseline);
    } finally {
      plugin.close();
    }
  });
}
