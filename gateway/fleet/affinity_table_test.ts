import assert from "node:assert/strict";
import { AffinityTable } from "./affinity_table.ts";

Deno.test("sessions are per model", () => {
  const table = new AffinityTable();
  table.set("big", "s", "a");
  table.set("small", "s", "b");
  assert.equal(table.get("big", "s"), "a");
  assert.equal(table.get("small", "s"), "b");
  assert.equal(table.get("big", "other"), undefined);
});

Deno.test("past its capacity the least recently used session is dropped", () => {
  const table = new AffinityTable(3);
  for (const s of ["s1", "s2", "s3"]) table.set("m", s, "a");
  table.get("m", "s1"); // s2 is now the least recently used
  table.set("m", "s4", "b");
  assert.equal(table.size, 3);
  assert.equal(table.get("m", "s2"), undefined);
  assert.equal(table.get("m", "s1"), "a");
  assert.equal(table.get("m", "s4"), "b");
});

Deno.test("forgetting a node drops its sessions only", () => {
  const table = new AffinityTable();
  table.set("m", "s1", "a");
  table.set("m", "s2", "b");
  table.set("n", "s3", "a");
  assert.equal(table.forgetNode("a"), 2);
  assert.deepEqual([table.get("m", "s1"), table.get("m", "s2"), table.get("n", "s3")], [
    undefined,
    "b",
    undefined,
  ]);
  table.delete("m", "s2");
  assert.equal(table.size, 0);
});

Deno.test("a capacity below one is refused", () => {
  assert.throws(() => new AffinityTable(0), RangeError);
});
