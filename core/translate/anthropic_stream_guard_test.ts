import assert from "node:assert/strict";
import type { AnthropicStreamEvent } from "../anthropic/stream_events.ts";
import { CortexError } from "../errors/cortex_error.ts";
import { chatChunksToAnthropicEvents } from "./anthropic_stream.ts";
import { ANTHROPIC_STREAM_RULES, AnthropicStreamGuard } from "./anthropic_stream_guard.ts";
import { checkAnthropicStream } from "./anthropic_stream_check.ts";
import { breakStream, randomChunking, randomScenario, Rng } from "./_test_gen.ts";

function guard(events: AnthropicStreamEvent[]) {
  const g = new AnthropicStreamGuard();
  const out: AnthropicStreamEvent[] = [];
  for (const e of events) g.push(e, (x) => out.push(x));
  g.end((x) => out.push(x));
  return { out, rules: g.violations.map((v) => `${v.rule}:${v.action}`), state: g.state };
}

const start: AnthropicStreamEvent = {
  type: "message_start",
  message: {
    id: "msg_1",
    type: "message",
    role: "assistant",
    content: [],
    model: "m",
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 3, output_tokens: 0 },
  },
};
const text = (index: number): AnthropicStreamEvent[] => [
  { type: "content_block_start", index, content_block: { type: "text", text: "" } },
  { type: "content_block_delta", index, delta: { type: "text_delta", text: "hi" } },
];
const stop = (index: number): AnthropicStreamEvent => ({ type: "content_block_stop", index });
const tool = (index: number, json: string): AnthropicStreamEvent[] => [
  {
    type: "content_block_start",
    index,
    content_block: { type: "tool_use", id: "toolu_1", name: "f", input: {} },
  },
  { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: json } },
];
const delta = (stop_reason: "end_turn" | "tool_use" = "end_turn"): AnthropicStreamEvent => ({
  type: "message_delta",
  delta: { stop_reason, stop_sequence: null },
  usage: { output_tokens: 2 },
});
const messageStop: AnthropicStreamEvent = { type: "message_stop" };

Deno.test("anthropic guard: a well-formed stream passes unchanged", () => {
  const events = [start, ...text(0), stop(0), ...tool(1, '{"a":1}'), stop(1), delta("tool_use"), messageStop];
  const { out, rules, state } = guard(events);
  assert.deepEqual(rules, []);
  assert.deepEqual(out, events);
  assert.equal(state, "closed");
});

Deno.test("anthropic guard: a missing content_block_stop before message_delta is inserted", () => {
  const { out, rules } = guard([start, ...text(0), delta(), messageStop]);
  assert.deepEqual(rules, ["block_not_closed:repaired"]);
  assert.deepEqual(out.map((e) => e.type), [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
  ]);
  assert.deepEqual(checkAnthropicStream(out), []);
});

Deno.test("anthropic guard: a block opened over an open one closes the first; empty deltas and stray stops are dropped", () => {
  const { out, rules } = guard([
    start,
    ...text(0),
    { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "" } },
    ...text(1),
    stop(1),
    stop(1),
    delta(),
    messageStop,
  ]);
  assert.deepEqual(rules, [
    "empty_delta:repaired",
    "block_not_closed:repaired",
    "stop_outside_block:repaired",
  ]);
  assert.deepEqual(checkAnthropicStream(out), []);
});

Deno.test("anthropic guard: a missing message_stop after message_delta is appended at the end", () => {
  const { out, rules, state } = guard([start, ...text(0), stop(0), delta()]);
  assert.deepEqual(rules, ["missing_message_stop:repaired"]);
  assert.equal(out[out.length - 1].type, "message_stop");
  assert.equal(state, "closed");
});

