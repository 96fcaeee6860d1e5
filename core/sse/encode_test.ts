import assert from "node:assert/strict";
import { encodeSse } from "./encode.ts";

Deno.test("the framing the three dialects use", () => {
  assert.equal(encodeSse({ data: '{"a":1}' }), 'data: {"a":1}\n\n');
  assert.equal(encodeSse({ data: "[DONE]" }), "data: [DONE]\n\n");
  assert.equal(
    encodeSse({ event: "message_stop", data: '{"type":"message_stop"}' }),
    'event: message_stop\ndata: {"type":"message_stop"}\n\n',
  );
  assert.equal(encodeSse({ comment: "keep-alive" }), ": keep-alive\n\n");
});

Deno.test("every field, in order; a line break in data or a comment starts a new line", () => {
  assert.equal(
    encodeSse({ retry: 10, id: "7", data: "a\nb\r\nc", event: "e", comment: "x\ny" }),
    ": x\n: y\nevent: e\ndata: a\ndata: b\ndata: c\nid: 7\nretry: 10\n\n",
  );
  assert.equal(encodeSse({ data: "" }), "data: \n\n");
});

Deno.test("a message with no faithful encoding is refused", () => {
  assert.throws(() => encodeSse({}), TypeError);
  assert.throws(() => encodeSse({ event: "a\nb", data: "x" }), /event cannot hold a line break/);
  assert.throws(() => encodeSse({ id: "1\r2" }), /id cannot hold a line break/);
  assert.throws(() => encodeSse({ retry: -1 }), /non-negative integer/);
  assert.throws(() => encodeSse({ retry: 1.5 }), /non-negative integer/);
});
