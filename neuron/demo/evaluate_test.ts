import assert from "node:assert/strict";
import { spawnNeuron, TINY_QWEN3 } from "../testing/mod.ts";
import { EVAL_SET_PATH, type EvalSet, evaluateDemoModel } from "./evaluate.ts";

// The harness itself, end to end against the random-weight tiny Qwen3 served under the demo's id: every
// case must be asked and scored, and every miss reported (the demo model's own figures are checked in
// demo_model_test.ts).
Deno.test("the held-out evaluation asks and scores every case through a real neuron", async () => {
  const set = JSON.parse(await Deno.readTextFile(EVAL_SET_PATH)) as EvalSet;
  const neuron = await spawnNeuron({
    models: { "cortex-demo": TINY_QWEN3 },
    admission: { max_in_flight: 4 },
  });
  try {
    const report = await evaluateDemoModel(neuron.url, "cortex-demo", set);
    assert.deepEqual(
      [report.tool_calls.total, report.followups.total, report.plain.total],
      [set.tool_calls.length, set.followups.length, set.plain.length],
    );
    const failed = [report.tool_calls, report.followups, report.plain]
      .reduce((sum, category) => sum + category.total - category.passed, 0);
    assert.equal(report.failures.length, failed);
    // Random weights never produce the exact expected tool call.
    assert.equal(report.tool_calls.passed, 0);
  } finally {
    await neuron.stop();
  }
});