Deno.test("anthropic guard: stop_reason is rewritten to agree with the tool_use blocks", () => {
  const withTool = guard([start, ...tool(0, "{}"), stop(0), delta("end_turn"), messageStop]);
  assert.deepEqual(withTool.rules, ["stop_reason:repaired"]);
  const md = withTool.out.find((e) => e.type === "message_delta");
  assert.equal(md?.type === "message_delta" && md.delta.stop_reason, "tool_use");
  const without = guard([start, ...text(0), stop(0), delta("tool_use"), messageStop]);
  const md2 = without.out.find((e) => e.type === "message_delta");
  assert.equal(md2?.type === "message_delta" && md2.delta.stop_reason, "end_turn");
});

Deno.test("anthropic guard: unrepairable violations end the stream with one error event, blocks closed", () => {
  const cases: [string, AnthropicStreamEvent[]][] = [
    ["first_event", [...text(0)]],
    ["block_index", [start, ...text(1)]],
    ["delta_outside_block", [start, {
      type: "content_block_delta",
      index: 0,
      delta: { type: "text_delta", text: "x" },
    }]],
    ["delta_type", [start, {
      type: "content_block_start",
      index: 0,
      content_block: { type: "text", text: "" },
    }, {
      type: "content_block_delta",
      index: 0,
      delta: { type: "input_json_delta", partial_json: "{}" },
    }]],
    ["tool_input_json", [start, ...tool(0, '{"a":'), stop(0), delta("tool_use"), messageStop]],
    ["message_stop_without_delta", [start, ...text(0), stop(0), messageStop]],
    ["block_after_message_delta", [start, delta(), ...text(0)]],
    ["truncated", [start, ...text(0)]],
    ["truncated", []],
  ];
  for (const [rule, events] of cases) {
    const { out, rules, state } = guard(events);
    assert.deepEqual(rules, [`${rule}:ended`], rule);
    assert.equal(state, "cut", rule);
    const last = out[out.length - 1];
    assert.equal(last.type, "error", rule);
    assert.match(last.type === "error" ? last.error.message : "", new RegExp(rule));
    assert.deepEqual(checkAnthropicStream(out), [], `${rule}: the guard's output is well-formed`);
  }
});

Deno.test("anthropic guard: events after the end are dropped; fail() closes the open block and reports the error", () => {
  const after = guard([start, ...text(0), stop(0), delta(), messageStop, ...text(1)]);
  assert.deepEqual(after.rules, ["event_after_end:repaired", "event_after_end:repaired"]);
  assert.equal(after.out[after.out.length - 1].type, "message_stop");
  const g = new AnthropicStreamGuard();
  const out: AnthropicStreamEvent[] = [];
  for (const e of [start, ...text(0)]) g.push(e, (x) => out.push(x));
  g.fail(new CortexError("neuron went away", { code: "upstream_error", status: 502 }), (x) => out.push(x));
  assert.deepEqual(out.slice(-2).map((e) => e.type), ["content_block_stop", "error"]);
  assert.deepEqual(g.violations, []);
  assert.equal(g.state, "closed");
});

Deno.test("property: the project's translated streams produce no violations; mutated ones come out well-formed", () => {
  const rng = new Rng(0x6a2d);
  const seen = new Set<string>();
  for (let n = 0; n < 1500; n++) {
    const chunks = randomChunking(rng, randomScenario(rng, n), rng.bool());
    const events = chatChunksToAnthropicEvents(chunks);
    const own = guard(events);
    assert.deepEqual(own.rules, [], `case ${n}`);
    assert.deepEqual(own.out, events, `case ${n}`);
    const broken = breakStream(rng, events);
    const fixed = guard(broken);
    for (const rule of fixed.rules) seen.add(rule.split(":")[0]);
    assert.deepEqual(checkAnthropicStream(fixed.out), [], `case ${n}: ${JSON.stringify(fixed.rules)}`);
  }
  for (const rule of seen) assert.ok(rule in ANTHROPIC_STREAM_RULES, rule);
  assert.ok(seen.size >= 6, `the mutations reach several rules: ${[...seen]}`);
});
