// Test-only generator of random chat-completions streams (seeded, reproducible) for the
// translation property tests. Not published.
import type { ChatCompletionChunk, ChatToolCallDelta } from "../openai/chat_chunk.ts";
import type { ChatFinishReason, ChatUsage } from "../openai/chat_response.ts";

/** mulberry32 from `seed`: floats in [0, 1), the same sequence for the same seed (every seeded test
 * and bench of the workspace draws from it). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A small deterministic PRNG (mulberry32). */
export class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }
}

const _alphabet = [..."abcdefghijklmnopqrstuvwxyz ABC\n\t{}[]\":,\\/<>&'é漢字🙂"];

export function randomText(rng: Rng, max = 40): string {
  const length = rng.int(0, max);
  let out = "";
  for (let i = 0; i < length; i++) out += rng.pick(_alphabet);
  return out;
}

function _value(rng: Rng, depth: number): unknown {
  const kind = rng.int(0, depth > 2 ? 3 : 5);
  switch (kind) {
    case 0:
      return randomText(rng, 12);
    case 1:
      return rng.int(-1000, 1000) / (rng.bool() ? 1 : 8);
    case 2:
      return rng.bool();
    case 3:
      return null;
    case 4:
      return Array.from({ length: rng.int(0, 3) }, () => _value(rng, depth + 1));
    default:
      return randomObject(rng, depth + 1);
  }
}

export function randomObject(rng: Rng, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keys = rng.int(0, 4);
  for (let i = 0; i < keys; i++) out[randomText(rng, 6) || `k${i}`] = _value(rng, depth);
  return out;
}

export interface ScenarioTool {
  id: string;
  name: string;
  args: string;
}

/** The content of one generated turn. */
export interface Scenario {
  id: string;
  reasoning: string;
  text: string;
  tools: ScenarioTool[];
  finish: ChatFinishReason;
  matchedStop: string | null;
  usage: ChatUsage | null;
}

export function randomScenario(rng: Rng, n: number): Scenario {
  const toolCount = rng.bool(0.45) ? rng.int(1, 3) : 0;
  const tools: ScenarioTool[] = Array.from({ length: toolCount }, (_, i) => ({
    id: `call_${n}_${i}`,
    name: rng.pick(["read_file", "bash", "edit", "get_weather", "noop"]),
    args: rng.bool(0.1) ? "" : JSON.stringify(randomObject(rng)),
  }));
  const finish: ChatFinishReason = toolCount > 0
    ? rng.pick(["tool_calls", "tool_calls", "stop", "length"] as const)
    : rng.pick(["stop", "stop", "length", "content_filter"] as const);
  const prompt = rng.int(0, 5000);
  const cached = rng.bool(0.3) ? rng.int(0, prompt) : 0;
  const completion = rng.int(0, 900);
  const usage: ChatUsage | null = rng.bool(0.85)
    ? {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      ...(cached > 0 ? { prompt_tokens_details: { cached_tokens: cached } } : {}),
      ...(rng.bool(0.3) ? { completion_tokens_details: { reasoning_tokens: rng.int(0, completion) } } : {}),
    }
    : null;
  return {
    id: `chatcmpl-${n}`,
    reasoning: rng.bool(0.4) ? randomText(rng, 60) : "",
    text: rng.bool(0.8) ? randomText(rng, 80) : "",
    tools,
    finish,
    matchedStop: finish === "stop" && toolCount === 0 && rng.bool(0.2) ? "</end>" : null,
    usage,
  };
}

/** Splits text into 1..n code-point pieces at random boundaries. */
export function randomSplit(rng: Rng, text: string): string[] {
  const chars = Array.from(text);
  const pieces: string[] = [];
  let i = 0;
  while (i < chars.length) {
    const size = rng.int(1, Math.max(1, Math.min(12, chars.length - i)));
    pieces.push(chars.slice(i, i + size).join(""));
    i += size;
  }
  return pieces;
}

type _Delta = ChatCompletionChunk["choices"][number]["delta"];

/**
 * One way of streaming a scenario. `canonical`: reasoning, then text, then tool calls one
 * after another (what a model emits). Otherwise the parallel tool calls' fragments are
 * interleaved at random and extra text/reasoning may follow complete tool calls.
 */
export function randomChunking(rng: Rng, s: Scenario, canonical: boolean): ChatCompletionChunk[] {
  const deltas: _Delta[] = [{ role: "assistant" }];
  for (const piece of randomSplit(rng, s.reasoning)) deltas.push({ reasoning_content: piece });
  for (const piece of randomSplit(rng, s.text)) deltas.push({ content: piece });
  const toolDeltas: ChatToolCallDelta[][] = s.tools.map((tool, index) => {
    const pieces = randomSplit(rng, tool.args);
    const first: ChatToolCallDelta = {
      index,
      id: tool.id,
      type: "function",
      function: { name: tool.name, arguments: rng.bool(0.5) ? (pieces.shift() ?? "") : "" },
    };
    return [first, ...pieces.map((piece) => ({ index, function: { arguments: piece } }))];
  });
  if (canonical) {
    for (const list of toolDeltas) for (const d of list) deltas.push({ tool_calls: [d] });
  } else {
    const queues = toolDeltas.map((list) => [...list]);
    while (queues.some((q) => q.length > 0)) {
      const live = queues.filter((q) => q.length > 0);
      const q = rng.pick(live);
      const batch = [q.shift()!];
      // Sometimes two calls' fragments share one chunk.
      const other = live.find((x) => x !== q && x.length > 0);
      if (other && rng.bool(0.2)) batch.push(other.shift()!);
      deltas.push({ tool_calls: batch });
    }
    // Text after complete tool calls (a model commenting on its calls).
    if (rng.bool(0.3)) deltas.push({ content: randomText(rng, 10) || "ok" });
  }
  // Empty pieces must never produce empty events.
  for (let i = rng.int(0, 2); i > 0; i--) deltas.splice(rng.int(1, deltas.length), 0, { content: "" });
  // Merge some neighbouring deltas of different kinds into one chunk.
  const merged: _Delta[] = [];
  for (const d of deltas) {
    const last = merged[merged.length - 1];
    const clash = last && Object.keys(d).some((k) => k in last);
    if (last && !clash && rng.bool(0.25)) Object.assign(last, d);
    else merged.push({ ...d });
  }
  const chunk = (delta: _Delta, finish: ChatFinishReason | null = null): ChatCompletionChunk => ({
    id: s.id,
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model: "test-model",
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  const chunks = merged.map((d) => chunk(d));
  const last = chunks[chunks.length - 1];
  if (rng.bool(0.3) && chunks.length > 1) last.choices[0].finish_reason = s.finish;
  else chunks.push(chunk({}, s.finish));
  if (s.matchedStop) chunks[chunks.length - 1].choices[0].stop_reason = s.matchedStop;
  if (s.usage) {
    chunks.push({
      id: s.id,
      object: "chat.completion.chunk",
      created: 1_700_000_000,
      model: "test-model",
      choices: [],
      usage: s.usage,
    });
  }
  return chunks;
}

/** A copy of `items` broken one way: one item dropped, duplicated or moved, or the stream cut short. */
export function breakStream<T>(rng: Rng, items: readonly T[]): T[] {
  const broken = [...items];
  const i = rng.int(0, broken.length - 1);
  const how = rng.int(0, 3);
  if (how === 0) broken.splice(i, 1);
  else if (how === 1) broken.splice(i, 0, broken[i]);
  else if (how === 2) broken.splice(rng.int(0, broken.length - 1), 0, ...broken.splice(i, 1));
  else broken.length = i;
  return broken;
}
