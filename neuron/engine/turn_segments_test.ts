import assert from "node:assert/strict";
import { Tokenizer } from "@huggingface/tokenizers";
import { seededRandom } from "../testing/rng.ts";
import { ModelTokenizer } from "./tokenizer.ts";
import { splitTurns, TurnEncoder } from "./turn_segments.ts";

const MODELS = new URL("../testdata/models/", import.meta.url).pathname;

Deno.test("splitTurns: a piece starts at every <|im_start|> but the first", () => {
  assert.deepEqual(splitTurns("<|im_start|>a\n<|im_start|>b"), ["<|im_start|>a\n", "<|im_start|>b"]);
  assert.deepEqual(splitTurns("x<|im_start|>y"), ["x", "<|im_start|>y"]);
  assert.deepEqual(splitTurns("plain"), ["plain"]);
});

Deno.test("TurnEncoder: earlier turns come from the cache; a tokenizer whose split differs is caught and encoded whole", () => {
  const calls: string[] = [];
  const chars = (text: string) => (calls.push(text), [...text].map((c) => c.charCodeAt(0)));
  const encoder = new TurnEncoder(chars, 1000, 0);
  const first = "<|im_start|>system\\nS<|im_end|>\\n<|im_start|>user\\nhi<|im_end|>\\n";
  assert.deepEqual(encoder.encode(first), chars(first));
  calls.length = 0;
  encoder.encode(first + "<|im_start|>assistant\\n");
  assert.deepEqual(calls, ["<|im_start|>assistant\\n"], "only the new turn is encoded");
  // A tokenizer that merges across the opener: the first check sees it and encoding goes whole.
  const merging = (text: string) => [text.length, ...chars(text).slice(0, 1)];
  const wary = new TurnEncoder(merging, 1000, 1);
  assert.deepEqual(wary.encode(first), merging(first));
  assert.equal(wary.trusted, false);
  assert.deepEqual(wary.encode(first), merging(first));
});

Deno.test("ModelTokenizer: chat prompts encoded turn by turn equal the whole encoding (property, fixture tokenizers)", async () => {
  const random = seededRandom(7);
  const pieces = [
    "hello",
    " world",
    "\n",
    "  ",
    "\t",
    "ünïcödé",
    "日本語",
    "😀",
    "<tool_call>",
    '{"a": 1}',
    "  \n\n",
    "x",
  ];
  const text = (n: number) =>
    Array.from({ length: n }, () => pieces[Math.floor(random() * pieces.length)]).join("");
  for (const name of ["tiny-qwen3-f32", "tiny-llama31-f32", "tiny-qwen3_5-f32"]) {
    const folder = `${MODELS}${name}`;
    const raw = JSON.parse(await Deno.readTextFile(`${folder}/tokenizer.json`));
    const config = JSON.parse(await Deno.readTextFile(`${folder}/tokenizer_config.json`));
    const turnwise = new ModelTokenizer(raw, config);
    const whole = new Tokenizer(raw, config);
    const reference = (s: string) => whole.encode(s, { add_special_tokens: false }).ids;
    for (let c = 0; c < 40; c++) {
      const turns = Array.from(
        { length: 2 + Math.floor(random() * 5) },
        (_, t) =>
          `<|im_start|>${["system", "user", "assistant"][t % 3]}\n${
            text(1 + Math.floor(random() * 30))
          }<|im_end|>\n`,
      );
      const prompt = (random() < 0.3 ? text(3) : "") + turns.join("") + "<|im_start|>assistant\n";
      assert.deepEqual(turnwise.encode(prompt), reference(prompt), `${name} conversation ${c}`);
    }
    // Past its checks it still matches, its turns now coming from the cache.
    assert.deepEqual(
      turnwise.encode("<|im_start|>user\nagain<|im_end|>\n<|im_start|>assistant\n"),
      reference("<|im_start|>user\nagain<|im_end|>\n<|im_start|>assistant\n"),
    );
  }
});
