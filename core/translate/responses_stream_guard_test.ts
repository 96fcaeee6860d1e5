import assert from "node:assert/strict";
import { CortexError } from "../errors/cortex_error.ts";
import type { ResponsesLifecycleEvent, ResponsesStreamEvent } from "../responses/stream_events.ts";
import { chatChunksToResponsesEvents } from "./responses_stream.ts";
import { checkResponsesStream, reassembleResponsesStream } from "./responses_stream_check.ts";
import { RESPONSES_STREAM_RULES, ResponsesStreamGuard } from "./responses_stream_guard.ts";
import { breakStream, randomChunking, randomScenario, Rng } from "./_test_gen.ts";

function guard(events: ResponsesStreamEvent[]) {
  const g = new ResponsesStreamGuard({ model: "m" });
  const out: ResponsesStreamEvent[] = [];
  for (const e of events) g.push(e, (x) => out.push(x));
  g.end((x) => out.push(x));
  return { out, rules: g.violations.map((v) => `${v.rule}:${v.action}`), state: g.state };
}

// A small well-formed stream: one message item with "Hello" and one function call.
function sample(): ResponsesStreamEvent[] {
  const rng = new Rng(5);
  const chunks = randomChunking(rng, {
    id: "chatcmpl-1",
    reasoning: "",
    text: "Hello",
    tools: [{ id: "call_1", name: "f", args: '{"a":1}' }],
    finish: "tool_calls",
    matchedStop: null,
    usage: null,
  }, true);
  return chatChunksToResponsesEvents(chunks, { createdAt: 1, responseId: "resp_1" });
}

function without(events: ResponsesStreamEvent[], type: string): ResponsesStreamEvent[] {
  return events.filter((e) => e.type !== type);
}

Deno.test("responses guard: the project's stream passes unchanged", () => {
  const events = sample();
  const { out, rules, state } = guard(events);
  assert.deepEqual(rules, []);
  assert.deepEqual(out, events);
  assert.equal(state, "closed");
});

Deno.test("responses guard: a missing response.completed after every item is done is appended", () => {
  const events = without(sample(), "response.completed");
  const { out, rules } = guard(events);
  assert.deepEqual(rules, ["missing_terminal:repaired"]);
  const last = out[out.length - 1];
  assert.equal(last.type, "response.completed");
  assert.deepEqual(checkResponsesStream(out), []);
  assert.equal(reassembleResponsesStream(out)?.output.length, 2);
});

Deno.test("responses guard: gaps in sequence numbers and a missing in_progress are repaired", () => {
  const events = sample().filter((e) => e.type !== "response.in_progress").map((e, i) => ({
    ...e,
    sequence_number: i * 2,
  }));
  const { out, rules } = guard(events as ResponsesStreamEvent[]);
  assert.deepEqual(new Set(rules), new Set(["in_progress_missing:repaired", "sequence_number:repaired"]));
  out.forEach((e, i) => assert.equal(e.sequence_number, i));
  assert.deepEqual(checkResponsesStream(out), []);
});

Deno.test("responses guard: an item never done is closed before the terminal event, whose output is made to agree", () => {
  const events = sample();
  const lastDone = events.findLastIndex((e) => e.type === "response.output_item.done");
  events.splice(lastDone, 1);
  const { out, rules } = guard(events.map((e, i) => ({ ...e, sequence_number: i })));
  assert.deepEqual(rules, ["item_not_done:repaired"]);
  assert.deepEqual(checkResponsesStream(out), []);
  const call = reassembleResponsesStream(out)?.output[1];
  assert.equal(call?.type === "function_call" && call.arguments, '{"a":1}');
});

Deno.test("responses guard: a terminal status, error or output that disagrees is rewritten", () => {
  const events = sample();
  const terminal = events[events.length - 1] as ResponsesLifecycleEvent;
  events[events.length - 1] = {
    ...terminal,
    type: "response.failed",
    response: { ...terminal.response, status: "completed", output: [] },
  };
  const { out, rules } = guard(events);
  assert.deepEqual(rules, [
    "terminal_status:repaired",
    "failed_without_error:repaired",
    "terminal_output:repaired",
  ]);
  assert.deepEqual(checkResponsesStream(out), []);
});

