// Forced tool calls on the random tiny fixture, through the real scheduler and output pipeline:
// whatever the sampling, the budget and the reasoning state, the output is well-formed calls to
// allowed tools with JSON-object arguments. The fixture's random weights make garbage unless
// constrained, which is the point.
import assert from "node:assert/strict";
import type { ToolDefinition } from "@cortex/qwen3";
import { GREEDY, type Model, Plugin } from "../devices/mod.ts";
import { TINY_QWEN3 } from "../testing/spawn_neuron.ts";
import { forbidTokens } from "./decode_constraint.ts";
import { generate, type GenerationDelta, type OutputParsing } from "./generation.ts";
import { Scheduler } from "./scheduler.ts";
import { ModelTokenizer } from "./tokenizer.ts";
import { toolChoiceConstraint } from "./tool_call_constraint.ts";
import type { ToolChoicePlan } from "./tool_choice.ts";

const EOS = new Set([1017]);
const TOOLS: ToolDefinition[] = [
  {
    type: "function",
    function: {
      name: "get_weather",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
  },
  {
    type: "function",
    function: { name: "bash", parameters: { type: "object", properties: { command: {} } } },
  },
  { type: "function", function: { name: "get.time-2" } },
];
const NAMES = TOOLS.map((tool) => tool.function.name);

async function withEngine(
  fn: (run: (options: RunOptions) => Promise<GenerationDelta[]>, tokenizer: ModelTokenizer) => Promise<void>,
): Promise<void> {
  const plugin = Plugin.open({ cpuThreadsPerDevice: 1 });
  let model: Model | null = null;
  try {
    model = await plugin.loadModel(TINY_QWEN3, { contextLength: 512, maxSequences: 4 });
    const tokenizer = await ModelTokenizer.fromFolder(TINY_QWEN3);
    const scheduler = new Scheduler(model);
    const run = async (options: RunOptions): Promise<GenerationDelta[]> => {
      const parsing: OutputParsing = {
        reasoning: true,
        startInThink: options.startInThink ?? false,
        tools: TOOLS,
        mayOpenThink: options.mayOpenThink ?? false,
      };
      const prompt = tokenizer.encode(
        "<|im_start|>user\nWhat's the weather in Lisbon?<|im_end|>\n<|im_start|>assistant\n" +
          (options.startInThink ? "<think>\n" : options.mayOpenThink ? "" : "<think>\n\n</think>\n\n"),
      );
      const constraint = options.plan.mode === "none"
        ? forbidTokens([tokenizer.tokenId("<tool_call>")!])
        : toolChoiceConstraint(options.plan, { tokenizer, vocabSize: 1024, stopTokenIds: EOS }, parsing);
      const deltas: GenerationDelta[] = [];
      for await (
        const delta of generate({
          scheduler,
          tokenizer,
          promptTokens: prompt,
          sampling: {
            ...GREEDY,
            temperature: options.temperature,
            seed: options.seed,
            topK: options.topK ?? 0,
          },
          logitBias: options.logitBias,
          maxTokens: options.maxTokens,
          stopTokenIds: EOS,
          parsing,
          constraint,
          maxToolCalls: options.plan.parallel ? undefined : 1,
        })
      ) deltas.push(delta);
      return deltas;
    };
    await fn(run, tokenizer);
  } finally {
    await model?.unload();
    plugin.close();
  }
}

interface RunOptions {
  plan: ToolChoicePlan;
  temperature: number;
  seed: number;
  maxTokens: number;
  topK?: number;
  startInThink?: boolean;
  mayOpenThink?: boolean;
  logitBias?: Map<number, number>;
}

function calls(deltas: GenerationDelta[]) {
  return deltas.filter((d) => d.type === "tool_call");
}

Deno.test({
  name:
    "forced calls (tiny random model): 240 generations over names, budgets, sampling and reasoning are all well-formed calls",
  sanitizeResources: false,
  fn: async () => {
    await withEngine(async (run) => {
      let total = 0;
      for (let seed = 0; seed < 240; seed++) {
        const named = seed % 4 === 0;
        const names = named ? [NAMES[seed % 3]] : NAMES.slice(0, 1 + (seed % 3));
        const parallel = seed % 3 !== 0;
        const options: RunOptions = {
          plan: { mode: "required", names, parallel },
          temperature: [0, 0.7, 1, 2][seed % 4],
          topK: seed % 5 === 0 ? 20 : 0,
          seed,
          maxTokens: 40 + (seed * 37) % 160,
          startInThink: seed % 7 === 1,
          mayOpenThink: seed % 7 === 2,
        };
        const deltas = await run(options);
        const made = calls(deltas);
        const label = `seed ${seed}: ${JSON.stringify(deltas).slice(0, 600)}`;
        assert.ok(made.length >= 1, label);
        if (!parallel) assert.equal(made.length, 1, label);
        for (const call of made) {
          assert.ok(names.includes(call.name), label);
          const args = JSON.parse(call.arguments);
          assert.ok(args !== null && typeof args === "object" && !Array.isArray(args), label);
        }
        const visible = deltas.filter((d) => d.type === "text").map((d) => d.text).join("");
        assert.equal(visible.trim(), "", label);
        const finish = deltas.at(-1)!;
        assert.ok(finish.type === "finish" && finish.finishReason === "tool_calls", label);
        total += made.length;
      }
      assert.ok(total >= 240);
    });
  },
});

Deno.test({
  name: "forced calls: a budget too small for a call ends as length, the cut call surfaced as text",
  sanitizeResources: false,
  fn: async () => {
    await withEngine(async (run) => {
      const deltas = await run({
        plan: { mode: "required", names: NAMES, parallel: true },
        temperature: 1,
        seed: 3,
        maxTokens: 6,
      });
      assert.equal(calls(deltas).length, 0);
      assert.match(deltas.filter((d) => d.type === "text").map((d) => d.text).join(""), /^<tool_call>/);
      const finish = deltas.at(-1)!;
      assert.ok(
        finish.type === "finish" && finish.finishReason === "length" && finish.completionTokens === 6,
      );
    });
  },
});

Deno.test({
  name: "tool_choice none: the opener is never sampled, even when the logit bias pushes it",
  sanitizeResources: false,
  fn: async () => {
    await withEngine(async (run, tokenizer) => {
      const open = tokenizer.tokenId("<tool_call>")!;
      const push = new Map([[open, 100]]);
      const plan: ToolChoicePlan = { mode: "auto", names: NAMES, parallel: true };
      const free = await run({ plan, temperature: 1, seed: 1, maxTokens: 30, logitBias: push });
      assert.ok(
        calls(free).length > 0 || JSON.stringify(free).includes("<tool_call>"),
        "the bias does push it",
      );
      for (let seed = 0; seed < 10; seed++) {
        const deltas = await run({
          plan: { mode: "none", names: [], parallel: true },
          temperature: 1,
          seed,
          maxTokens: 30,
          logitBias: push,
        });
        assert.equal(calls(deltas).length, 0);
        assert.ok(!JSON.stringify(deltas).includes("<tool_call>"), JSON.stringify(deltas));
      }
    });
  },
});
