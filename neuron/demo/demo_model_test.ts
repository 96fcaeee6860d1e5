// cortex-demo through the project's own engine: greedy parity with transformers, and the held-out
// evaluation through the neuron's HTTP API. Both skip, saying so, if the model folder is missing.
import assert from "node:assert/strict";
import { GREEDY, Plugin } from "../devices/mod.ts";
import { cpuIsasToTest } from "../devices/_test_helpers.ts";
import { DEMO_MODEL as DEMO, haveDemoModel, spawnNeuron } from "../testing/mod.ts";
import { EVAL_SET_PATH, type EvalSet, evaluateDemoModel } from "./evaluate.ts";

const present = haveDemoModel() && (() => {
  try {
    return Deno.statSync(`${DEMO}/parity_reference.json`).isFile;
  } catch {
    return false;
  }
})();
const skipNote = `skipped: ${DEMO} is missing (tools/demo_model/recipe.py makes it)`;

interface ParityReference {
  max_new_tokens: number;
  eos_token_id: number;
  prompts: { id: string; prompt_ids: number[]; output_ids: number[] }[];
}

// Every kernel path the CPU has (AVX-512, AVX2, scalar): the smallest gap between the two best logits
// along these outputs is about 0.3, far above the paths' f32 differences.
for (const cpuIsa of cpuIsasToTest()) {
  Deno.test({
    name: `cortex-demo [${cpuIsa}]: greedy tokens equal transformers' for every parity prompt${
      present ? "" : ` (${skipNote})`
    }`,
    ignore: !present,
    fn: async () => {
      const reference = JSON.parse(
        await Deno.readTextFile(`${DEMO}/parity_reference.json`),
      ) as ParityReference;
      assert.ok(reference.prompts.length >= 10);
      const plugin = Plugin.open({ cpuIsa });
      try {
        const model = await plugin.loadModel(DEMO);
        for (const prompt of reference.prompts) {
          const sequence = await model.newSequence();
          const output: number[] = [];
          let feed = prompt.prompt_ids;
          while (output.length < reference.max_new_tokens) {
            const [result] = await model.step([{ sequence, tokens: feed, sampling: GREEDY }]);
            output.push(result.token!);
            if (result.token === reference.eos_token_id) break;
            feed = [result.token!];
          }
          await sequence.free();
          assert.deepEqual(output, prompt.output_ids, prompt.id);
        }
      } finally {
        plugin.close();
      }
    },
  });
}

Deno.test({
  name: `cortex-demo: held-out tool calls, follow-ups and plain answers meet the bar${
    present ? "" : ` (${skipNote})`
  }`,
  ignore: !present,
  fn: async () => {
    const set = JSON.parse(await Deno.readTextFile(EVAL_SET_PATH)) as EvalSet;
    const neuron = await spawnNeuron({ models: { "cortex-demo": DEMO }, admission: { max_in_flight: 4 } });
    try {
      const report = await evaluateDemoModel(neuron.url, "cortex-demo", set);
      console.log(
        JSON.stringify({ tool_calls: report.tool_calls, followups: report.followups, plain: report.plain }),
      );
      assert.ok(report.tool_calls.passed >= 0.9 * report.tool_calls.total, JSON.stringify(report.failures));
      assert.ok(report.followups.passed >= 0.9 * report.followups.total, JSON.stringify(report.failures));
      assert.equal(report.plain.passed, report.plain.total, JSON.stringify(report.failures));
    } finally {
      await neuron.stop();
    }
  },
});
