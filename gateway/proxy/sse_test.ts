import assert from "node:assert/strict";
import { formatSseEvent, parseSseEvent, SseSplitter } from "./sse.ts";

const enc = new TextEncoder();

Deno.test("events split at any byte boundary reassemble exactly, with \\n and \\r\\n framing", () => {
  const text =
    'data: {"a":1}\n\nevent: x\ndata: two\ndata: lines\n\n: keep-alive\n\ndata: é\r\n\r\ndata: [DONE]\n\n';
  const bytes = enc.encode(text);
  for (let cut = 0; cut <= bytes.length; cut++) {
    for (const step of [1, 3, 7]) {
      const splitter = new SseSplitter();
      const events = [];
      events.push(...splitter.push(bytes.slice(0, cut)));
      for (let i = cut; i < bytes.length; i += step) events.push(...splitter.push(bytes.slice(i, i + step)));
      assert.equal(events.map((e) => e.raw).join("") + splitter.rest(), text);
      assert.deepEqual(events.map((e) => e.data), ['{"a":1}', "two\nlines", null, "é", "[DONE]"]);
      assert.equal(events[1].event, "x");
    }
  }
});

Deno.test("an unterminated event stays in rest()", () => {
  const splitter = new SseSplitter();
  assert.deepEqual(splitter.push(enc.encode("data: partial")), []);
  assert.equal(splitter.rest(), "data: partial");
});

Deno.test("formatSseEvent round-trips through parseSseEvent", () => {
  const raw = formatSseEvent("message_stop", { type: "message_stop" });
  assert.equal(raw, 'event: message_stop\ndata: {"type":"message_stop"}\n\n');
  assert.deepEqual(parseSseEvent(raw).data, '{"type":"message_stop"}');
  assert.equal(formatSseEvent(null, "[DONE]"), "data: [DONE]\n\n");
});
