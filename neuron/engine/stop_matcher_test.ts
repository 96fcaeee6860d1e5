import assert from "node:assert/strict";
import { StopMatcher } from "./stop_matcher.ts";

// The reference: the match that ends first in the whole text (ties: starts first) cuts it.
function _reference(text: string, stops: string[]): { text: string; stopped: boolean } {
  let cut = -1;
  let cutEnd = Infinity;
  for (const stop of stops.filter((s) => s.length > 0)) {
    const at = text.indexOf(stop);
    if (at === -1) continue;
    const end = at + stop.length;
    if (end < cutEnd || (end === cutEnd && at < cut)) {
      cut = at;
      cutEnd = end;
    }
  }
  return cut === -1 ? { text, stopped: false } : { text: text.slice(0, cut), stopped: true };
}

function _run(pieces: string[], stops: string[]): { text: string; stopped: boolean } {
  const matcher = new StopMatcher(stops);
  let out = "";
  for (const piece of pieces) {
    const result = matcher.push(piece);
    out += result.text;
    if (result.stopped) return { text: out, stopped: true };
  }
  return { text: out + matcher.flush(), stopped: false };
}

// A small deterministic PRNG so failures reproduce.
function _rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

Deno.test("stop matcher: a stop string split across pieces is found and not emitted", () => {
  assert.deepEqual(_run(["Hello wo", "rld, and more"], ["world"]), { text: "Hello ", stopped: true });
  assert.deepEqual(_run(["a", "b", "c", "d"], ["bc"]), { text: "a", stopped: true });
});

Deno.test("stop matcher: a partial match that does not complete is emitted at the end", () => {
  assert.deepEqual(_run(["abc", "ab"], ["abd"]), { text: "abcab", stopped: false });
});

Deno.test("stop matcher: held-back text is released once it can no longer match", () => {
  const matcher = new StopMatcher(["END"]);
  assert.equal(matcher.push("the E").text, "the ");
  assert.equal(matcher.push("x").text, "Ex");
});

Deno.test("stop matcher: the match that completes first wins", () => {
  // "c" completes at index 3, before "abcd" could complete at 4.
  assert.deepEqual(_run(["abcd"], ["abcd", "c"]), { text: "ab", stopped: true });
  assert.deepEqual(_run(["a", "b", "c", "d"], ["abcd", "c"]), { text: "ab", stopped: true });
});

Deno.test("stop matcher: no stops passes everything through; empty stops are ignored", () => {
  assert.deepEqual(_run(["x", "y"], []), { text: "xy", stopped: false });
  assert.deepEqual(_run(["x", "y"], [""]), { text: "xy", stopped: false });
});

Deno.test("stop matcher (property): any chunking gives the reference result", () => {
  const random = _rng(20260823);
  const alphabet = ["a", "b", "c", "é", "😀", "\n"];
  for (let round = 0; round < 2000; round++) {
    const pick = (): string => alphabet[Math.floor(random() * alphabet.length)];
    const word = (max: number): string =>
      Array.from({ length: 1 + Math.floor(random() * max) }, pick).join("");
    const text = word(30);
    const stops = Array.from({ length: Math.floor(random() * 4) }, () => word(4));
    const pieces: string[] = [];
    for (let i = 0; i < text.length;) {
      const n = 1 + Math.floor(random() * 5);
      pieces.push(text.slice(i, i + n));
      i += n;
    }
    assert.deepEqual(
      _run(pieces, stops),
      _reference(text, stops),
      `text ${JSON.stringify(text)} stops ${JSON.stringify(stops)} pieces ${JSON.stringify(pieces)}`,
    );
    assert.deepEqual(_run([text], stops), _reference(text, stops));
  }
});
