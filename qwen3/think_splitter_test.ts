import assert from "node:assert/strict";
import { normalize, reconstruct, runChunks } from "./_testing/events.ts";
import { Rng } from "./_testing/random.ts";
import type { ThinkEvent } from "./events.ts";
import { ThinkSplitter, type ThinkSplitterOptions } from "./think_splitter.ts";

function split(chunks: string[], options: ThinkSplitterOptions = {}): ThinkEvent[] {
  return normalize(runChunks(new ThinkSplitter(options), chunks)) as ThinkEvent[];
}

Deno.test("ThinkSplitter: reasoning, markers and text, untrimmed", () => {
  assert.deepEqual(split(["<think>\nplan\n</think>\n\nanswer"]), [
    { type: "think_start" },
    { type: "reasoning", text: "\nplan\n" },
    { type: "think_end", closed: true },
    { type: "text", text: "\n\nanswer" },
  ]);
});

Deno.test("ThinkSplitter: markers split at every position", () => {
  const input = "a<think>b</think>c<think></think>d";
  const whole = split([input]);
  assert.deepEqual(whole.map((e) => e.type), [
    "text",
    "think_start",
    "reasoning",
    "think_end",
    "text",
    "think_start",
    "think_end",
    "text",
  ]);
  for (let i = 0; i <= input.length; i++) {
    for (let j = i; j <= input.length; j++) {
      assert.deepEqual(split([input.slice(0, i), input.slice(i, j), input.slice(j)]), whole, `${i},${j}`);
    }
  }
});

Deno.test("ThinkSplitter: startInThink for generation prompts that pre-open <think>", () => {
  const events = split(["step 1\n</thi", "nk>\n\nfinal"], { startInThink: true });
  assert.deepEqual(events, [
    { type: "think_start" },
    { type: "reasoning", text: "step 1\n" },
    { type: "think_end", closed: true },
    { type: "text", text: "\n\nfinal" },
  ]);
  assert.equal(reconstruct(events, true), "step 1\n</think>\n\nfinal");
});

Deno.test("ThinkSplitter: stray </think> outside is text; <think> inside is reasoning; open block flushed at finish", () => {
  assert.deepEqual(split(["x</think>y"]), [{ type: "text", text: "x</think>y" }]);
  assert.deepEqual(split(["<think>a<think>b"]), [
    { type: "think_start" },
    { type: "reasoning", text: "a<think>b" },
    { type: "think_end", closed: false },
  ]);
  assert.deepEqual(split(["<think>a</thi"]), [
    { type: "think_start" },
    { type: "reasoning", text: "a</thi" },
    { type: "think_end", closed: false },
  ]);
  assert.deepEqual(split([], { startInThink: true }), [{ type: "think_start" }, {
    type: "think_end",
    closed: false,
  }]);
});

Deno.test("ThinkSplitter: custom markers, and rejecting empty ones", () => {
  assert.deepEqual(split(["[THINK]r[/THINK]t"], { openTag: "[THINK]", closeTag: "[/THINK]" }), [
    { type: "think_start" },
    { type: "reasoning", text: "r" },
    { type: "think_end", closed: true },
    { type: "text", text: "t" },
  ]);
  assert.throws(() => new ThinkSplitter({ openTag: "" }), RangeError);
});

Deno.test("ThinkSplitter: 2,000 random streams — chunking invariance and exact accounting", () => {
  const pieces = ["<think>", "</think>", "<", "</", "<th", "</thi", "think>", "a", "\n", "😀", "é", ">"];
  for (let seed = 1; seed <= 2000; seed++) {
    const rng = new Rng(seed);
    const input = rng.text(pieces, 30);
    const startInThink = rng.chance(0.3);
    const whole = split([input], { startInThink });
    assert.equal(reconstruct(whole, startInThink), input, `seed ${seed}`);
    assert.deepEqual(split(rng.chunks(input, 4), { startInThink }), whole, `seed ${seed}`);
  }
});