Deno.test("responses guard: unrepairable violations end with response.failed, open items done as incomplete", () => {
  const events = sample();
  const textDelta = events.findIndex((e) => e.type === "response.output_text.delta");
  const added = events.findIndex((e) => e.type === "response.output_item.added");
  const cases: [string, ResponsesStreamEvent[]][] = [
    ["first_event", events.slice(1)],
    ["item_index", [
      ...events.slice(0, added),
      { ...events[added], output_index: 3 } as ResponsesStreamEvent,
    ]],
    ["item_id", [
      ...events.slice(0, textDelta),
      { ...events[textDelta], item_id: "msg_other" } as ResponsesStreamEvent,
    ]],
    ["item_unknown", [
      ...events.slice(0, textDelta),
      { ...events[textDelta], output_index: 7 } as ResponsesStreamEvent,
    ]],
    [
      "delta_outside_part",
      events.filter((e, i) => i <= textDelta && e.type !== "response.content_part.added"),
    ],
    ["truncated", events.slice(0, textDelta + 1)],
    ["truncated", []],
  ];
  for (const [rule, input] of cases) {
    const { out, rules, state } = guard(input);
    assert.deepEqual(rules.filter((r) => r.endsWith(":ended")), [`${rule}:ended`], rule);
    assert.equal(state, "cut", rule);
    const last = out[out.length - 1];
    assert.equal(last.type, "response.failed", rule);
    assert.match(last.type === "response.failed" ? last.response.error?.message ?? "" : "", new RegExp(rule));
    assert.deepEqual(checkResponsesStream(out), [], `${rule}: the guard's output is well-formed`);
  }
});

Deno.test("responses guard: fail() reports the producer's error; events after the end are dropped", () => {
  const events = sample();
  const g = new ResponsesStreamGuard();
  const out: ResponsesStreamEvent[] = [];
  for (const e of events.slice(0, 6)) g.push(e, (x) => out.push(x));
  g.fail(new CortexError("neuron went away", { code: "upstream_error", status: 502 }), (x) => out.push(x));
  assert.deepEqual(g.violations, []);
  const last = out[out.length - 1];
  assert.equal(last.type === "response.failed" && last.response.error?.code, "upstream_error");
  assert.deepEqual(checkResponsesStream(out), []);
  const twice = guard([
    ...events.slice(0, 2),
    { ...events[0], sequence_number: 2 },
    ...events.slice(2).map((e) => ({
      ...e,
      sequence_number: e.sequence_number + 1,
    })),
  ]);
  assert.deepEqual(twice.rules, ["lifecycle_twice:repaired"]);
  assert.deepEqual(twice.out, events);
  const after = guard([...events, events[3]]);
  assert.deepEqual(after.rules, ["event_after_end:repaired"]);
});

Deno.test("property: the project's translated streams produce no violations; mutated ones come out well-formed", () => {
  const rng = new Rng(0x5e0);
  const seen = new Set<string>();
  for (let n = 0; n < 1500; n++) {
    const chunks = randomChunking(rng, randomScenario(rng, n), rng.bool());
    const events = chatChunksToResponsesEvents(chunks, { createdAt: 42 });
    const own = guard(events);
    assert.deepEqual(own.rules, [], `case ${n}`);
    assert.deepEqual(own.out, events, `case ${n}`);
    const broken = breakStream(rng, events);
    const fixed = guard(broken);
    for (const rule of fixed.rules) seen.add(rule.split(":")[0]);
    assert.deepEqual(checkResponsesStream(fixed.out), [], `case ${n}: ${JSON.stringify(fixed.rules)}`);
  }
  for (const rule of seen) assert.ok(rule in RESPONSES_STREAM_RULES, rule);
  assert.ok(seen.size >= 6, `the mutations reach several rules: ${[...seen]}`);
});
