// `cortex chat`: Ctrl-C (SIGINT) stops the reply being streamed without leaving the chat.
// The neuron pauses after every decode step (its test hook), so a reply is still streaming
// when the signal arrives.
import assert from "node:assert/strict";
import { encodeSse } from "@cortex/core/sse";
import { spawnGateway } from "../gateway/testing/spawn_gateway.ts";
import { spawnNeuron, TINY_QWEN3 } from "../neuron/testing/spawn_neuron.ts";
import { _cliEnv, runTask } from "./_test_helpers.ts";
import { REPO_ROOT } from "./service.ts";

Deno.test("cortex chat: SIGINT stops the streaming reply, which is not kept; the chat goes on, /exit leaves with 0", async () => {
  const neuron = await spawnNeuron({ models: { tiny: TINY_QWEN3 }, testStepDelayMs: 40 });
  const gateway = await spawnGateway({ neurons: [{ name: "local", endpoint: neuron.url }] });
  try {
    await gateway.waitFor(async () => (await gateway.fleet()).nodes[0].healthy, 20_000, "a healthy node");
    const sampling = { max_tokens: 60, temperature: 1.5, seed: 11 };
    const direct = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "Hello" }], ...sampling }),
    });
    const full: string = (await direct.json()).choices[0].message.content.trim();

    const child = new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "cortex", "chat", "tiny", "--gateway", gateway.url, "--max-tokens", "60"]
        .concat(["--temperature", "1.5", "--seed", "11"]),
      cwd: REPO_ROOT,
      clearEnv: true,
      env: _cliEnv(),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let out = "";
    const pumped = (async () => {
      for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) out += text;
    })();
    const stderr = new Response(child.stderr).text();
    const stdin = child.stdin.getWriter();
    await stdin.write(new TextEncoder().encode("Hello\n"));
    const deadline = Date.now() + 20_000;
    while (out.trim().length === 0) {
      assert.ok(Date.now() < deadline, "the reply started");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill("SIGINT");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stoppedAt = out.length;
    // The stopped turn is not kept: asking again sends the same one-message conversation, so the
    // same seed gives the whole reply the first request would have given.
    await stdin.write(new TextEncoder().encode("Hello\n"));
    while (!out.slice(stoppedAt).includes(full)) {
      assert.ok(Date.now() < deadline + 20_000, `the second reply is the full one: ${JSON.stringify(out)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await stdin.write(new TextEncoder().encode("/exit\n"));
    await stdin.close();
    const status = await child.status;
    await pumped;
    assert.equal(status.code, 0, `left through /exit, not killed by the signal: ${await stderr}`);
    const partial = out.slice(0, stoppedAt).trim();
    assert.ok(
      partial.length > 0 && partial.length < full.length,
      `stopped early: ${JSON.stringify(partial)}`,
    );
    assert.ok(full.startsWith(partial), `what arrived is the start of the reply: ${JSON.stringify(partial)}`);
  } finally {
    await gateway.stop();
    await neuron.stop();
  }
});

Deno.test("cortex chat --think asks for reasoning and shows it (a gateway test double: no model here reasons)", async () => {
  // TEST DOUBLE of the gateway: the tiny fixtures never open a <think> block, so a scripted stream
  // stands in for a reasoning model; it records what the CLI sent.
  const bodies: Record<string, unknown>[] = [];
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    encodeSse({
      data: JSON.stringify({
        id: "c",
        object: "chat.completion.chunk",
        created: 0,
        model: "thinker",
        choices: [{ index: 0, delta, finish_reason: finish }],
      }),
    });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    if (request.method === "GET") {
      return Response.json({ id: "thinker", object: "model", created: 0, owned_by: "x" });
    }
    bodies.push(await request.json());
    const sse = chunk({ role: "assistant", reasoning_content: "weighing the greeting" }) +
      chunk({ content: "Hi there" }) + chunk({}, "stop") + encodeSse({ data: "[DONE]" });
    return new Response(sse, { headers: { "content-type": "text/event-stream" } });
  });
  try {
    const gatewayUrl = `http://127.0.0.1:${server.addr.port}`;
    const output = await runTask("cortex", ["chat", "thinker", "--gateway", gatewayUrl, "--think"], {
      stdin: "Hello\n",
    });
    const out = output.stdout;
    assert.equal(output.code, 0, output.stderr);
    assert.equal(bodies[0].reasoning_effort, "medium");
    assert.ok(out.includes("weighing the greeting") && out.includes("Hi there"), JSON.stringify(out));
    assert.ok(out.indexOf("weighing") < out.indexOf("Hi there"), "reasoning first");
  } finally {
    await server.shutdown();
  }
});
