import assert from "node:assert/strict";
import { CortexError } from "../errors/cortex_error.ts";
import { parseJsonBytes, readBody } from "./read_body.ts";

async function rejection(promise: Promise<unknown>): Promise<CortexError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CortexError);
    return error;
  }
  throw new Error("expected a rejection");
}

/** A chunked body of `chunks` chunks of `size` bytes that records how many were pulled. */
function countingBody(
  chunks: number,
  size: number,
): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (cancelled || pulled === chunks) return controller.close();
      pulled++;
      controller.enqueue(new Uint8Array(size).fill(0x61));
    },
    cancel() {
      cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { stream, pulled: () => pulled };
}

Deno.test("readBody returns the bytes of a body under the limit", async () => {
  const bytes = await readBody(new Request("http://x/", { method: "POST", body: '{"model":"m"}' }), {
    limitBytes: 1024,
  });
  assert.equal(new TextDecoder().decode(bytes), '{"model":"m"}');
  const empty = await readBody(new Request("http://x/"), { limitBytes: 1 });
  assert.equal(empty.byteLength, 0);
});

Deno.test("readBody stops at the limit without reading the rest of a streamed body", async () => {
  const { stream, pulled } = countingBody(1000, 1024);
  const request = new Request("http://x/", { method: "POST", body: stream });
  const error = await rejection(readBody(request, { limitBytes: 10 * 1024, limitSource: "[x] y" }));
  assert.equal(error.status, 413);
  assert.equal(error.code, "request_too_large");
  assert.match(error.message, /more than 11264 bytes; the limit is 10240 bytes \(\[x\] y\)/);
  assert.ok(pulled() <= 12, `read ${pulled()} of 1000 chunks`);
});

Deno.test("readBody refuses a declared content-length over the limit before reading", async () => {
  const { stream, pulled } = countingBody(4, 1024);
  const request = new Request("http://x/", {
    method: "POST",
    body: stream,
    headers: { "content-length": "4096" },
  });
  const error = await rejection(readBody(request, { limitBytes: 1024 }));
  assert.equal(error.status, 413);
  assert.equal(pulled(), 0);
});

Deno.test("parseJsonBytes: a 400 malformed_json for text that is not JSON", () => {
  assert.deepEqual(parseJsonBytes(new TextEncoder().encode('{"a":[1]}')), { a: [1] });
  assert.throws(
    () => parseJsonBytes(new TextEncoder().encode("{nope")),
    (e: CortexError) => e.code === "malformed_json" && e.status === 400,
  );
});
