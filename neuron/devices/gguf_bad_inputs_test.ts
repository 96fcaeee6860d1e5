// Broken GGUF files (temp copies of a fixture, patched byte by byte) fail to load with the right
// status and a message naming the problem; the device's memory returns to its baseline and the
// plugin still loads and runs a good model afterwards.
import assert from "node:assert/strict";
import { GREEDY, Plugin, PluginError, type PluginErrorCode } from "./mod.ts";
import { pluginError, withTempDir } from "./_test_helpers.ts";
import { GGUF_FIXTURES, ggufFixturesAvailable } from "./_gguf_fixtures.ts";

const GOOD = `${GGUF_FIXTURES}/qwen3-tiny/qwen3-tiny-f32.gguf`;
const encoder = new TextEncoder();

/** Index of the first occurrence of `needle` in `bytes` (throws when absent). */
function find(bytes: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= bytes.length; i++) {
    for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error("pattern not found in the fixture");
}

/** The byte offset of tensor `name`'s ggml type field in its tensor info. */
function tensorTypeOffset(bytes: Uint8Array, name: string): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const nameBytes = encoder.encode(name);
  const at = find(bytes, nameBytes);
  assert.equal(
    view.getBigUint64(at - 8, true),
    BigInt(nameBytes.length),
    "the name is a tensor info's string",
  );
  const dims = view.getUint32(at + nameBytes.length, true);
  return at + nameBytes.length + 4 + 8 * dims;
}

/** The byte offset of the string value of metadata `key`. */
function stringValueOffset(bytes: Uint8Array, key: string): number {
  const at = find(bytes, encoder.encode(key)) + key.length;
  assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getUint32(at, true), 8, `${key} is a string`);
  return at + 4 + 8;
}

interface Case {
  name: string;
  patch: (bytes: Uint8Array) => Uint8Array;
  code: PluginErrorCode;
  message: RegExp;
}

const CASES: Case[] = [
  {
    name: "truncated inside the metadata",
    patch: (bytes) => bytes.slice(0, 200),
    code: "bad_model",
    message: /truncated/,
  },
  {
    name: "bad magic",
    patch: (bytes) => {
      bytes.set(encoder.encode("GGML"), 0);
      return bytes;
    },
    code: "bad_model",
    message: /bad magic/,
  },
  {
    name: "unknown version",
    patch: (bytes) => {
      new DataView(bytes.buffer).setUint32(4, 7, true);
      return bytes;
    },
    code: "bad_model",
    message: /GGUF version 7; supported: 2, 3/,
  },
  {
    name: "a tensor past the end",
    patch: (bytes) => bytes.slice(0, bytes.length - 4096),
    code: "bad_model",
    message: /truncated: tensor '[a-z0-9_.]+' needs data bytes/,
  },
  {
    name: "an unsupported tensor type (Q2_K)",
    patch: (bytes) => {
      new DataView(bytes.buffer).setUint32(tensorTypeOffset(bytes, "blk.1.ffn_up.weight"), 10, true);
      return bytes;
    },
    code: "unsupported_architecture",
    message: /tensor 'blk\.1\.ffn_up\.weight' .*ggml type Q2_K/,
  },
  {
    name: "an unknown architecture",
    patch: (bytes) => {
      bytes.set(encoder.encode("mamba"), stringValueOffset(bytes, "general.architecture"));
      return bytes;
    },
    code: "unsupported_architecture",
    message: /architecture 'mamba'.*supported: qwen3, qwen3moe, llama/,
  },
];

if (ggufFixturesAvailable()) {
  Deno.test("broken GGUF files are refused by name; memory returns to baseline; a good model still runs", async () => {
    const plugin = Plugin.open();
    try {
      const baseline = (await plugin.queryMemory(0)).freeBytes;
      const good = await Deno.readFile(GOOD);
      await withTempDir(async (dir) => {
        for (const broken of CASES) {
          const path = `${dir}/${broken.name.replaceAll(/[^a-z0-9]+/g, "-")}.gguf`;
          await Deno.writeFile(path, broken.patch(good.slice()));
          await assert.rejects(plugin.loadModel(path), pluginError(broken.code, broken.message, broken.name));
          assert.equal(
            (await plugin.queryMemory(0)).freeBytes,
            baseline,
            `${broken.name}: memory back to baseline`,
          );
        }
        await assert.rejects(
          plugin.loadModel(`${dir}/absent.gguf`),
          (error: unknown) => error instanceof PluginError && error.code === "not_found",
        );
      });
      const model = await plugin.loadModel(GOOD);
      try {
        const sequence = await model.newSequence();
        const [result] = await model.step([{ sequence, tokens: [1, 436, 89], sampling: GREEDY }]);
        assert.ok(result.token! >= 0 && result.token! < model.info.vocabSize);
        await sequence.free();
      } finally {
        await model.unload();
      }
      assert.equal((await plugin.queryMemory(0)).freeBytes, baseline, "memory back to baseline after unload");
    } finally {
      plugin.close();
    }
  });
}
