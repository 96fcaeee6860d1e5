import assert from "node:assert/strict";
import {
  decodeChatCompletionStream,
  encodeSseComment,
  encodeSseEvent,
  SseDecoderStream,
  type SseMessage,
} from "./sse.ts";

async function decode(pieces: string[]): Promise<SseMessage[]> {
  const out: SseMessage[] = [];
  for await (const m of ReadableStream.from(pieces).pipeThrough(new SseDecoderStream())) out.push(m);
  return out;
}

Deno.test("SSE decoding handles LF, CRLF and CR, multi-line data, comments and arbitrary splits", async () => {
  const text = "event: a\r\ndata: 1\r\ndata: 2\r\n\r\n: keep-alive\n\ndata: x\rdata: y\r\r" +
    "id: 9\ndata:z\n\n";
  const expected: SseMessage[] = [
    { event: "a", data: "1\n2", id: null, comment: null },
    { event: null, data: null, id: null, comment: "keep-alive" },
    { event: null, data: "x\ny", id: null, comment: null },
    { event: null, data: "z", id: "9", comment: null },
  ];
  assert.deepEqual(await decode([text]), expected);
  for (let cut = 1; cut < text.length; cut++) {
    assert.deepEqual(await decode([text.slice(0, cut), text.slice(cut)]), expected, `split at ${cut}`);
  }
  assert.deepEqual(await decode([...text]), expected, "one character at a time");
});

Deno.test("chat stream decoding stops at [DONE] and skips malformed frames", async () => {
  const chunk = { id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [] };
  const body = `data: ${JSON.stringify(chunk)}\n\ndata: not json\n\n: ping\n\ndata: [DONE]\n\ndata: ${
    JSON.stringify(chunk)
  }\n\n`;
  const bytes = ReadableStream.from([new TextEncoder().encode(body)]);
  const chunks = await Array.fromAsync(decodeChatCompletionStream(bytes));
  assert.equal(chunks.length, 1);
  assert.equal(chunks[0].id, "c");
});

Deno.test("SSE encoders produce named events and comments", () => {
  assert.equal(encodeSseEvent({ type: "ping" }), 'event: ping\ndata: {"type":"ping"}\n\n');
  assert.equal(encodeSseComment(), ": keep-alive\n\n");
});
