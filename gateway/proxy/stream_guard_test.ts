// The stream guard as wired into the gateway's relays: broken neuron streams come out repaired
// or ended in the client's dialect, and every violation is counted in
// cortex_stream_violations_total{dialect,rule}. The neuron's byte stream is a scripted test
// double (a ReadableStream of SSE text): these streams are what a correct neuron never sends.
import assert from "node:assert/strict";
import {
  ANTHROPIC_STREAM_RULES,
  CHAT_STREAM_RULES,
  checkAnthropicStream,
  checkResponsesStream,
  RESPONSES_STREAM_RULES,
} from "@cortex/core/translate";
import type { AnthropicStreamEvent } from "@cortex/core/anthropic";
import type { ResponsesStreamEvent } from "@cortex/core/responses";
import { encodeSse, parseSse } from "@cortex/core/sse";
import type { Route } from "../fleet/route.ts";
import { GatewayMetrics } from "../metrics/gateway_metrics.ts";
import { openAIPassthrough } from "./openai_passthrough.ts";
import { RequestRecord } from "./request_record.ts";
import { translatedPlan } from "./translated.ts";

const enc = new TextEncoder();

/** A scripted neuron SSE body (test double); `cancelled` turns true when the relay cancels it. */
function scriptedNeuron(payloads: string[]): { response: Response; cancelled: () => boolean } {
  let i = 0;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (i < payloads.length) c.enqueue(enc.encode(encodeSse({ data: payloads[i++] })));
      else c.close();
    },
    cancel: () => void (cancelled = true),
  });
  return {
    response: new Response(body, { headers: { "content-type": "text/event-stream" } }),
    cancelled: () => cancelled,
  };
}

const route = { modelId: "tiny", neuronModelId: "tiny" } as Route;

const chunk = (delta: Record<string, unknown>, finish: string | null = null): string =>
  JSON.stringify({
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    created: 1,
    model: "tiny",
    choices: [{ index: 0, delta, finish_reason: finish }],
  });

async function violations(metrics: GatewayMetrics): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await metrics.streamViolations.get()).values) {
    out[`${v.labels.dialect}/${v.labels.rule}`] = v.value;
  }
  return out;
}

async function passthrough(payloads: string[], dialect: "chat" | "completions" = "chat") {
  const metrics = new GatewayMetrics();
  const record = new RequestRecord(metrics, dialect, performance.now());
  const json = { model: "tiny", stream: true, stream_options: { include_usage: true } };
  const plan = openAIPassthrough(
    dialect,
    "/v1/chat/completions",
    {
      bytes: enc.encode(JSON.stringify(json)),
      json,
    },
    record,
    5000,
  );
  const neuron = scriptedNeuron(payloads);
  let status = 0;
  const response = await plan.respond(neuron.response, route, (s) => void (status = s));
  const text = await response.text();
  return { text, status, cancelled: neuron.cancelled(), violations: await violations(metrics) };
}

async function translated(kind: "messages" | "responses", payloads: string[]) {
  const metrics = new GatewayMetrics();
  const record = new RequestRecord(metrics, kind, performance.now());
  const dialect = kind === "messages"
    ? { kind } as const
    : { kind, request: { model: "tiny", input: "hi", stream: true } } as const;
  const plan = translatedPlan(dialect, { model: "tiny", messages: [], stream: true }, record, 5000);
  const neuron = scriptedNeuron(payloads);
  const response = await plan.respond(neuron.response, route, () => {});
  const text = await response.text();
  const parsed = parseSse(text).map((e) => JSON.parse(e.data!));
  return { parsed, cancelled: neuron.cancelled(), violations: await violations(metrics) };
}

Deno.test("gateway chat relay: a missing [DONE] after a clean finish is appended and counted", async () => {
  const { text, status, violations: v } = await passthrough([chunk({ content: "hi" }), chunk({}, "stop")]);
  assert.deepEqual(parseSse(text).map((e) => e.data), [
    chunk({ content: "hi" }),
    chunk({}, "stop"),
    "[DONE]",
  ]);
  assert.equal(status, 200);
  assert.deepEqual(v, { "chat/missing_done": 1 });
});

