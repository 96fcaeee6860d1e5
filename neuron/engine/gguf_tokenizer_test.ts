import assert from "node:assert/strict";
import { CortexError } from "@cortex/core/errors";
import { readGgufHeader } from "../sources/gguf/read_header.ts";
import { GgufValueType } from "../sources/gguf/types.ts";
import { ChatTemplate } from "./chat_template.ts";
import { ggufTokenizerFiles, sentencePieceMerges } from "./gguf_tokenizer.ts";
import { ModelTokenizer } from "./tokenizer.ts";

const FIXTURES = new URL("../../../shared/fixtures/gguf/", import.meta.url).pathname;
const haveFixtures = await Deno.stat(FIXTURES).then(() => true, () => false);
if (!haveFixtures) console.warn(`skipping GGUF tokenizer tests: ${FIXTURES} is absent`);

/** Chat markup, tool calls, code, paths, numbers, unicode, emoji, runs of spaces and newlines. */
const CORPUS: string[] = [
  "Hello world",
  " Hello  world   with    spaces",
  "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
  '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}\n</tool_call>',
  "<think>\nLet me think...\n</think>\n\nThe answer is 42.",
  "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
  "for (let i = 0; i < 10; i++) { console.log(`i=${i}`); }",
  "/usr/local/lib/python3.11/site-packages/torch/__init__.py",
  "C:\\Users\\me\\Documents\\report (final).docx",
  "3.14159 2,718 1e-5 -42 1000000 0x1F 12345678901234567890",
  "Ünïcödé façade naïve café — “quotes” ‘single’ … ½ ²",
  "日本語のテキストと中文文本，한국어 텍스트",
  "Emoji: 😀👍🏽🇫🇷 👨‍👩‍👧‍👦 ❤️",
  "\n\n\n  \t\t tabs\tand\r\nCRLF\r\n",
  "it's don't we're they've I'm you'll he'd IT'S DON'T",
  "    leading and trailing    ",
  "a" + " ".repeat(17) + "b",
  "",
  "<s>not a bos</s> <unk> literal",
  "Once upon a time, there was a little girl named Lily. She liked to play outside.",
];

async function pair(
  model: string,
  quant: string,
): Promise<{ gguf: ModelTokenizer; hf: ModelTokenizer; template: string | null }> {
  const path = `${FIXTURES}${model}/${model}-${quant}.gguf`;
  const { tokenizerJson, config } = ggufTokenizerFiles(await readGgufHeader(path), path);
  return {
    gguf: new ModelTokenizer(tokenizerJson, config),
    hf: await ModelTokenizer.fromFolder(`${FIXTURES}${model}/hf`),
    template: typeof config.chat_template === "string" ? config.chat_template : null,
  };
}

function compare(gguf: ModelTokenizer, hf: ModelTokenizer, addSpecialTokens: boolean): void {
  for (const text of CORPUS) {
    const ids = hf.encode(text, { addSpecialTokens });
    assert.deepEqual(gguf.encode(text, { addSpecialTokens }), ids, JSON.stringify(text));
    for (const skipSpecialTokens of [true, false]) {
      assert.equal(
        gguf.decode(ids, { skipSpecialTokens }),
        hf.decode(ids, { skipSpecialTokens }),
        JSON.stringify(text),
      );
    }
  }
}

Deno.test({
  name: "gguf tokenizer: qwen3-tiny's gpt2/qwen2 vocabulary encodes and decodes as its tokenizer.json",
  ignore: !haveFixtures,
  fn: async () => {
    for (const quant of ["f32", "q8_0"]) {
      const { gguf, hf } = await pair("qwen3-tiny", quant);
      compare(gguf, hf, false);
      compare(gguf, hf, true);
      assert.equal(gguf.eosToken, "<|im_end|>");
      assert.equal(gguf.bosToken, null);
      assert.deepEqual(gguf.markers, { toolCall: true, reasoning: true });
      assert.deepEqual([...gguf.specialIds].sort(), [...hf.specialIds].sort());
    }
  },
});

Deno.test({
  name: "gguf tokenizer: llama31-tiny's SentencePiece vocabulary encodes and decodes as its tokenizer.json",
  ignore: !haveFixtures,
  fn: async () => {
    const { gguf, hf } = await pair("llama31-tiny", "f32");
    compare(gguf, hf, false);
    compare(gguf, hf, true);
    assert.deepEqual(
      gguf.encode("hi", { addSpecialTokens: true }).slice(0, 1),
      [1],
      "add_bos_token puts <s> first",
    );
    assert.equal(gguf.bosToken, "<s>");
    assert.equal(gguf.eosToken, "</s>");
    const hfJson = JSON.parse(await Deno.readTextFile(`${FIXTURES}llama31-tiny/hf/tokenizer.json`));
    const header = await readGgufHeader(`${FIXTURES}llama31-tiny/llama31-tiny-f32.gguf`);
    const merges = sentencePieceMerges(
      header.metadata.get("tokenizer.ggml.tokens")!.value as string[],
      header.metadata.get("tokenizer.ggml.scores")!.value as number[],
    );
    assert.deepEqual(merges, hfJson.model.merges, "the merges derived from the scores are transformers' own");
  },
});

Deno.test({
  name: "gguf tokenizer: the chat template from GGUF metadata renders like the HF folder's",
  ignore: !haveFixtures,
  fn: async () => {
    const { gguf, template } = await pair("qwen3-tiny", "q8_0");
    assert.ok(template !== null);
    const fromGguf = new ChatTemplate(template, "gguf", { eos_token: gguf.eosToken! });
    const hfConfig = JSON.parse(await Deno.readTextFile(`${FIXTURES}qwen3-tiny/hf/tokenizer_config.json`));
    const fromFolder = await ChatTemplate.fromFolder(`${FIXTURES}qwen3-tiny/hf`, hfConfig);
    const messages = [
      { role: "system" as const, content: "Be brief." },
      { role: "user" as const, content: "Weather in Paris?" },
    ];
    const tools = [{
      type: "function" as const,
      function: {
        name: "get_weather",
        description: "Weather",
        parameters: { type: "object", properties: {} },
      },
    }];
    assert.equal(fromGguf.render(messages), fromFolder.render(messages));
    assert.equal(fromGguf.render(messages, { tools }), fromFolder.render(messages, { tools }));
    assert.match(fromGguf.render(messages), /<\|im_start\|>assistant\n$/);
  },
});

Deno.test({
  name: "gguf tokenizer: an unknown pre-tokenizer or tokenizer model is a 422 naming it",
  ignore: !haveFixtures,
  fn: async () => {
    const path = `${FIXTURES}qwen3-tiny/qwen3-tiny-q8_0.gguf`;
    const header = await readGgufHeader(path);
    header.metadata.set("tokenizer.ggml.pre", {
      type: GgufValueType.STRING,
      itemType: null,
      value: "chameleon",
    });
    assert.throws(() => ggufTokenizerFiles(header, path), (e: unknown) => {
      assert.ok(e instanceof CortexError);
      assert.equal(e.status, 422);
      assert.match(
        e.message,
        /tokenizer\.ggml\.pre 'chameleon' is not supported \(supported: default, gpt-2/,
      );
      return true;
    });
    header.metadata.set("tokenizer.ggml.model", { type: GgufValueType.STRING, itemType: null, value: "t5" });
    assert.throws(() => ggufTokenizerFiles(header, path), /tokenizer\.ggml\.model 't5' is not supported/);
  },
});
