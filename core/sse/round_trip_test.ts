// Property test: parse(encode(messages)) gives the messages back, however the encoded stream
// is cut into pieces and whichever line end it is written with.
import assert from "node:assert/strict";
import { randomText, Rng } from "../translate/_test_gen.ts";
import { encodeSse } from "./encode.ts";
import type { SseMessage } from "./message.ts";
import { SseParser } from "./parse.ts";

const enc = new TextEncoder();

// Text without line breaks (for event and id), with colons, spaces and multi-byte characters.
function oneLine(rng: Rng): string {
  return randomText(rng, 12).replaceAll("\n", " ");
}

function randomMessage(rng: Rng): SseMessage {
  for (;;) {
    const message: SseMessage = {};
    if (rng.bool(0.2)) message.comment = randomText(rng, 20);
    if (rng.bool(0.4)) message.event = oneLine(rng);
    if (rng.bool(0.8)) {
      message.data = rng.bool(0.3) ? JSON.stringify({ t: randomText(rng) }) : randomText(rng);
    }
    if (rng.bool(0.1)) message.id = oneLine(rng);
    if (rng.bool(0.05)) message.retry = rng.int(0, 100_000);
    if (Object.keys(message).length > 0) return message;
  }
}

// Feeds `bytes` to a parser in random pieces (some empty, some one byte).
function parsePieces(rng: Rng, bytes: Uint8Array): SseMessage[] {
  const parser = new SseParser();
  const out: SseMessage[] = [];
  for (let at = 0; at < bytes.length;) {
    const size = rng.pick([0, 1, 1, 2, 3, 5, 16, 64, 1024]);
    out.push(...parser.push(bytes.subarray(at, at + size)));
    at += size;
  }
  out.push(...parser.end());
  return out;
}

Deno.test("2,000 random streams round-trip through any cuts and any line end", () => {
  for (let seed = 1; seed <= 2000; seed++) {
    const rng = new Rng(seed);
    const messages = Array.from({ length: rng.int(1, 8) }, () => randomMessage(rng));
    const lineEnd = rng.pick(["\n", "\r\n", "\r"]);
    const text = messages.map(encodeSse).join("").replaceAll("\n", lineEnd);
    const got = parsePieces(rng, enc.encode(text));
    assert.deepEqual(got, messages, `seed ${seed}: ${JSON.stringify(text)}`);
  }
});
