// Concatenated acceptors: the boundary, completions and keys.
import assert from "node:assert/strict";
import { concatAcceptors, stepBytes } from "./byte_acceptor.ts";
import { jsonObjectAcceptor } from "./json_prefix.ts";
import { literalChoice } from "./literal_choice.ts";

const encoder = new TextEncoder();
const text = (bytes: number[]): string => new TextDecoder().decode(new Uint8Array(bytes));

Deno.test("concatenated acceptors: an object then a fixed tail, one token may span the boundary", () => {
  const start = concatAcceptors(jsonObjectAcceptor(), literalChoice(["}\n"]));
  assert.equal(text(start.completion()), "{}}\n");
  const inside = stepBytes(start, encoder.encode(' {"city": "Lis'))!;
  assert.equal(text(inside.completion()), '"}}\n');
  const across = stepBytes(inside, encoder.encode('bon"}}\n'))!;
  assert.ok(across.done);
  assert.equal(across.step(0x20), null);
  const between = stepBytes(start, encoder.encode("{}"))!;
  assert.equal(text(between.completion()), "}\n");
  assert.equal(stepBytes(between, encoder.encode("]")), null);
  assert.notEqual(between.key, start.key);
  assert.equal(stepBytes(start, encoder.encode('{"a": 1}}}')), null);
});
