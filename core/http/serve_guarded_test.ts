import assert from "node:assert/strict";
import { serveGuarded } from "./serve_guarded.ts";

const encoder = new TextEncoder();

/** Reads until the server closes the connection; the text it sent. Fails (rather than hangs) after 20 s. */
async function readUntilClosed(conn: Deno.Conn): Promise<string> {
  const chunks: string[] = [];
  const buffer = new Uint8Array(4096);
  const guard = setTimeout(() => conn.close(), 20_000);
  try {
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) return chunks.join("");
      chunks.push(new TextDecoder().decode(buffer.subarray(0, n)));
    }
  } catch (error) {
    throw new Error(`the connection was not closed by the server: ${error}`);
  } finally {
    clearTimeout(guard);
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

function start(limits: Parameters<typeof serveGuarded>[0]["limits"]) {
  const seen: string[] = [];
  const server = serveGuarded({ hostname: "127.0.0.1", port: 0, limits }, async (request, info) => {
    seen.push((info.remoteAddr as Deno.NetAddr).hostname);
    const body = request.body ? await request.text().catch(() => "") : "";
    return new Response(`ok ${body.length}`);
  });
  return { server, seen, url: `http://127.0.0.1:${server.addr.port}` };
}

Deno.test("a connection that trickles its headers is closed; normal requests are served", async () => {
  const { server, seen, url } = start({ headerTimeoutMs: 200 });
  try {
    const slow = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await slow.write(encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n"));
    const answered = await (await fetch(`${url}/`, { method: "POST", body: "abc" })).text();
    assert.equal(answered, "ok 3");
    assert.equal(await readUntilClosed(slow), "", "closed without an answer");
    assert.equal(server.stats.closed.header_timeout, 1);
    assert.deepEqual(seen, ["127.0.0.1"], "the handler sees the client's address");
  } finally {
    await server.shutdown();
  }
});

Deno.test("an idle keep-alive connection is closed after its response", async () => {
  const { server } = start({ idleTimeoutMs: 200 });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await conn.write(encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const text = await readUntilClosed(conn);
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n[\s\S]*ok 0$/);
    assert.equal(server.stats.closed.idle_timeout, 1);
  } finally {
    await server.shutdown();
  }
});

Deno.test("a body that stops arriving is closed by the body timeout", async () => {
  const { server } = start({ bodyTimeoutMs: 200 });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await conn.write(encoder.encode("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"));
    assert.doesNotMatch(await readUntilClosed(conn), /ok/);
    assert.equal(server.stats.closed.body_timeout, 1);
  } finally {
    await server.shutdown();
  }
});

Deno.test("connections past the per-client cap are answered 429 and closed", async () => {
  const { server } = start({ maxPerClient: 2 });
  const held: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      held.push(await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }));
    }
    const extra = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await extra.write(encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const text = await readUntilClosed(extra);
    assert.match(text, /^HTTP\/1\.1 429 /);
    assert.match(text, /"code":"too_many_connections"/);
    assert.equal(server.stats.refused, 1);
  } finally {
    for (const conn of held) conn.close();
    await server.shutdown();
  }
});

Deno.test("a port already in use is refused naming the address", () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    assert.throws(
      () => serveGuarded({ hostname: "127.0.0.1", port }, () => new Response("x")),
      (error: Error) =>
        error.message.startsWith(`cannot listen on 127.0.0.1:${port}: the address is already in use`),
    );
  } finally {
    taken.close();
  }
});