Deno.test("gateway chat relay: a payload that is not JSON ends the stream with an error event and cancels the neuron", async () => {
  const { text, cancelled, violations: v } = await passthrough([
    chunk({ content: "hi" }),
    "{not json",
    chunk({ content: "more" }),
    chunk({}, "stop"),
    "[DONE]",
  ]);
  const out = parseSse(text);
  assert.equal(out.length, 2);
  assert.equal(JSON.parse(out[1].data!).error.code, "stream_violation");
  assert.ok(cancelled, "the neuron's stream was cancelled");
  assert.deepEqual(v, { "chat/not_json": 1 });
});

Deno.test("gateway completions relay: text after the finish ends the stream; a well-formed stream counts nothing", async () => {
  const piece = (text: string, finish: string | null = null) =>
    JSON.stringify({
      id: "cmpl-1",
      object: "text_completion",
      created: 1,
      model: "tiny",
      choices: [{ index: 0, text, finish_reason: finish }],
    });
  const broken = await passthrough([piece("a", "stop"), piece("b"), "[DONE]"], "completions");
  assert.deepEqual(broken.violations, { "completions/content_after_finish": 1 });
  const good = await passthrough([piece("a"), piece("b", "length"), "[DONE]"], "completions");
  assert.deepEqual(good.violations, {});
  assert.equal(parseSse(good.text).at(-1)?.data, "[DONE]");
});

Deno.test("gateway Messages relay: a tool call whose arguments are not JSON ends with an error event, counted", async () => {
  const { parsed, violations: v } = await translated("messages", [
    chunk({ role: "assistant", content: "" }),
    chunk({
      tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: "{oops" } }],
    }),
    chunk({}, "tool_calls"),
    "[DONE]",
  ]);
  const out = parsed as AnthropicStreamEvent[];
  assert.equal(out.at(-1)?.type, "error");
  assert.ok(!out.some((e) => e.type === "message_stop"));
  assert.deepEqual(checkAnthropicStream(out), []);
  assert.deepEqual(v, { "messages/tool_input_json": 1 });
});

Deno.test("gateway Messages and Responses relays: the translators' own streams pass with no violations", async () => {
  const payloads = [
    chunk({ role: "assistant", content: "" }),
    chunk({ reasoning_content: "think" }),
    chunk({ content: "Hello" }),
    chunk({
      tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: "" } }],
    }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":1}' } }] }),
    chunk({}, "tool_calls"),
    "[DONE]",
  ];
  const messages = await translated("messages", payloads);
  assert.deepEqual(messages.violations, {});
  assert.equal(messages.parsed.at(-1)?.type, "message_stop");
  const responses = await translated("responses", payloads);
  assert.deepEqual(responses.violations, {});
  assert.equal(responses.parsed.at(-1)?.type, "response.completed");
  assert.deepEqual(checkResponsesStream(responses.parsed as ResponsesStreamEvent[]), []);
});

Deno.test("gateway Responses relay: a neuron stream cut short ends with response.failed (no violation: the translator says so)", async () => {
  const { parsed, violations: v } = await translated("responses", [chunk({ content: "Hel" })]);
  assert.equal(parsed.at(-1)?.type, "response.failed");
  assert.deepEqual(checkResponsesStream(parsed as ResponsesStreamEvent[]), []);
  assert.deepEqual(v, {});
});

Deno.test("gateway/README.md documents every stream guard rule, dialect by dialect", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const section = readme.slice(readme.indexOf("## Stream conformance guard"), readme.indexOf("\n## Keys"));
  const tables = section.split(/\n(?=Messages|Responses|Chat completions)/).slice(1);
  assert.equal(tables.length, 3);
  const documented = (table: string): string[] =>
    [...table.matchAll(/^\| `(\w+)`/gm)].map((m) => m[1]).sort();
  assert.deepEqual(documented(tables[0]), Object.keys(ANTHROPIC_STREAM_RULES).sort());
  assert.deepEqual(documented(tables[1]), Object.keys(RESPONSES_STREAM_RULES).sort());
  assert.deepEqual(documented(tables[2]), Object.keys(CHAT_STREAM_RULES).sort());
});
