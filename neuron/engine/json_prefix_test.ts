// The JSON-prefix acceptor: examples, and property tests against JSON.parse over generated objects
// (with random whitespace and non-ASCII text) and random byte mutations of them.
import assert from "node:assert/strict";
import { type ByteAcceptor, stepBytes } from "./byte_acceptor.ts";
import { jsonObjectAcceptor } from "./json_prefix.ts";
import { seededRandom } from "../testing/rng.ts";

const encoder = new TextEncoder();
const strict = new TextDecoder("utf-8", { fatal: true });

const PIECES = ["a", "Lisbon", " ", "é", "日本", "😀", '"', "\\", "\n", "\t", "\u0001", "/", "\u2028", "x y"];
const SPACES = ["", "", "", " ", "\n", "\t ", "\r\n  "];

// A random JSON text of an object, with whitespace between tokens and every escape form.
function randomObjectText(random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const space = (): string => pick(SPACES);
  const string = (): string => {
    let text = "";
    for (let n = Math.floor(random() * 4); n > 0; n--) text += pick(PIECES);
    const json = JSON.stringify(text);
    return random() < 0.2 ? json.replace(/a/g, "\\u0061") : json;
  };
  const value = (depth: number): string => {
    switch (Math.floor(random() * (depth > 3 ? 6 : 8))) {
      case 0:
        return pick(["0", "-0", "12", "-3.25", "1e5", "2.5E-3", "7e+2", "-0.0"]);
      case 1:
        return pick(["true", "false", "null"]);
      case 2:
      case 3:
      case 4:
      case 5:
        return string();
      case 6: {
        const items = Array.from(
          { length: Math.floor(random() * 4) },
          () => space() + value(depth + 1) + space(),
        );
        return `[${items.join(",") || space()}]`;
      }
      default:
        return object(depth + 1);
    }
  };
  const object = (depth: number): string => {
    const members = Array.from(
      { length: Math.floor(random() * 4) },
      () => `${space()}${string()}${space()}:${space()}${value(depth)}${space()}`,
    );
    return `{${members.join(",") || space()}}`;
  };
  return object(0);
}

function accepts(bytes: Uint8Array): ByteAcceptor | null {
  return stepBytes(jsonObjectAcceptor(), bytes);
}

