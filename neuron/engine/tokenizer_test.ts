import assert from "node:assert/strict";
import { CortexError } from "@cortex/core/errors";
import { ModelTokenizer } from "./tokenizer.ts";

const tinyQwen = new URL("../testdata/models/tiny-qwen3-f32", import.meta.url).pathname;
const stories = new URL("../../../shared/fixtures/stories260K/hf", import.meta.url).pathname;
const haveStories = (() => {
  try {
    return Deno.statSync(`${stories}/tokenizer.json`).isFile;
  } catch {
    return false;
  }
})();

function _rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

Deno.test("tokenizer: tiny Qwen3 round-trips text and knows its markers", async () => {
  const tokenizer = await ModelTokenizer.fromFolder(tinyQwen);
  const text = "Hello world, once upon a time é😀";
  assert.equal(tokenizer.decode(tokenizer.encode(text)), text);
  assert.equal(tokenizer.tokenId("<|im_end|>"), 1017);
  assert.equal(tokenizer.tokenId("no such token"), null);
  assert.deepEqual(tokenizer.markers, { toolCall: true, reasoning: true });
  assert.equal(tokenizer.eosToken, "<|im_end|>");
  assert.ok(tokenizer.specialIds.has(1016));
  assert.ok(!tokenizer.specialIds.has(1022), "<think> is not special, so decoding keeps it for the parsers");
  // Special tokens are skipped when decoding output; markers are kept.
  assert.equal(tokenizer.decode([1016, 1022]), "<think>");
});

Deno.test("tokenizer (property): the decode stream's pieces concatenate to the full decode", async () => {
  const folders = [tinyQwen, ...(haveStories ? [stories] : [])];
  for (const folder of folders) {
    const tokenizer = await ModelTokenizer.fromFolder(folder);
    const random = _rng(7);
    const vocab = folder === tinyQwen ? 1024 : 512;
    for (let round = 0; round < 300; round++) {
      const ids = Array.from({ length: 1 + Math.floor(random() * 40) }, () => Math.floor(random() * vocab));
      const stream = tokenizer.decodeStream();
      let text = "";
      for (const id of ids) {
        text += stream.push(id);
      }
      text += stream.flush();
      assert.equal(text, tokenizer.decode(ids), `${folder} ids ${JSON.stringify(ids)}`);
    }
  }
});

Deno.test("tokenizer: multi-byte characters are held until complete", async () => {
  const tokenizer = await ModelTokenizer.fromFolder(tinyQwen);
  const ids = tokenizer.encode("😀");
  assert.ok(ids.length > 1, "the emoji spans several byte tokens in the tiny vocabulary");
  const stream = tokenizer.decodeStream();
  const pieces = ids.map((id) => stream.push(id));
  assert.deepEqual(pieces.slice(0, -1).filter((p) => p !== ""), []);
  assert.equal(pieces[pieces.length - 1], "😀");
});

Deno.test({
  name: "tokenizer: stories260K adds BOS; the decode stream keeps the space before the first generated word",
  ignore: !haveStories,
  fn: async () => {
    const tokenizer = await ModelTokenizer.fromFolder(stories);
    const ids = tokenizer.encode("Once upon a time", { addSpecialTokens: true });
    assert.equal(ids[0], 1);
    // The prompt is "<s> Once"; the generated tokens are the rest.
    const stream = tokenizer.decodeStream(ids.slice(0, 2));
    const pieces = ids.slice(2).map((id) => stream.push(id));
    assert.equal(pieces.join("") + stream.flush(), " upon a time");
    assert.ok(pieces[0].startsWith(" "), `first piece ${JSON.stringify(pieces[0])} keeps its space`);
    // Without the prompt as context a SentencePiece decoder strips that space.
    assert.equal(tokenizer.decodeStream().push(ids[2]).startsWith(" "), false);
  },
});

Deno.test("tokenizer: a folder without tokenizer.json is a 422 naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(ModelTokenizer.fromFolder(dir), (error: unknown) => {
      assert.ok(error instanceof CortexError);
      assert.equal(error.status, 422);
      assert.equal(error.code, "bad_model_folder");
      assert.match(error.message, /tokenizer\.json: file not found/);
      return true;
    });
    await Deno.writeTextFile(`${dir}/tokenizer.json`, "{not json");
    await assert.rejects(ModelTokenizer.fromFolder(dir), /tokenizer\.json: invalid JSON/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tokenizer: token bytes concatenate to the text's UTF-8, halves of characters included", async () => {
  const folders = [tinyQwen, ...(haveStories ? [stories] : [])];
  for (const folder of folders) {
    const tokenizer = await ModelTokenizer.fromFolder(folder);
    const text = "Once upon a time, é — 漢字 😀 there was";
    const ids = tokenizer.encode(text);
    const expected = [...new TextEncoder().encode(tokenizer.decode(ids))];
    const got = ids.flatMap((id) => tokenizer.tokenBytes(id));
    // SentencePiece decoding strips the one leading space the ▁ of the first piece stands for.
    const trimmed = got[0] === 0x20 && expected[0] !== 0x20 ? got.slice(1) : got;
    assert.deepEqual(trimmed, expected, folder);
    assert.ok(
      ids.some((id) => new TextDecoder().decode(new Uint8Array(tokenizer.tokenBytes(id))).includes("\uFFFD")),
      `${folder}: some token holds part of a character`,
    );
  }
  const qwen = await ModelTokenizer.fromFolder(tinyQwen);
  assert.deepEqual(
    qwen.tokenBytes(1017),
    [...new TextEncoder().encode("<|im_end|>")],
    "special tokens: their text",
  );
});
