import assert from "node:assert/strict";
import { info, polledFleet } from "./_test_fleet.ts";
import { buildModelList } from "./model_list.ts";

const MODELS = `
[[models]]
id = "Org/cat-a"
vram_mb = 200
capabilities = ["text"]
cost = { input = 0.5, output = 1.0 }
limit = { context = 4096, output = 1024 }
aliases = ["small"]

[[models]]
id = "Org/huge"
vram_mb = 50000

[[models]]
id = "Org/pinned"
vram_mb = 10
pinned_on = ["down"]
`;

Deno.test("v1/models merges nodes: locations, smallest limit, capability union, cost, aliases", () => {
  const a = {
    name: "a",
    models: [
      info("Org/cat-a", {
        status: "loaded",
        devices: [0],
        memory_used_mb: 210,
        limit: { context: 8192, output: 2048 },
      }),
      info("local-only", { capabilities: ["text", "vision"], tool_call: true }),
    ],
  };
  const b = {
    name: "b",
    models: [
      info("Org/cat-a", { status: "available", limit: { context: 2048, output: 512 }, reasoning: true }),
    ],
  };
  const down = { name: "down", models: [info("gone")], healthy: false };
  const { fleet, scheduler } = polledFleet([a, b, down], MODELS);
  const list = buildModelList(fleet, scheduler.residency, { created: 42 });
  assert.equal(list.object, "list");
  assert.deepEqual(list.data.map((e) => e.id), ["Org/cat-a", "local-only", "small"]);
  const cat = list.data[0];
  assert.equal(cat.loaded, true);
  assert.deepEqual(cat.locations, [
    { node: "a", status: "loaded", memory_mb: 210 },
    { node: "b", status: "available", memory_mb: 100 },
  ]);
  assert.deepEqual(cat.limit, { context: 2048, output: 512 });
  assert.equal(cat.max_model_len, 2048);
  assert.deepEqual(cat.cost, { input: 0.5, output: 1.0 });
  assert.equal(cat.reasoning, true);
  assert.deepEqual(cat.feasible_on, ["a", "b"]);
  const local = list.data[1];
  assert.deepEqual(local.capabilities, ["text", "vision"]);
  assert.equal(local.tool_call, true);
  assert.equal(local.cost, undefined);
  assert.deepEqual(local.feasible_on, ["a"]);
  const alias = list.data[2];
  assert.equal(alias.alias_of, "Org/cat-a");
  assert.deepEqual(alias.locations, cat.locations);
});

Deno.test("models nothing healthy can hold are not listed; a key's allow-list filters", () => {
  const one = polledFleet([{ name: "a", models: [info("Org/cat-a")] }], MODELS);
  const list = buildModelList(one.fleet, one.scheduler.residency, { created: 0 });
  assert.ok(!list.data.some((e) => e.id === "Org/huge"), "50 GB model on a 1 GB node");
  assert.ok(!list.data.some((e) => e.id === "Org/pinned"), "pinned on an absent node");
  const two = polledFleet([{ name: "a", models: [info("Org/cat-a"), info("x")] }], MODELS);
  const only = buildModelList(two.fleet, two.scheduler.residency, {
    created: 0,
    only: ["small"],
  });
  assert.deepEqual(only.data.map((e) => e.id), ["small"]);
});

Deno.test("with `all` the models and aliases nothing can hold are listed too, each saying why", () => {
  const { fleet, scheduler } = polledFleet([{ name: "a", models: [] }], MODELS + 'aliases = ["tiny-pin"]\n');
  const list = buildModelList(fleet, scheduler.residency, {
    created: 0,
    all: true,
  });
  const byId = new Map(list.data.map((e) => [e.id, e]));
  assert.deepEqual(byId.get("Org/huge")!.feasible_on, []);
  assert.match(byId.get("Org/huge")!.unavailable!, /^a: its largest device has \d+ MB in all$/);
  assert.match(byId.get("Org/pinned")!.unavailable!, /^a: .*pinned/i);
  assert.equal(byId.get("tiny-pin")!.alias_of, "Org/pinned");
  assert.match(byId.get("tiny-pin")!.unavailable!, /Org\/pinned/);
  assert.equal(byId.get("Org/cat-a")!.unavailable, undefined, "what fits has no reason");
});
