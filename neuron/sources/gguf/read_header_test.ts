import assert from "node:assert/strict";
import { CortexError } from "@cortex/core/errors";
import { bytesSource, metaArray, metaString, parseGgufHeader, readGgufHeader } from "./mod.ts";
import { type GgufMetadataEntry, type GgufValue, GgufValueType } from "./types.ts";
import { encodeGguf } from "./write.ts";
import { seededRandom } from "../../testing/rng.ts";

const FIXTURES = new URL("../../../../shared/fixtures/gguf/", import.meta.url).pathname;
const haveFixtures = await Deno.stat(FIXTURES).then(() => true, () => false);
if (!haveFixtures) console.warn(`skipping GGUF fixture tests: ${FIXTURES} is absent`);

function randomScalar(r: () => number, type: GgufValueType): GgufValue {
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  switch (type) {
    case GgufValueType.UINT8:
      return int(0, 255);
    case GgufValueType.INT8:
      return int(-128, 127);
    case GgufValueType.UINT16:
      return int(0, 65535);
    case GgufValueType.INT16:
      return int(-32768, 32767);
    case GgufValueType.UINT32:
      return int(0, 2 ** 32 - 1);
    case GgufValueType.INT32:
      return int(-(2 ** 31), 2 ** 31 - 1);
    case GgufValueType.FLOAT32:
      return Math.fround((r() - 0.5) * 1e6);
    case GgufValueType.FLOAT64:
      return (r() - 0.5) * 1e300;
    case GgufValueType.BOOL:
      return r() < 0.5;
    case GgufValueType.STRING:
      return Array.from({ length: int(0, 12) }, () => ["a", "é", "▁", "😀", "\n", "<", "\u0000"][int(0, 6)])
        .join("");
    case GgufValueType.UINT64:
      return r() < 0.5 ? int(0, 2 ** 40) : 2n ** 63n + BigInt(int(0, 1000));
    case GgufValueType.INT64:
      return r() < 0.5 ? int(-(2 ** 40), 2 ** 40) : -(2n ** 62n) - BigInt(int(0, 1000));
    default:
      throw new Error(`not a scalar: ${type}`);
  }
}

const SCALARS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12] as GgufValueType[];

function randomMetadata(r: () => number): Map<string, GgufMetadataEntry> {
  const metadata = new Map<string, GgufMetadataEntry>();
  const n = Math.floor(r() * 12);
  for (let i = 0; i < n; i++) {
    const key = `k${i}.${Math.floor(r() * 1000)}`;
    if (r() < 0.3) {
      const itemType = SCALARS[Math.floor(r() * SCALARS.length)];
      const value = Array.from({ length: Math.floor(r() * 6) }, () => randomScalar(r, itemType));
      metadata.set(key, { type: GgufValueType.ARRAY, itemType, value });
    } else {
      const type = SCALARS[Math.floor(r() * SCALARS.length)];
      metadata.set(key, { type, itemType: null, value: randomScalar(r, type) });
    }
  }
  if (r() < 0.3) metadata.set("general.alignment", { type: GgufValueType.UINT32, itemType: null, value: 64 });
  return metadata;
}

/** A tensor of a test file: its data is `bytes` zeros. */
interface TestTensor {
  name: string;
  dims: number[];
  typeId: number;
  bytes: number;
}

/** A GGUF v`version` file of `metadata` and zero-filled `tensors`, written as given (no checks). */
function writeTestGguf(
  metadata: Map<string, GgufMetadataEntry>,
  tensors: TestTensor[] = [],
  version: 2 | 3 = 3,
): Promise<Uint8Array> {
  const sources = tensors.map((t) => ({
    name: t.name,
    type: t.typeId,
    dims: t.dims,
    data: new Uint8Array(t.bytes),
  }));
  return encodeGguf(metadata, sources, { version, check: false });
}

function randomTensors(r: () => number): TestTensor[] {
  return Array.from({ length: Math.floor(r() * 4) }, (_, i) => {
    const q8 = r() < 0.5;
    const dims = [q8 ? 32 * (1 + Math.floor(r() * 3)) : 1 + Math.floor(r() * 9), 1 + Math.floor(r() * 3)];
    const elements = dims[0] * dims[1];
    return { name: `blk.${i}.w`, dims, typeId: q8 ? 8 : 0, bytes: q8 ? (elements / 32) * 34 : elements * 4 };
  });
}

