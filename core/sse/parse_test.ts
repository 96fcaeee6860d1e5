import assert from "node:assert/strict";
import type { SseMessage } from "./message.ts";
import { parseSse, SseDecoderStream, SseParser } from "./parse.ts";

const enc = new TextEncoder();

Deno.test("LF, CRLF and CR line ends, multi-line data, comments, id and retry", () => {
  const text = "event: a\r\ndata: 1\r\ndata: 2\r\n\r\n: keep-alive\n\ndata: x\rdata: y\r\r" +
    "id: 9\ndata:z\nretry: 1500\n\n";
  assert.deepEqual(parseSse(text), [
    { event: "a", data: "1\n2" },
    { comment: "keep-alive" },
    { data: "x\ny" },
    { id: "9", data: "z", retry: 1500 },
  ]);
});

Deno.test("field lines follow EventSource: one space dropped, bare names, unknown fields and bad retry ignored", () => {
  assert.deepEqual(parseSse("data:  two spaces\n\n"), [{ data: " two spaces" }]);
  assert.deepEqual(parseSse("data\ndata\n\n"), [{ data: "\n" }]);
  assert.deepEqual(parseSse("data: a:b: c\n\n"), [{ data: "a:b: c" }]);
  assert.deepEqual(parseSse("foo: bar\nretry: 1.5\nretry: x\ndata: ok\n\n"), [{ data: "ok" }]);
  assert.deepEqual(parseSse("foo: bar\n\n"), [], "a block of unknown fields is no message");
  assert.deepEqual(parseSse("\n\n\n"), []);
});

Deno.test("a byte-order mark opens no line; only the first is dropped", () => {
  assert.deepEqual(parseSse("\ufeffdata: x\n\n"), [{ data: "x" }]);
  const parser = new SseParser();
  const bytes = enc.encode("\ufeffdata: \ufeffx\n\n");
  assert.deepEqual([...parser.push(bytes.slice(0, 2)), ...parser.push(bytes.slice(2)), ...parser.end()], [{
    data: "\ufeffx",
  }]);
});

Deno.test("a message the stream ends without its blank line is delivered by end()", () => {
  const parser = new SseParser();
  assert.deepEqual(parser.push("data: {}\n\ndata: partial"), [{ data: "{}" }]);
  assert.deepEqual(parser.end(), [{ data: "partial" }]);
  assert.deepEqual(parser.end(), [], "nothing twice");
  assert.deepEqual(parseSse("data: a\r"), [{ data: "a" }]);
});

Deno.test("pieces cut at every byte (inside CRLF and inside UTF-8 characters) parse the same", () => {
  const text = 'data: {"a":1}\r\n\r\nevent: x\rdata: é 漢 🙂\r\n: ka\r\rdata: [DONE]\n\n';
  const expected = parseSse(text);
  assert.deepEqual(expected, [
    { data: '{"a":1}' },
    { event: "x", data: "é 漢 🙂", comment: "ka" },
    { data: "[DONE]" },
  ]);
  const bytes = enc.encode(text);
  for (let cut = 0; cut <= bytes.length; cut++) {
    for (const step of [1, 2, 3, 7]) {
      const parser = new SseParser();
      const got: SseMessage[] = [...parser.push(bytes.slice(0, cut))];
      for (let i = cut; i < bytes.length; i += step) got.push(...parser.push(bytes.slice(i, i + step)));
      got.push(...parser.end());
      assert.deepEqual(got, expected, `cut ${cut} step ${step}`);
    }
    const parser = new SseParser();
    const asText = [...parser.push(text.slice(0, cut)), ...parser.push(text.slice(cut)), ...parser.end()];
    assert.deepEqual(asText, expected, `text cut ${cut}`);
  }
});

Deno.test("SseDecoderStream reads a response body", async () => {
  const body = new Response("data: 1\n\n: ping\n\ndata: 2").body!;
  const messages = await Array.fromAsync(body.pipeThrough(new SseDecoderStream()));
  assert.deepEqual(messages, [{ data: "1" }, { comment: "ping" }, { data: "2" }]);
});
