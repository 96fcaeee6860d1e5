// The token → delta pipeline with the tiny Qwen3 fixture's real tokenizer and the real
// @cortex/qwen3 parsers: model output text is tokenised and fed back one token at a time, as
// the engine would generate it. (The random-weight fixtures never write a tool call by
// themselves, so this is where tool-call and reasoning output is exercised end to end.)
import assert from "node:assert/strict";
import type { ChatFunctionTool } from "@cortex/core/openai";
import type { ToolDefinition } from "@cortex/qwen3";
import { GREEDY } from "../devices/mod.ts";
import { generate, type GenerationDelta, type OutputParsing, OutputPipeline } from "./generation.ts";
import type { GenerationJob, GenerationOutcome, Scheduler } from "./scheduler.ts";
import { ModelTokenizer } from "./tokenizer.ts";

const tokenizer = await ModelTokenizer.fromFolder(
  new URL("../testdata/models/tiny-qwen3-f32", import.meta.url).pathname,
);

const weather: ChatFunctionTool = {
  type: "function",
  function: {
    name: "get_weather",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const tools = [weather] as unknown as ToolDefinition[];

function run(
  text: string,
  options: { parsing?: OutputParsing; stop?: string[] } = {},
): { deltas: GenerationDelta[]; pipeline: OutputPipeline; tokens: number } {
  const pipeline = new OutputPipeline(tokenizer, options);
  const deltas: GenerationDelta[] = [];
  let tokens = 0;
  for (const id of tokenizer.encode(text)) {
    tokens++;
    const step = pipeline.push(id);
    deltas.push(...step.deltas);
    if (step.stopped) break;
  }
  deltas.push(...pipeline.finish());
  return { deltas, pipeline, tokens };
}

const joined = (deltas: GenerationDelta[], type: "text" | "reasoning") =>
  deltas.filter((d) => d.type === type).map((d) => (d as { text: string }).text).join("");

Deno.test("pipeline: a Hermes tool call becomes one complete tool_call delta and finish_reason tool_calls", () => {
  const { deltas, pipeline } = run(
    'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
    { parsing: { reasoning: true, startInThink: false, tools } },
  );
  assert.equal(joined(deltas, "text"), "Let me check.\n");
  const calls = deltas.filter((d) => d.type === "tool_call");
  assert.equal(calls.length, 1);
  assert.deepEqual({ ...calls[0], id: undefined }, {
    type: "tool_call",
    index: 0,
    id: undefined,
    name: "get_weather",
    arguments: '{"city":"Paris"}',
  });
  assert.match((calls[0] as { id: string }).id, /^call_/);
  assert.equal(pipeline.finishReason(false), "tool_calls");
  assert.equal(pipeline.finishReason(true), "length", "a truncated turn stays length");
});

Deno.test("pipeline: a call without a name is repaired from the offered tool schemas", () => {
  const { deltas } = run('<tool_call>\n{"arguments": {"city": "Oslo"}}\n</tool_call>', {
    parsing: { reasoning: true, startInThink: false, tools },
  });
  const call = deltas.find((d) => d.type === "tool_call") as { name: string; arguments: string } | undefined;
  assert.equal(call?.name, "get_weather");
  assert.equal(call?.arguments, '{"city":"Oslo"}');
});

Deno.test("pipeline: a call naming a tool that was not offered is counted, renamed when its keys fit one tool, else text", () => {
  const parsing: OutputParsing = { reasoning: true, startInThink: false, tools };
  const renamed = run('<tool_call>\n{"name": "weather", "arguments": {"city": "Oslo"}}\n</tool_call>', {
    parsing,
  });
  const call = renamed.deltas.find((d) => d.type === "tool_call") as
    | { name: string; arguments: string }
    | undefined;
  assert.deepEqual([call?.name, call?.arguments], ["get_weather", '{"city":"Oslo"}']);
  assert.equal(renamed.pipeline.unofferedToolCalls, 1);
  assert.equal(renamed.pipeline.repairedToolCalls, 1);

  const made = '<tool_call>\n{"name": "rm_rf", "arguments": {"path": "/"}}\n</tool_call>';
  const surfaced = run(`ok ${made}`, { parsing });
  assert.equal(
    surfaced.deltas.filter((d) => d.type === "tool_call").length,
    0,
    "never sent under a made-up name",
  );
  assert.equal(joined(surfaced.deltas, "text"), `ok ${made}`);
  assert.equal(surfaced.pipeline.unofferedToolCalls, 1);
  assert.equal(surfaced.pipeline.repairedToolCalls, 0);
  assert.equal(surfaced.pipeline.finishReason(false), "stop");
});

Deno.test("pipeline: an unrepairable or unterminated call is surfaced as text, never dropped", () => {
  const broken = '<tool_call>\n{"nonsense": [1, 2}\n</tool_call>';
  const first = run(`before ${broken} after`, { parsing: { reasoning: true, startInThink: false, tools } });
  assert.equal(first.deltas.filter((d) => d.type === "tool_call").length, 0);
  assert.equal(joined(first.deltas, "text"), `before ${broken} after`);
  assert.equal(first.pipeline.finishReason(false), "stop");
  const open = run('text <tool_call>\n{"name": "get_weather", "argu', {
    parsing: { reasoning: true, startInThink: false, tools },
  });
  assert.equal(joined(open.deltas, "text"), 'text <tool_call>\n{"name": "get_weather", "argu');
});

Deno.test("pipeline: without offered tools a tool-call block stays text", () => {
  const text = '<tool_call>\n{"name": "get_weather", "arguments": {}}\n</tool_call>';
  const { deltas } = run(text, { parsing: { reasoning: true, startInThink: false, tools: null } });
  assert.equal(joined(deltas, "text"), text);
});

Deno.test("pipeline: reasoning is split out and counted in tokens; a prompt that opened <think> starts inside", () => {
  const { deltas, pipeline } = run("<think>\nFirst, think.\n</think>\n\nThe answer.", {
    parsing: { reasoning: true, startInThink: false, tools: null },
  });
  assert.equal(joined(deltas, "reasoning"), "\nFirst, think.\n");
  assert.equal(joined(deltas, "text"), "\n\nThe answer.");
  assert.ok(pipeline.reasoningTokens >= 3 && pipeline.reasoningTokens <= 8, String(pipeline.reasoningTokens));
  const inside = run("still thinking</think>done", {
    parsing: { reasoning: true, startInThink: true, tools: null },
  });
  assert.equal(joined(inside.deltas, "reasoning"), "still thinking");
  assert.equal(joined(inside.deltas, "text"), "done");
});

Deno.test("pipeline: stop strings cut raw text across tokens, before parsing", () => {
  const { deltas, pipeline, tokens } = run("one two three four five", { stop: ["ee fo"] });
  assert.equal(joined(deltas, "text"), "one two thr");
  assert.equal(pipeline.matchedStop, "ee fo");
  assert.equal(pipeline.finishReason(true), "stop", "a stop string wins over length");
  assert.ok(tokens < tokenizer.encode("one two three four five").length, "generation stopped early");
});

Deno.test("pipeline: without parsing, text passes through and concatenates to the decoded tokens", () => {
  const text = "<think>kept</think> <tool_call>also kept</tool_call> é😀";
  const { deltas } = run(text);
  assert.equal(joined(deltas, "text"), text);
  assert.ok(deltas.every((d) => d.type === "text" && d.text.length > 0));
});

/** Feeds `text` token by token with a fake log-probability per token (−position); returns the
 * log-probabilities in the order the deltas (then the finish) carry them. */
function carriedLogprobs(text: string, options: { parsing?: OutputParsing; stop?: string[] }): {
  fed: number[];
  carried: number[];
  carriers: string[];
} {
  const pipeline = new OutputPipeline(tokenizer, options);
  const fed: number[] = [];
  const deltas: GenerationDelta[] = [];
  for (const [i, id] of tokenizer.encode(text).entries()) {
    fed.push(id);
    const step = pipeline.push(id, { token: id, logprob: -i, top: [{ token: id, logprob: -i }] });
    deltas.push(...step.deltas);
    if (step.stopped) break;
  }
  deltas.push(...pipeline.finish());
  const trailing = pipeline.takePendingLogprobs();
  const entries = [...deltas.flatMap((d) => d.logprobs ?? []), ...trailing];
  assert.equal(
    entries.map((e) => e.text).join(""),
    tokenizer.decode(fed),
    "token texts add up to the output",
  );
  assert.deepEqual(entries.flatMap((e) => e.bytes), [...new TextEncoder().encode(tokenizer.decode(fed))]);
  for (const entry of entries) {
    assert.equal(entry.top[0].text, tokenizer.decode([entry.token], { skipSpecialTokens: false }));
    assert.deepEqual(entry.top[0].bytes, entry.bytes);
  }
  const carried = entries.map((entry) => entry.logprob);
  return { fed, carried, carriers: deltas.filter((d) => d.logprobs).map((d) => d.type) };
}

Deno.test("pipeline: logprobs of tokens held back by tool-call parsing ride on later deltas, each exactly once", () => {
  const { fed, carried, carriers } = carriedLogprobs(
    '<think>hmm</think>Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
    { parsing: { reasoning: true, startInThink: false, tools } },
  );
  assert.deepEqual(carried, fed.map((_, i) => -i));
  assert.ok(carriers.includes("tool_call"), "the call's tokens ride on the tool_call delta");
  assert.ok(carriers.includes("reasoning") && carriers.includes("text"));
});

Deno.test("pipeline: logprobs of tokens swallowed by a stop string are kept for the finish, in order", () => {
  const { fed, carried } = carriedLogprobs("Héllo thère — 漢字.\n\nGoodbye now.", { stop: ["\n\nGood"] });
  assert.deepEqual(carried, fed.map((_, i) => -i));
  assert.ok(
    fed.length < tokenizer.encode("Héllo thère — 漢字.\n\nGoodbye now.").length,
    "the stop string ended it",
  );
});

Deno.test("generate: maxToolCalls 1 (parallel_tool_calls false) ends the turn after the first complete call", async () => {
  const two = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>\n' +
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call>';
  const fed: number[] = [];
  // A stand-in for the engine: it outputs the text's tokens until the consumer says stop.
  const scheduler = {
    generate(job: GenerationJob): Promise<GenerationOutcome> {
      let cause: GenerationOutcome["cause"] = "eos";
      for (const id of tokenizer.encode(two)) {
        fed.push(id);
        if (!job.onToken(id, null)) {
          cause = "stopped";
          break;
        }
      }
      return Promise.resolve({
        cause,
        promptTokens: 1,
        cachedTokens: 0,
        completionTokens: fed.length,
        prefillMs: 0,
        prefillEngineMs: 0,
        decodeMs: 0,
      });
    },
  } as unknown as Scheduler;
  const deltas: GenerationDelta[] = [];
  for await (
    const delta of generate({
      scheduler,
      tokenizer,
      promptTokens: [1],
      sampling: GREEDY,
      maxTokens: 100,
      stopTokenIds: new Set(),
      parsing: { reasoning: true, startInThink: false, tools },
      maxToolCalls: 1,
    })
  ) deltas.push(delta);
  const calls = deltas.filter((d) => d.type === "tool_call") as { arguments: string }[];
  assert.deepEqual(calls.map((c) => c.arguments), ['{"city":"Oslo"}']);
  assert.ok(fed.length < tokenizer.encode(two).length, "the second call was never generated");
  const finish = deltas.at(-1)!;
  assert.ok(finish.type === "finish" && finish.finishReason === "tool_calls");
});
