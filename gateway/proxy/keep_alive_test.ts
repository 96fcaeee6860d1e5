import assert from "node:assert/strict";
import { CortexError } from "@cortex/core/errors";
import { parseKeepAlive, takeKeepAlive } from "./keep_alive.ts";

Deno.test("keep_alive: seconds as numbers or strings, Go-style durations, negative keeps loaded", () => {
  const cases: [unknown, number][] = [
    [300, 300],
    [0, 0],
    [1.5, 1.5],
    [-1, Infinity],
    ["0", 0],
    ["-1", Infinity],
    ["90", 90],
    ["30s", 30],
    ["5m", 300],
    ["1h30m", 5400],
    ["1.5h", 5400],
    ["500ms", 0.5],
    ["-1m", Infinity],
    [" 10s ", 10],
  ];
  for (const [value, seconds] of cases) {
    assert.equal(parseKeepAlive(value, "keep_alive"), seconds, String(value));
  }
});

Deno.test("keep_alive: anything else is a 400 naming the field", () => {
  for (const bad of ["5 minutes", "m", "", "5d", true, {}, [], Infinity, NaN]) {
    assert.throws(
      () => parseKeepAlive(bad, "keep_alive"),
      (e: unknown) =>
        e instanceof CortexError && e.status === 400 && e.param === "keep_alive" &&
        e.message.includes('"5m"'),
      String(bad),
    );
  }
});

Deno.test("keep_alive: the body field wins over the header and is taken out of the body", () => {
  const json: Record<string, unknown> = { model: "m", keep_alive: "0" };
  const headers = new Headers({ "x-cortex-keep-alive": "10m" });
  assert.deepEqual(takeKeepAlive(json, headers), { seconds: 0, stripped: true });
  assert.deepEqual(json, { model: "m" });
  assert.deepEqual(takeKeepAlive({ model: "m" }, headers), { seconds: 600, stripped: false });
  assert.deepEqual(takeKeepAlive({ model: "m" }, new Headers()), { seconds: null, stripped: false });
  const nulled: Record<string, unknown> = { model: "m", keep_alive: null };
  assert.deepEqual(takeKeepAlive(nulled, new Headers()), { seconds: null, stripped: true });
  assert.deepEqual(nulled, { model: "m" });
  assert.throws(
    () => takeKeepAlive({ model: "m" }, new Headers({ "x-cortex-keep-alive": "soon" })),
    (e: unknown) => e instanceof CortexError && e.param === "x-cortex-keep-alive",
  );
});
