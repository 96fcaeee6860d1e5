/**
 * Property tests over 10,000+ generated streams: chunking invariance, exact character accounting,
 * call bookkeeping, and the known parse of every generated segment; plus random bytes.
 */
import assert from "node:assert/strict";
import {
  callIntegrityError,
  normalize,
  reconstruct,
  runChunks,
  type StreamParser,
} from "./_testing/events.ts";
import { parseJson } from "./_testing/json.ts";
import { Rng } from "./_testing/random.ts";
import { type Expected, type GeneratedStream, generateStream, STREAM_TOOLS } from "./_testing/stream_gen.ts";
import { AssistantStreamParser } from "./assistant_stream_parser.ts";
import type { AssistantStreamEvent } from "./events.ts";
import { ToolCallParser } from "./tool_call_parser.ts";

const STREAMS = 10_000;

function parserFor(
  stream: Pick<GeneratedStream, "assistant" | "startInThink" | "tools">,
): StreamParser<AssistantStreamEvent> {
  const options = { tools: stream.tools, generateId: (i: number) => `call_${i}` };
  return stream.assistant
    ? new AssistantStreamParser({ ...options, startInThink: stream.startInThink })
    : new ToolCallParser(options);
}

/** The parse outcome in the generator's terms: merged text and reasoning, ended calls, malformed blocks. */
function outcome(events: readonly AssistantStreamEvent[]): Expected[] {
  const out: Expected[] = [];
  for (const event of events) {
    const last = out[out.length - 1];
    if (event.type === "text" || event.type === "reasoning") {
      if (last?.kind === event.type) last.text += event.text;
      else out.push({ kind: event.type, text: event.text });
    } else if (event.type === "tool_call_end") {
      out.push({ kind: "call", name: event.name, args: parseJson(event.arguments) });
    } else if (event.type === "malformed") {
      out.push({ kind: "malformed", raw: event.raw });
    }
  }
  return out;
}

Deno.test(`stream property: ${STREAMS} generated streams, random chunkings down to one code unit`, () => {
  const counts = { calls: 0, malformed: 0, reasoning: 0, chunkings: 0, oneUnit: 0, chars: 0 };
  for (let seed = 1; seed <= STREAMS; seed++) {
    const stream = generateStream(seed);
    const rng = new Rng(seed ^ 0x5eed);
    const whole = runChunks(parserFor(stream), [stream.input]);
    const label = `seed ${seed}: ${JSON.stringify(stream.input)}`;
    assert.equal(callIntegrityError(whole), null, label);
    assert.equal(reconstruct(whole, stream.startInThink), stream.input, `${label}: characters lost`);
    assert.deepEqual(outcome(whole), stream.expected, label);
    const reference = normalize(whole);
    const chunkings = [rng.chunks(stream.input, 3), rng.chunks(stream.input, 16)];
    if (seed % 4 === 0) {
      chunkings.push(rng.chunks(stream.input, 1));
      counts.oneUnit++;
    }
    for (const chunks of chunkings) {
      const events = runChunks(parserFor(stream), chunks);
      assert.equal(callIntegrityError(events), null, label);
      assert.deepEqual(normalize(events), reference, `${label}: chunked ${JSON.stringify(chunks)}`);
      counts.chunkings++;
    }
    for (const item of stream.expected) {
      if (item.kind === "call") counts.calls++;
      else if (item.kind === "malformed") counts.malformed++;
      else if (item.kind === "reasoning") counts.reasoning++;
    }
    counts.chars += stream.input.length;
  }
  // The generator must actually exercise every kind of segment.
  assert.ok(
    counts.calls > 10_000 && counts.malformed > 3_000 && counts.reasoning > 1_000,
    JSON.stringify(counts),
  );
});

const BYTE_PIECES = [
  "<tool_call>",
  "</tool_call>",
  "<think>",
  "</think>",
  "<function=",
  "<parameter=",
  "</parameter>",
  "</function>",
  '{"name": "bash", "arguments": {',
  "{",
  "}",
  '"',
  "\\",
  "\n",
  ">",
  "<",
  "=",
  "a",
  "😀",
].map((piece) => new TextEncoder().encode(piece));

function randomBytes(rng: Rng): Uint8Array {
  const parts: number[] = [];
  for (let n = rng.int(60); n > 0; n--) {
    if (rng.chance(0.3)) parts.push(rng.int(256));
    else parts.push(...rng.pick(BYTE_PIECES));
  }
  return new Uint8Array(parts);
}

Deno.test("stream property: 3,000 random byte streams never throw and lose nothing", () => {
  for (let seed = 1; seed <= 3_000; seed++) {
    const rng = new Rng(seed);
    const bytes = randomBytes(rng);
    const text = new TextDecoder().decode(bytes);
    const decoder = new TextDecoder();
    const chunks: string[] = [];
    for (let i = 0; i < bytes.length;) {
      const size = 1 + rng.int(5);
      chunks.push(decoder.decode(bytes.subarray(i, i + size), { stream: true }));
      i += size;
    }
    chunks.push(decoder.decode());
    const startInThink = rng.chance(0.3);
    for (const assistant of [false, true]) {
      const tools = rng.chance(0.5) ? STREAM_TOOLS : undefined;
      const events = runChunks(parserFor({ assistant, startInThink, tools }), chunks);
      assert.equal(reconstruct(events, assistant && startInThink), text, `seed ${seed}`);
      assert.equal(callIntegrityError(events), null, `seed ${seed}`);
    }
  }
});
