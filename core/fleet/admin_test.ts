import assert from "node:assert/strict";
import { parseWithSchema } from "../errors/zod_issues.ts";
import { AdminModelRequestSchema, AdminPlacementSchema, GatewayHealthSchema } from "./admin.ts";

const base = {
  requested: "small",
  model: "qwen",
  need_mb: 1200,
  min_devices: 1,
  class: 0,
  strategy: "lru",
  loaded_on: [],
  nodes: [
    { node: "a", healthy: true, fits: true, devices: [0], evict: [] },
    { node: "b", healthy: true, fits: false, permanent: true, reason: "it has 1 device of at least 1200 MB" },
  ],
};

Deno.test("a placement answer is told apart by its action; a node's plan by fits", () => {
  const load = AdminPlacementSchema.parse({ ...base, action: "load", node: "a", devices: [0], evict: [] });
  assert.equal(load.action === "load" && load.devices[0], 0);
  const refuse = AdminPlacementSchema.parse({
    ...base,
    action: "refuse",
    code: "insufficient_memory",
    reason: "x",
  });
  assert.equal(refuse.action === "refuse" && refuse.code, "insufficient_memory");
  assert.equal(
    AdminPlacementSchema.safeParse({ ...base, action: "load", node: "a" }).success,
    false,
    "no devices",
  );
  const misfit = { ...base.nodes[1], permanent: undefined };
  assert.equal(
    AdminPlacementSchema.safeParse({ ...base, nodes: [misfit], action: "route", node: "a", evict: [] })
      .success,
    false,
  );
});

Deno.test("a load or unload body names its field when it is wrong", () => {
  assert.deepEqual(AdminModelRequestSchema.parse({ model: "m", node: null }), { model: "m", node: null });
  const bad = parseWithSchema(AdminModelRequestSchema, { model: "m", node: 5 });
  assert.equal(!bad.ok && bad.error.param, "node");
  assert.equal(!bad.ok && bad.error.status, 400);
});

Deno.test("the health document's optional lists stay optional", () => {
  assert.deepEqual(GatewayHealthSchema.parse({ status: "ok", nodes: { healthy: 1, total: 1 } }), {
    status: "ok",
    nodes: { healthy: 1, total: 1 },
  });
  assert.equal(
    GatewayHealthSchema.safeParse({ status: "fine", nodes: { healthy: 1, total: 1 } }).success,
    false,
  );
});
