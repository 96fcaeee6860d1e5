import assert from "node:assert/strict";
import { CliError } from "./cli_error.ts";
import { GatewayClient, gatewayError, normaliseGatewayUrl } from "./client.ts";

Deno.test("normaliseGatewayUrl: adds http://, drops trailing slashes, rejects other schemes", () => {
  assert.equal(normaliseGatewayUrl("10.0.0.2:31313/"), "http://10.0.0.2:31313");
  assert.equal(normaliseGatewayUrl("https://gw.example/cortex//"), "https://gw.example/cortex");
  assert.equal(normaliseGatewayUrl(" http://localhost:31313 "), "http://localhost:31313");
  assert.throws(() => normaliseGatewayUrl("ftp://x"), /expected an http\(s\) URL/);
  assert.throws(() => normaliseGatewayUrl("http://"), /is not a URL/);
});

Deno.test("gatewayError: status and error envelope become a code, the gateway's message and a hint", async () => {
  const envelope = (status: number, code: string, message: string): Response =>
    new Response(JSON.stringify({ error: { message, type: "x", code } }), { status });
  const cases: [Response, string, RegExp, RegExp][] = [
    [
      envelope(401, "invalid_api_key", "missing key"),
      "unauthorized",
      /: 401 invalid_api_key: missing key$/,
      /CORTEX_API_KEY/,
    ],
    [envelope(403, "forbidden", "not admin"), "forbidden", /403/, /admin key/],
    [
      envelope(404, "model_not_found", "model 'x' not found"),
      "model_not_found",
      /model 'x'/,
      /cortex models/,
    ],
    [new Response("Not Found", { status: 404 }), "gateway_error", /404: Not Found$/, /cortex gateway/],
    [
      envelope(502, "upstream_error", "neuron down"),
      "gateway_error",
      /502 upstream_error: neuron down/,
      /log/,
    ],
  ];
  for (const [response, code, message, hint] of cases) {
    const error = await gatewayError(response, "GET /x");
    assert.ok(error instanceof CliError);
    assert.equal(error.code, code);
    assert.match(error.message, /^GET \/x: /);
    assert.match(error.message, message);
    assert.match(error.hint, hint);
    assert.equal(error.line().includes("\n"), false);
  }
});

Deno.test("GatewayClient: sends the API key as a bearer token and JSON bodies; errors are CliErrors", async () => {
  const seen: { auth: string | null; body: string }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    seen.push({ auth: req.headers.get("authorization"), body: await req.text() });
    return req.method === "POST"
      ? Response.json({ ok: true })
      : Response.json({ error: { message: "nope", code: "invalid_api_key" } }, { status: 401 });
  });
  try {
    const client = new GatewayClient(`http://127.0.0.1:${server.addr.port}`, "sk-test-123");
    assert.deepEqual(await client.postJson("/admin/load", { model: "m" }), { ok: true });
    await assert.rejects(() => client.getJson("/admin/fleet"), (error: unknown) => {
      assert.ok(error instanceof CliError);
      assert.equal(error.code, "unauthorized");
      return true;
    });
    assert.deepEqual(seen, [{ auth: "Bearer sk-test-123", body: '{"model":"m"}' }, {
      auth: "Bearer sk-test-123",
      body: "",
    }]);
    const anonymous = new GatewayClient(`http://127.0.0.1:${server.addr.port}`, null);
    await anonymous.postJson("/x", {});
    assert.equal(seen[2].auth, null);
  } finally {
    await server.shutdown();
  }
});
