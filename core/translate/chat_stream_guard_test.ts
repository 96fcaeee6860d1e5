import assert from "node:assert/strict";
import { CortexError } from "../errors/cortex_error.ts";
import { CHAT_STREAM_RULES, ChatStreamGuard, type ChatStreamKind, SSE_DONE } from "./chat_stream_guard.ts";
import { breakStream, randomChunking, randomScenario, Rng } from "./_test_gen.ts";

function guard(payloads: string[], kind: ChatStreamKind = "chat") {
  const g = new ChatStreamGuard({ kind });
  const out: string[] = [];
  for (const p of payloads) g.push(p, (x) => out.push(x));
  g.end((x) => out.push(x));
  return { out, rules: g.violations.map((v) => `${v.rule}:${v.action}`), state: g.state };
}

const chunk = (delta: Record<string, unknown>, finish: string | null = null, id = "chatcmpl-1"): string =>
  JSON.stringify({
    id,
    object: "chat.completion.chunk",
    created: 1,
    model: "m",
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
const usage = JSON.stringify({
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  created: 1,
  model: "m",
  choices: [],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});
const call = (index: number, extra: Record<string, unknown> = {}) =>
  chunk({
    tool_calls: [{
      index,
      id: `call_${index}`,
      type: "function",
      function: { name: "f", arguments: "" },
      ...extra,
    }],
  });
const text = (piece: string, finish: string | null = null) =>
  JSON.stringify({
    id: "cmpl-1",
    object: "text_completion",
    created: 1,
    model: "m",
    choices: [{ index: 0, text: piece, finish_reason: finish }],
  });

// A guarded stream is well-formed when a fresh guard finds nothing in it.
function wellFormed(out: string[], kind: ChatStreamKind = "chat"): void {
  const g = new ChatStreamGuard({ kind });
  for (const p of out) g.push(p, () => {});
  g.end(() => {});
  assert.deepEqual(g.violations, [], JSON.stringify(out));
}

Deno.test("chat guard: a well-formed stream passes unchanged, byte for byte", () => {
  const payloads = [
    chunk({ role: "assistant", content: "" }),
    chunk({ content: "hi" }),
    call(0),
    call(1),
    chunk({}, "tool_calls"),
    usage,
    SSE_DONE,
  ];
  const { out, rules, state } = guard(payloads);
  assert.deepEqual(rules, []);
  assert.deepEqual(out, payloads);
  assert.equal(state, "closed");
});

Deno.test("chat guard: a missing [DONE] after a clean finish is appended", () => {
  const { out, rules } = guard([chunk({ content: "hi" }), chunk({}, "stop"), usage]);
  assert.deepEqual(rules, ["missing_done:repaired"]);
  assert.equal(out[out.length - 1], SSE_DONE);
});

Deno.test("chat guard: a changed id and a second finish_reason are rewritten; payloads after [DONE] dropped", () => {
  const { out, rules } = guard([
    chunk({ content: "a" }),
    chunk({ content: "b" }, null, "chatcmpl-2"),
    chunk({}, "stop"),
    chunk({}, "stop"),
    SSE_DONE,
    SSE_DONE,
  ]);
  assert.deepEqual(rules, ["id_changed:repaired", "finish_twice:repaired", "event_after_end:repaired"]);
  assert.equal(JSON.parse(out[1]).id, "chatcmpl-1");
  assert.equal(JSON.parse(out[3]).choices[0].finish_reason, null);
  wellFormed(out);
});

Deno.test("chat guard: an error payload ends the stream; a [DONE] may follow it", () => {
  const error = JSON.stringify({ error: { message: "boom", type: "api_error", code: "x", param: null } });
  const { out, rules, state } = guard([chunk({ content: "a" }), error, SSE_DONE]);
  assert.deepEqual(rules, []);
  assert.deepEqual(out.slice(-2), [error, SSE_DONE]);
  assert.equal(state, "closed");
});

Deno.test("chat guard: unrepairable violations end the stream with an error payload", () => {
  const cases: [string, string[]][] = [
    ["not_json", [chunk({ content: "a" }), "{oops"]],
    ["not_a_chunk", [JSON.stringify({ hello: 1 })]],
    ["content_after_finish", [chunk({}, "stop"), chunk({ content: "late" })]],
    ["tool_call_without_id", [chunk({ tool_calls: [{ index: 0, function: { arguments: "{}" } }] })]],
    ["done_before_finish", [chunk({ content: "a" }), SSE_DONE]],
    ["truncated", [chunk({ content: "a" })]],
    ["truncated", []],
  ];
  for (const [rule, payloads] of cases) {
    const { out, rules, state } = guard(payloads);
    assert.deepEqual(rules, [`${rule}:ended`], rule);
    assert.equal(state, "cut", rule);
    const last = JSON.parse(out[out.length - 1]);
    assert.equal(last.error.code, "stream_violation", rule);
    assert.match(last.error.message, new RegExp(rule));
  }
});

Deno.test("completions guard: text pieces, finish, [DONE]; text after the finish ends the stream", () => {
  const good = [text("Once"), text(" upon", "length"), SSE_DONE];
  assert.deepEqual(guard(good, "completions").rules, []);
  assert.deepEqual(guard([text("a", "stop"), text("b")], "completions").rules, [
    "content_after_finish:ended",
  ]);
  assert.deepEqual(guard([text("a", "stop")], "completions").rules, ["missing_done:repaired"]);
});

Deno.test("chat guard: fail() sends the producer's error once, never after the end", () => {
  const g = new ChatStreamGuard();
  const out: string[] = [];
  g.push(chunk({ content: "a" }), (x) => out.push(x));
  const error = new CortexError("neuron went away", { code: "upstream_error", status: 502 });
  g.fail(error, (x) => out.push(x));
  g.fail(error, (x) => out.push(x));
  assert.equal(out.length, 2);
  assert.equal(JSON.parse(out[1]).error.code, "upstream_error");
  assert.deepEqual(g.violations, []);
});

Deno.test("property: the project's chat streams produce no violations; mutated ones come out well-formed", () => {
  const rng = new Rng(0xc4a7);
  const seen = new Set<string>();
  for (let n = 0; n < 1500; n++) {
    const chunks = randomChunking(rng, randomScenario(rng, n), rng.bool());
    const payloads = [...chunks.map((c) => JSON.stringify(c)), SSE_DONE];
    const own = guard(payloads);
    assert.deepEqual(own.rules, [], `case ${n}`);
    assert.deepEqual(own.out, payloads, `case ${n}`);
    const broken = breakStream(rng, payloads);
    const fixed = guard(broken);
    for (const rule of fixed.rules) seen.add(rule.split(":")[0]);
    wellFormed(fixed.out);
  }
  for (const rule of seen) assert.ok(rule in CHAT_STREAM_RULES, rule);
  assert.ok(seen.size >= 5, `the mutations reach several rules: ${[...seen]}`);
});
