import assert from "node:assert/strict";
import { _parseJson } from "./_json_parse.ts";
import { Rng } from "./_testing/random.ts";
import { type JsonShape, randomJsonValue } from "./_testing/random_json.ts";

Deno.test("_parseJson: escaped keys survive the V8 JSON.parse key-cache bug (nodejs/node#63785)", () => {
  // Poison V8's shape cache with a `\` key, then parse a `"` key: native JSON.parse may read `\`.
  JSON.parse(String.raw`{"h":[],"\\":0}`);
  const text = String.raw`{"h":1,"\"":2}`;
  const result = _parseJson(text);
  assert.ok(result.ok);
  assert.deepEqual(Object.keys(result.value as object), ["h", '"']);
});

const KEY_PIECES = ["", "k", "é", " ", '"', "\\", "\n", "\u0000", "😀", "name", "<", "/"];

const VALUE_SHAPE: JsonShape = {
  ints: [-1e6, 1e6],
  floats: [0.1, -2.5e-8, 1e21, 123.456, -0.5],
  strings: KEY_PIECES,
  stringPieces: 6,
  key: (rng) => rng.text(KEY_PIECES, 3),
  maxKeys: 5,
  maxDepth: 2,
};

Deno.test("_parseJson: 5,000 random values round-trip through JSON.stringify, compact and indented", () => {
  for (let seed = 1; seed <= 5000; seed++) {
    const rng = new Rng(seed);
    const value = randomJsonValue(rng, VALUE_SHAPE, 0);
    for (const text of [JSON.stringify(value), JSON.stringify(value, null, 2)]) {
      const result = _parseJson(text);
      assert.ok(result.ok, `seed ${seed}`);
      assert.deepEqual(result.value, value, `seed ${seed}: ${text}`);
    }
  }
});

Deno.test("_parseJson: accepts and rejects exactly what JSON.parse does (3,000 random texts)", () => {
  const pieces = [
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    '"',
    "\\",
    "\\u00e9",
    "\\x",
    "a",
    "1",
    "-",
    ".5",
    "e3",
    "true",
    "nul",
    " ",
    "\n",
    "\u0001",
  ];
  for (let seed = 1; seed <= 3000; seed++) {
    const text = new Rng(seed).text(pieces, 8);
    let native = true;
    try {
      JSON.parse(text);
    } catch {
      native = false;
    }
    assert.equal(_parseJson(text).ok, native, JSON.stringify(text));
  }
});

Deno.test("_parseJson: errors are values with a position, __proto__ stays an own key, deep nesting is an error", () => {
  const bad = _parseJson('{"a\\": 1');
  assert.equal(bad.ok, false);
  assert.match(!bad.ok ? bad.error : "", /position \d+/);
  const proto = _parseJson('{"__proto__": {"x": 1}, "\\n": 2}');
  assert.ok(proto.ok);
  assert.deepEqual(Object.keys(proto.value as object), ["__proto__", "\n"]);
  assert.equal(Object.getPrototypeOf(proto.value), Object.prototype);
  const deep = _parseJson("[".repeat(5000) + '"\\n"' + "]".repeat(5000));
  assert.equal(deep.ok, false);
});
