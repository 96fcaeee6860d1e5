// The vocabulary index: its sorted walk finds exactly the tokens a brute-force check over the
// vocabulary finds, for JSON and name states on real tokenizers, budgets included.
import assert from "node:assert/strict";
import type { TokenMask } from "../devices/mod.ts";
import { type ByteAcceptor, stepBytes } from "./byte_acceptor.ts";
import { jsonObjectAcceptor } from "./json_prefix.ts";
import { literalChoice } from "./literal_choice.ts";
import { ModelTokenizer } from "./tokenizer.ts";
import { VocabIndex, vocabIndexOf } from "./vocab_index.ts";

import { DEMO_MODEL, haveDemoModel, TINY_QWEN3 } from "../testing/spawn_neuron.ts";

const encoder = new TextEncoder();

function allowedOf(mask: TokenMask | null, vocabSize: number): number[] {
  if (mask === null) return [];
  if ("allow" in mask) return [...mask.allow].sort((a, b) => a - b);
  const denied = new Set(mask.deny);
  return Array.from({ length: vocabSize }, (_, id) => id).filter((id) => !denied.has(id));
}

function bruteForce(index: VocabIndex, state: ByteAcceptor, budget: number): number[] {
  const out: number[] = [];
  for (let id = 0; id < index.vocabSize; id++) {
    const bytes = index.tokenBytes(id);
    const next = bytes === null ? null : stepBytes(state, bytes);
    if (next !== null && next.completion().length <= budget) out.push(id);
  }
  return out;
}

const PREFIXES = [
  "",
  "{",
  '{"',
  '{"city": "Lis',
  '{"city": "Lisbon", ',
  '{"a": [1, 2',
  '{"a": [1, {"b": tr',
  '{"a": -',
  '{"a": 1.',
  '{"a": "\\u00',
  '{"a": "\\',
  '{"a": "é',
  '{"a": {}',
  '{"x": null}',
];

for (
  const [label, folder, present] of [["tiny-qwen3", TINY_QWEN3, true], [
    "cortex-demo",
    DEMO_MODEL,
    haveDemoModel(),
  ]] as const
) {
  Deno.test({
    name: `vocab index (${label}): JSON and name masks equal a brute-force scan, with and without a budget`,
    ignore: !present,
    fn: async () => {
      const tokenizer = await ModelTokenizer.fromFolder(folder);
      const markers = ["<tool_call>", "</tool_call>", "<think>", "</think>"].map((t) =>
        tokenizer.tokenId(t)!
      );
      const size = JSON.parse(await Deno.readTextFile(`${folder}/config.json`)).vocab_size as number;
      const index = vocabIndexOf(tokenizer, size);
      assert.equal(index, vocabIndexOf(tokenizer, size), "built once per tokenizer");
      for (const id of [...markers, ...tokenizer.addedIds]) assert.equal(index.tokenBytes(id), null);
      const states: ByteAcceptor[] = PREFIXES.map((prefix) =>
        stepBytes(jsonObjectAcceptor(), encoder.encode(prefix))!
      );
      const names = literalChoice([
        'get_weather", "arguments": ',
        'get_time", "arguments": ',
        'bash", "arguments": ',
      ]);
      states.push(
        names,
        stepBytes(names, encoder.encode("get_"))!,
        stepBytes(names, encoder.encode("get_w"))!,
      );
      for (const state of states) {
        for (const budget of [1000, 6, 2, 1, 0]) {
          const expected = bruteForce(index, state, budget);
          assert.deepEqual(
            allowedOf(index.mask(state, budget), size),
            expected,
            `${state.key} budget ${budget}`,
          );
        }
      }
    },
  });
}

Deno.test("vocab index: greedy spelling takes the longest tokens and needs every byte spelled", () => {
  const bytes = (text: string): Uint8Array => encoder.encode(text);
  const index = new VocabIndex([bytes("a"), bytes("b"), bytes("ab"), bytes("abc"), null, bytes("c")]);
  assert.deepEqual(index.greedy(bytes("abcab")), [3, 2]);
  assert.deepEqual(index.greedy(bytes("cba")), [5, 1, 0]);
  assert.equal(index.greedy(bytes("abd")), null);
  const state = stepBytes(literalChoice(["abc", "bc"]), bytes("a"))!;
  assert.deepEqual(allowedOf(index.mask(state, 10), 6), [1]);
  assert.equal(index.mask(state, 0), null, "no token leaves a completion of 0 bytes");
  assert.deepEqual(allowedOf(index.mask(literalChoice(["abc", "bc"]), 0), 6), [3]);
});