// What the acceptor should accept as a whole: one JSON object, whitespace before it, nothing after.
function isObjectText(bytes: Uint8Array): boolean {
  const leading = bytes.findIndex((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  if (bytes[leading] !== 0x7b || bytes[bytes.length - 1] !== 0x7d) return false;
  try {
    const value = JSON.parse(strict.decode(bytes));
    return value !== null && typeof value === "object" && !Array.isArray(value);
  } catch {
    return false;
  }
}

Deno.test("json prefix: examples of accepted, refused and completed texts", () => {
  const completionOf = (text: string): string | null => {
    const state = accepts(encoder.encode(text));
    return state === null ? null : new TextDecoder().decode(new Uint8Array(state.completion()));
  };
  assert.equal(completionOf(""), "{}");
  assert.equal(completionOf("{"), "}");
  assert.equal(completionOf('{"ci'), '":0}');
  assert.equal(completionOf('{"city": "Lis'), '"}');
  assert.equal(completionOf('{"a": [1, {"b": tr'), "ue}]}");
  assert.equal(completionOf('{"a": -'), "0}");
  assert.equal(completionOf('{"a": 1,'), '"":0}');
  assert.equal(completionOf('{"a": "\\u00'), '00"}');
  assert.equal(completionOf("{}"), "");
  assert.ok(accepts(encoder.encode("{}"))!.done);
  assert.equal(completionOf(" \n "), "{}");
  assert.equal(completionOf(' {"a'), '":0}');
  for (
    const bad of [
      " [",
      "[",
      '{"a" 1',
      '{"a": 01',
      '{"a": 1,}',
      "{} ",
      '{"a": "\u0001"}',
      '{"a": tru e}',
      "{'a': 1}",
    ]
  ) {
    assert.equal(accepts(encoder.encode(bad)), null, bad);
  }
  // Invalid UTF-8 in a string: a lone continuation byte, an overlong lead, a surrogate.
  for (const bytes of [[0x80], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf5, 0x80, 0x80, 0x80]]) {
    assert.equal(
      accepts(new Uint8Array([...encoder.encode('{"a": "'), ...bytes])),
      null,
      JSON.stringify(bytes),
    );
  }
});

Deno.test("json prefix (property): every prefix of a generated object is accepted, its completion parses, and only the whole text is done", () => {
  for (let seed = 0; seed < 1500; seed++) {
    const random = seededRandom(seed);
    const text = randomObjectText(random);
    const bytes = encoder.encode(text);
    let state: ByteAcceptor | null = jsonObjectAcceptor();
    for (let i = 0; i <= bytes.length; i++) {
      assert.ok(state !== null, `seed ${seed}: refused ${JSON.stringify(text.slice(0, i))}`);
      assert.equal(state.done, i === bytes.length, `seed ${seed}: done at ${i} of ${bytes.length}`);
      const completion = state.completion();
      const whole = new Uint8Array([...bytes.subarray(0, i), ...completion]);
      assert.ok(isObjectText(whole), `seed ${seed}: ${JSON.stringify(new TextDecoder().decode(whole))}`);
      const completed = stepBytes(state, completion);
      assert.ok(completed?.done, `seed ${seed}: the completion does not finish the text`);
      if (completion.length > 0) {
        const after: ByteAcceptor = state.step(completion[0])!;
        assert.equal(
          after.completion().length,
          completion.length - 1,
          `seed ${seed}: completion shrinks by one`,
        );
      }
      if (i < bytes.length) state = state.step(bytes[i]);
    }
  }
});

Deno.test("json prefix (property): on mutated texts the acceptor agrees with JSON.parse, and refuses at the first bad byte for good", () => {
  for (let seed = 0; seed < 3000; seed++) {
    const random = seededRandom(100_000 + seed);
    const bytes = Array.from(encoder.encode(randomObjectText(random)));
    for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits--) {
      const at = Math.floor(random() * (bytes.length + 1));
      const byte = random() < 0.5
        ? Math.floor(random() * 256)
        : '{}[]":,\\ 0-.eE tfn"'.charCodeAt(Math.floor(random() * 20));
      const kind = Math.floor(random() * 3);
      if (kind === 0) bytes.splice(at, 0, byte);
      else if (kind === 1) bytes.splice(at, 1);
      else bytes[Math.min(at, bytes.length - 1)] = byte;
    }
    const text = new Uint8Array(bytes);
    const state = accepts(text);
    assert.equal(state?.done ?? false, isObjectText(text), `seed ${seed}: ${JSON.stringify(bytes)}`);
    // Any accepted prefix is completable; a refused one never becomes acceptable again.
    let at: ByteAcceptor | null = jsonObjectAcceptor();
    let i = 0;
    for (; i < text.length && at !== null; i++) at = at.step(text[i]);
    if (at === null) {
      assert.ok(!isObjectText(text), `seed ${seed}`);
    } else {
      assert.ok(isObjectText(new Uint8Array([...text, ...at.completion()])), `seed ${seed}`);
    }
  }
});

Deno.test("json prefix: states with one key accept the same bytes", () => {
  const texts = ['{"a": "x', '{"b": "yy', '{"a": 1, "c": [true, "z'];
  const states = texts.map((text) => accepts(encoder.encode(text))!);
  assert.equal(states[0].key, states[1].key);
  assert.notEqual(states[0].key, states[2].key);
  for (let byte = 0; byte < 256; byte++) {
    assert.equal(states[0].step(byte) === null, states[1].step(byte) === null, `byte ${byte}`);
  }
});
