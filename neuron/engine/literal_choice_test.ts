// The name trie: exactly the offered texts, shortest completions, and when the rest is forced.
import assert from "node:assert/strict";
import { stepBytes } from "./byte_acceptor.ts";
import { literalChoice } from "./literal_choice.ts";
import { seededRandom } from "../testing/rng.ts";

const encoder = new TextEncoder();
const decode = (bytes: number[]): string => new TextDecoder().decode(new Uint8Array(bytes));

Deno.test("literal choice: accepts exactly the texts, completes with the shortest one, knows when one is left", () => {
  const start = literalChoice(['get_weather"', 'get_time"', 'bash"']);
  assert.equal(decode(start.completion()), 'bash"');
  assert.equal(start.determined, false);
  const get = stepBytes(start, encoder.encode("get_"))!;
  assert.equal(decode(get.completion()), 'time"');
  const w = literalChoice(['get_weather"', 'get_time"']).step(0x67)!.step(0x65)!.step(0x74)!.step(0x5f)!.step(
    0x77,
  )!;
  assert.equal(w.determined, true);
  assert.equal(decode(w.completion()), 'eather"');
  assert.equal(stepBytes(start, encoder.encode("get_x")), null);
  const done = stepBytes(start, encoder.encode('bash"'))!;
  assert.ok(done.done);
  assert.equal(done.step(0x20), null);
  assert.throws(() => literalChoice(["ab", "abc"]), /prefix/);
  assert.throws(() => literalChoice([]), /at least one/);
});

Deno.test("literal choice (property): random name sets — every text is accepted, nothing else is done, completions lead to a text", () => {
  const alphabet = "ab_.-1";
  for (let seed = 0; seed < 500; seed++) {
    const random = seededRandom(seed);
    const names = new Set<string>();
    for (let n = 1 + Math.floor(random() * 6); n > 0; n--) {
      let name = "";
      for (let k = 1 + Math.floor(random() * 6); k > 0; k--) {
        name += alphabet[Math.floor(random() * alphabet.length)];
      }
      names.add(name);
    }
    const texts = [...names].map((name) => `${name}", "arguments": `);
    const start = literalChoice(texts);
    for (const text of texts) {
      const bytes = encoder.encode(text);
      let state = start;
      for (let i = 0; i < bytes.length; i++) {
        assert.equal(state.done, false);
        const completed = decode([...bytes.subarray(0, i), ...state.completion()]);
        assert.ok(texts.includes(completed), `seed ${seed}: ${completed}`);
        state = state.step(bytes[i])!;
        assert.ok(state, `seed ${seed}: refused ${text}`);
      }
      assert.ok(state.done);
    }
    // A random string is accepted as done iff it is one of the texts.
    for (let trial = 0; trial < 20; trial++) {
      let candidate = "";
      for (let k = 1 + Math.floor(random() * 6); k > 0; k--) {
        candidate += alphabet[Math.floor(random() * alphabet.length)];
      }
      const text = `${candidate}", "arguments": `;
      assert.equal(
        stepBytes(start, encoder.encode(text))?.done ?? false,
        texts.includes(text),
        `seed ${seed}`,
      );
    }
  }
});

Deno.test("literal choice: keys tell tries apart (masks are cached by key) and ignore the order texts come in", () => {
  const a = literalChoice(['get_weather"', 'bash"']);
  const b = literalChoice(['bash"', 'get_weather"']);
  const other = literalChoice(['get_time"', 'bash"']);
  assert.equal(a.key, b.key);
  assert.equal(stepBytes(a, encoder.encode("get_"))!.key, stepBytes(b, encoder.encode("get_"))!.key);
  assert.notEqual(stepBytes(a, encoder.encode("get_"))!.key, stepBytes(other, encoder.encode("get_"))!.key);
});