async function expectGgufError(bytes: Uint8Array, pattern: RegExp): Promise<void> {
  await assert.rejects(parseGgufHeader(bytesSource(bytes), "t.gguf"), (error: unknown) => {
    assert.ok(error instanceof CortexError, `not a CortexError: ${error}`);
    assert.equal(error.status, 422);
    assert.equal(error.code, "bad_model_folder");
    assert.match(error.message, /^GGUF file t\.gguf: /);
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("random metadata and tensor infos round-trip through the header reader", async () => {
  for (let seed = 1; seed <= 200; seed++) {
    const r = seededRandom(seed);
    const metadata = randomMetadata(r);
    const tensors = randomTensors(r);
    const bytes = await writeTestGguf(metadata, tensors, r() < 0.5 ? 2 : 3);
    const header = await parseGgufHeader(bytesSource(bytes), "t.gguf");
    assert.deepEqual(header.metadata, metadata, `seed ${seed}`);
    assert.deepEqual(
      header.tensors.map((t) => [t.name, t.dims, t.typeId, t.bytes]),
      tensors.map((t) => [
        t.name,
        t.dims,
        t.typeId,
        t.bytes,
      ]),
    );
    assert.equal(header.dataOffset % header.alignment, 0);
    assert.equal(header.tensorBytes, tensors.reduce((s, t) => s + t.bytes, 0));
  }
});

Deno.test("every truncation of a header is a clear 422, never a crash", async () => {
  for (let seed = 1; seed <= 8; seed++) {
    const r = seededRandom(1000 + seed);
    const metadata = randomMetadata(r);
    metadata.set("tokenizer.ggml.tokens", {
      type: GgufValueType.ARRAY,
      itemType: GgufValueType.STRING,
      value: ["<s>", "a", "▁b"],
    });
    const bytes = await writeTestGguf(
      metadata,
      randomTensors(r).concat([{ name: "x", dims: [16], typeId: 0, bytes: 64 }]),
    );
    for (let cut = 0; cut < bytes.length; cut++) {
      await expectGgufError(bytes.subarray(0, cut), /truncated|past the end|cannot fit/);
    }
  }
});

Deno.test("bad magic, unknown version, unknown types and a tensor past the end are named", async () => {
  // 1088 bytes = 17 × 64: the data ends the file with no padding after it
  const good = await writeTestGguf(new Map(), [{ name: "w", dims: [1024], typeId: 8, bytes: 1088 }]);
  const badMagic = good.slice();
  badMagic.set([0x50, 0x4b, 3, 4]);
  await expectGgufError(badMagic, /bad magic "PK\\x03\\x04"/);
  const v9 = good.slice();
  new DataView(v9.buffer).setUint32(4, 9, true);
  await expectGgufError(v9, /unknown GGUF version 9/);
  await expectGgufError(
    await writeTestGguf(new Map(), [{ name: "w", dims: [256], typeId: 16, bytes: 66 }]),
    /tensor 'w' has ggml type 16/,
  );
  await expectGgufError(
    await (async () => {
      // A u8 entry 'k' whose type id (after the 24-byte header and the key's 8 + 1 bytes) becomes 13.
      const bytes = await writeTestGguf(
        new Map([["k", { type: GgufValueType.UINT8, itemType: null, value: 0 }]]),
      );
      new DataView(bytes.buffer).setUint32(33, 13, true);
      return bytes;
    })(),
    /'k' has unknown metadata value type 13/,
  );
  const short = good.subarray(0, good.length - 1);
  await expectGgufError(short, /tensor 'w' \(Q8_0, 1088 bytes at data offset 0\) runs past the end/);
  await expectGgufError(
    await writeTestGguf(new Map(), [{ name: "w", dims: [33], typeId: 8, bytes: 34 }]),
    /rows of 33 elements, not a multiple of its block of 32/,
  );
});

Deno.test({
  name: "the qwen3-tiny and llama31-tiny GGUF headers read as gguf-py reads them",
  ignore: !haveFixtures,
  fn: async () => {
    const qwen = await readGgufHeader(`${FIXTURES}qwen3-tiny/qwen3-tiny-q4_k_m.gguf`);
    assert.equal(qwen.version, 3);
    assert.equal(qwen.tensors.length, 47);
    assert.equal(qwen.metadata.size, 25);
    assert.equal(metaString(qwen, "general.architecture"), "qwen3");
    assert.equal(metaString(qwen, "tokenizer.ggml.pre"), "qwen2");
    assert.equal(
      metaArray(qwen, "tokenizer.ggml.tokens", (v): v is string => typeof v === "string")?.length,
      512,
    );
    const types = new Set(qwen.tensors.map((t) => t.type));
    assert.ok(types.has("Q4_K") && types.has("Q6_K"), [...types].join());
    const end = Math.max(...qwen.tensors.map((t) => qwen.dataOffset + t.offset + t.bytes));
    assert.ok(qwen.fileSize - end < qwen.alignment, `${qwen.fileSize} vs ${end}`);
    const llama = await readGgufHeader(`${FIXTURES}llama31-tiny/llama31-tiny-f32.gguf`);
    assert.equal(metaString(llama, "tokenizer.ggml.model"), "llama");
    assert.equal(llama.tensors.length, 30);
    assert.ok(!llama.tensors.some((t) => t.name === "output.weight"));
  },
});

Deno.test("a missing file is a 422 naming it", async () => {
  await assert.rejects(
    readGgufHeader("/nonexistent/x.gguf"),
    /GGUF file \/nonexistent\/x\.gguf: does not exist/,
  );
});
