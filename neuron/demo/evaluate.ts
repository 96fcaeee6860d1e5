/**
 * Held-out evaluation of the `cortex-demo` model through a neuron's OpenAI-compatible HTTP API:
 * greedy chat completions for the cases in `tools/demo_model/eval_prompts.json`, scored as the
 * issue asks (right tool with the right arguments, follow-ups that state the tool's result, plain
 * answers when no offered tool fits).
 *
 * Run against a live neuron: `deno run --allow-read --allow-net neuron/demo/evaluate.ts --url http://127.0.0.1:13131`
 * @module
 */

import { isDeepStrictEqual } from "node:util";

/** One held-out case: the conversation, the offered tools and what a correct answer holds. */
export interface EvalCase {
  id: string;
  messages: unknown[];
  tools: unknown[];
  expected?: { name: string; arguments: Record<string, unknown> };
  expected_contains?: string[];
}

/** The committed evaluation set. */
export interface EvalSet {
  tool_calls: EvalCase[];
  followups: EvalCase[];
  plain: EvalCase[];
}

/** Passed/total per category, and the cases that failed with what the model said. */
export interface EvalReport {
  tool_calls: { passed: number; total: number };
  followups: { passed: number; total: number };
  plain: { passed: number; total: number };
  failures: { id: string; reason: string }[];
}

interface ChatAnswer {
  finish_reason: string;
  content: string;
  tool_calls: { function: { name: string; arguments: string } }[];
}

/** The committed held-out set at `tools/demo_model/eval_prompts.json`. */
export const EVAL_SET_PATH: string =
  new URL("../../tools/demo_model/eval_prompts.json", import.meta.url).pathname;

/** The model's answer, or the neuron's refusal (e.g. a prompt over the context) as a failure reason. */
async function ask(url: string, model: string, item: EvalCase): Promise<ChatAnswer | string> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model,
      messages: item.messages,
      tools: item.tools,
      temperature: 0,
      max_tokens: 128,
    }),
  });
  const body = await response.json();
  if (!response.ok) return `HTTP ${response.status}: ${body.error?.message ?? JSON.stringify(body)}`;
  const choice = body.choices[0];
  return {
    finish_reason: choice.finish_reason,
    content: choice.message.content ?? "",
    tool_calls: choice.message.tool_calls ?? [],
  };
}

function judgeToolCall(item: EvalCase, answer: ChatAnswer): string | null {
  if (answer.finish_reason !== "tool_calls") {
    return `finish_reason ${answer.finish_reason}: ${answer.content}`;
  }
  if (answer.tool_calls.length !== 1) return `${answer.tool_calls.length} tool calls`;
  const call = answer.tool_calls[0].function;
  if (call.name !== item.expected?.name) return `called ${call.name}`;
  let args: unknown;
  try {
    args = JSON.parse(call.arguments);
  } catch {
    return `arguments are not JSON: ${call.arguments}`;
  }
  return isDeepStrictEqual(args, item.expected.arguments) ? null : `arguments ${call.arguments}`;
}

function judgeFollowup(item: EvalCase, answer: ChatAnswer): string | null {
  if (answer.finish_reason !== "stop" || answer.tool_calls.length > 0) {
    return `did not answer: ${answer.finish_reason}`;
  }
  const missing = (item.expected_contains ?? []).filter((needle) => !answer.content.includes(needle));
  return missing.length === 0 ? null : `missing ${missing.join(", ")} in ${JSON.stringify(answer.content)}`;
}

function judgePlain(_item: EvalCase, answer: ChatAnswer): string | null {
  if (answer.finish_reason !== "stop" || answer.tool_calls.length > 0) return `did not answer plainly`;
  return answer.content.trim() ? null : "empty answer";
}

/** Runs every case (a few at a time, so the neuron batches them) and scores the answers. */
export async function evaluateDemoModel(url: string, model: string, set: EvalSet): Promise<EvalReport> {
  const report: EvalReport = {
    tool_calls: { passed: 0, total: 0 },
    followups: { passed: 0, total: 0 },
    plain: { passed: 0, total: 0 },
    failures: [],
  };
  const work = [
    ...set.tool_calls.map((item) => ({ item, category: "tool_calls" as const, judge: judgeToolCall })),
    ...set.followups.map((item) => ({ item, category: "followups" as const, judge: judgeFollowup })),
    ...set.plain.map((item) => ({ item, category: "plain" as const, judge: judgePlain })),
  ];
  let next = 0;
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < work.length) {
      const { item, category, judge } = work[next++];
      const answer = await ask(url, model, item);
      const failure = typeof answer === "string" ? answer : judge(item, answer);
      report[category].total++;
      if (failure === null) report[category].passed++;
      else report.failures.push({ id: item.id, reason: failure });
    }
  }));
  return report;
}

if (import.meta.main) {
  const urlIndex = Deno.args.indexOf("--url");
  const url = urlIndex >= 0 ? Deno.args[urlIndex + 1] : "http://127.0.0.1:13131";
  const set = JSON.parse(await Deno.readTextFile(EVAL_SET_PATH)) as EvalSet;
  const report = await evaluateDemoModel(url, "cortex-demo", set);
  console.log(JSON.stringify(report, null, 1));
}
