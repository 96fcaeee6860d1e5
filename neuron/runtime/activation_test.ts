import assert from "node:assert/strict";
import { CortexError } from "@cortex/core/errors";
import type { LoadModelRequest, LoadModelResult } from "@cortex/core/fleet";
import { Activation } from "./activation.ts";

const ok = (request: LoadModelRequest): LoadModelResult => ({
  status: "loaded",
  model_id: request.model_id,
  already_loaded: false,
  devices: [0],
  memory_used_mb: 1,
  load_ms: 1,
});

Deno.test("activation: no default models is ready at once", () => {
  assert.equal(new Activation([]).state.state, "ready");
});

Deno.test("activation: models load in order; a failure is recorded and the rest go on", async () => {
  const activation = new Activation([{ model_id: "a" }, { model_id: "b" }, { model_id: "c" }]);
  assert.deepEqual(activation.state.pending, ["a", "b", "c"]);
  assert.equal(activation.state.state, "pre_warming");
  const seen: string[] = [];
  await activation.run((request) => {
    seen.push(request.model_id);
    if (request.model_id === "b") {
      return Promise.reject(new CortexError("bad folder", { code: "bad_model_folder", status: 422 }));
    }
    return Promise.resolve(ok(request));
  }, []);
  assert.deepEqual(seen, ["a", "b", "c"]);
  const state = activation.state;
  assert.deepEqual(state.completed, ["a", "c"]);
  assert.deepEqual(state.failed, [{ model_id: "b", error: "bad folder" }]);
  assert.equal(state.state, "ready");
  assert.equal(state.in_progress, null);
});

Deno.test("activation: an unreachable hub is retried with backoff; other errors are not", async () => {
  const activation = new Activation([{ model_id: "org/x" }, { model_id: "y" }]);
  const attempts = new Map<string, number>();
  await activation.run((request) => {
    const n = (attempts.get(request.model_id) ?? 0) + 1;
    attempts.set(request.model_id, n);
    if (request.model_id === "org/x" && n < 3) {
      return Promise.reject(new CortexError("down", { code: "hub_unreachable", status: 502 }));
    }
    if (request.model_id === "y") {
      return Promise.reject(new CortexError("no", { code: "bad_model_folder", status: 422 }));
    }
    return Promise.resolve(ok(request));
  }, [1, 1, 1]);
  assert.equal(attempts.get("org/x"), 3);
  assert.equal(attempts.get("y"), 1);
  assert.deepEqual(activation.state.completed, ["org/x"]);
});
