// The GGUF loader on files derived from a fixture (_gguf_file.ts): split files open from any shard,
// v2 and other alignments load alike, and each structural fault or unsupported feature is refused
// with the right code and a message naming it.
import assert from "node:assert/strict";
import { type Model, Plugin, PluginError, type PluginErrorCode } from "./mod.ts";
import { logitsOf, withTempDir } from "./_test_helpers.ts";
import { GGUF_FIXTURES, ggufFixturesAvailable } from "./_gguf_fixtures.ts";
import { type GgufFile, parseGguf, splitGguf, stringKv, writeGguf } from "./_gguf_file.ts";

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

function rejectsWith(code: PluginErrorCode, pattern: RegExp): (error: unknown) => boolean {
  return (error: unknown): boolean => {
    assert.ok(error instanceof PluginError, `expected a PluginError, got ${error}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    return true;
  };
}

/** A copy of `file` with metadata `key` replaced (or added) by `kv`. */
function withKv(file: GgufFile, kv: GgufFile["kvs"][number]): GgufFile {
  return { ...file, kvs: [...file.kvs.filter((entry) => entry.key !== kv.key), kv] };
}

if (ggufFixturesAvailable()) {
  const original = parseGguf(await Deno.readFile(QWEN));

  Deno.test("the test writer reproduces the fixture byte for byte", async () => {
    assert.deepEqual(writeGguf(original), await Deno.readFile(QWEN));
  });

  Deno.test("a split GGUF opens from any shard and gives the unsplit file's logits", async () => {
    const plugin = Plugin.open();
    try {
      const expected = await logitsOfFile(plugin, QWEN);
      await withTempDir(async (dir) => {
        const shards = splitGguf(original, 3);
        const name = (k: number): string => `${dir}/qwen3-tiny-q8_0-0000${k}-of-00003.gguf`;
        for (const [k, shard] of shards.entries()) await Deno.writeFile(name(k + 1), writeGguf(shard));
        assert.deepEqual(await logitsOfFile(plugin, name(1)), expected);
        assert.deepEqual(await logitsOfFile(plugin, name(3)), expected);
        await Deno.remove(name(2));
        await assert.rejects(plugin.loadModel(name(1)), rejectsWith("not_found", /-00002-of-00003\.gguf/));
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
        await Deno.writeFile(`${dir}/v2.gguf`, writeGguf({ ...original, version: 2 }));
        assert.deepEqual(await logitsOfFile(plugin, `${dir}/v2.gguf`), expected);
        const aligned = withKv({ ...original, alignment: 64 }, {
          key: "general.alignment",
          type: 4,
          raw: new Uint8Array([64, 0, 0, 0]),
        });
        await Deno.writeFile(`${dir}/aligned.gguf`, writeGguf(aligned));
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
          writeGguf({ ...original, tensors: [...original.tensors, first] }),
          "bad_model",
          new RegExp(`tensor '${first.name.replaceAll(".", "\\.")}' is defined twice`),
        ],
        [
          "unaligned offset",
          writeGguf({ ...original, offsets: original.tensors.map((_, i) => i === 1 ? 1n : 0n) }),
          "bad_model",
          /has offset 1, not a multiple of the alignment 32/,
        ],
        [
          "string past the end",
          (() => {
            const bytes = writeGguf(original);
            // The first key's length (right after the 24-byte header) made larger than the file.
            new DataView(bytes.buffer).setBigUint64(24, 1n << 40n, true);
            return bytes;
          })(),
          "bad_model",
          /truncated: metadata key 0 needs 1099511627776 bytes/,
        ],
        [
          "rope scaling",
          writeGguf(withKv(original, stringKv("qwen3.rope.scaling.type", "yarn"))),
          "unsupported_architecture",
          /rope scaling 'yarn'/,
        ],
        [
          "a tensor without a place",
          writeGguf({
            ...original,
            tensors: [...original.tensors, { ...first, name: "blk.0.attn_q.bias", dims: [512n] }],
          }),
          "unsupported_architecture",
          /tensor 'blk\.0\.attn_q\.bias', which the engine's Qwen3ForCausalLM graph has no place for/,
        ],
        [
          "mamba",
          writeGguf(withKv(original, stringKv("general.architecture", "mamba"))),
          "unsupported_architecture",
          /GGUF architecture 'mamba', which is not supported \(supported: qwen3, qwen3moe, llama\)/,
        ],
        [
          "qwen3moe without its metadata",
          writeGguf(withKv(original, stringKv("general.architecture", "qwen3moe"))),
          "bad_model",
          /has no metadata 'qwen3moe\.embedding_length'/,
        ],
        [
          "missing metadata",
          writeGguf({ ...original, kvs: original.kvs.filter((kv) => kv.key !== "qwen3.block_count") }),
          "bad_model",
          /has no metadata 'qwen3\.block_count'/,
        ],
      ];
      await withTempDir(async (dir) => {
        for (const [label, bytes, code, pattern] of cases) {
          const path = `${dir}/${label.replaceAll(" ", "-")}.gguf`;
          await Deno.writeFile(path, bytes);
          await assert.rejects(plugin.loadModel(path), rejectsWith(code, pattern), label);
        }
      });
      assert.equal((await plugin.queryMemory(0)).freeBytes, baseline);
    } finally {
      plugin.close();
    }
  });
}
