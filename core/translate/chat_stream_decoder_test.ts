import assert from "node:assert/strict";
import { decodeChatCompletionStream } from "./chat_stream_decoder.ts";

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
