// Acceptance: a neuron that hangs (SIGSTOP: its socket still accepts, nothing answers) with
// requests in flight before and after their response headers. Every request ends in its
// dialect, or completes on another replica, while the neuron is still stopped; SIGCONT comes
// only at the end, to clean up. Real gateway and neuron processes only.
import assert from "node:assert/strict";
import { parseSse, type SseMessage } from "@cortex/core/sse";
import { type SpawnedNeuron, spawnNeuron } from "../../neuron/testing/spawn_neuron.ts";
import { type SpawnedGateway, spawnGateway } from "../testing/spawn_gateway.ts";
import { chat, havePlugin, post, TINY } from "./_fixtures.ts";

// Long enough that a request still waiting at this point waits for SIGCONT; far beyond both
// the header timeout and two poll intervals of the configs below.
const NO_SIGCONT_WAIT_MS = 20_000;

const LONG = 400; // tokens; at the neuron's test step delay a generation outlasts the test's steps

// The three streaming dialects and a non-streamed call, as bodies for the gateway.
const requests = {
  chatStream: () => ["/v1/chat/completions", chat("m", { max_tokens: LONG, stream: true })] as const,
  chatWhole: () => ["/v1/chat/completions", chat("m", { max_tokens: 4 })] as const,
  messagesStream: () =>
    [
      "/v1/messages",
      { model: "m", max_tokens: LONG, stream: true, messages: [{ role: "user", content: "Hello" }] },
    ] as const,
  responsesStream: () =>
    ["/v1/responses", { model: "m", input: "Hello", max_output_tokens: LONG, stream: true }] as const,
};

type Kind = keyof typeof requests;

interface Ended {
  kind: Kind;
  status: number;
  node: string | null;
  text: string;
}

// Sends a request and reads it to its end; rejects if that takes NO_SIGCONT_WAIT_MS.
function send(gateway: SpawnedGateway, kind: Kind): { headers: Promise<Response>; ended: Promise<Ended> } {
  const [path, body] = requests[kind]();
  const headers = post(`${gateway.url}${path}`, body);
  const ended = (async () => {
    const res = await headers;
    const text = await res.text();
    return { kind, status: res.status, node: res.headers.get("x-cortex-node"), text };
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${kind}: still waiting ${NO_SIGCONT_WAIT_MS} ms after the neuron hung`)),
      NO_SIGCONT_WAIT_MS,
    );
  });
  return { headers, ended: Promise.race([ended, deadline]).finally(() => clearTimeout(timer)) };
}

// Waits until the neuron runs `running` requests and queues `queued` (asked directly, before SIGSTOP).
async function waitForLoad(neuron: SpawnedNeuron, running: number, queued: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const health = await (await fetch(`${neuron.url}/health`)).json();
    const m = health.models.find((x: { id: string }) => x.id === "m");
    if (m && m.in_flight === running && m.queue_depth === queued) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the neuron never ran ${running} and queued ${queued}`);
}

// The last non-comment SSE event of a stream.
function lastEvent(text: string): SseMessage {
  return parseSse(text).filter((m) => m.data !== undefined).at(-1) ?? {};
}

// Asserts a stream that had begun ended with its dialect's error event.
function assertStreamFailed(ended: Ended): void {
  assert.equal(ended.status, 200, ended.kind);
  const last = lastEvent(ended.text);
  const shown = `${ended.kind}: ${JSON.stringify(last)}`;
  if (ended.kind === "chatStream") {
    assert.equal(last.event, undefined, shown);
    assert.match(last.data ?? "", /^\{"error":/, shown);
    assert.ok(!ended.text.includes("[DONE]"), "no [DONE] after a failure");
  } else if (ended.kind === "messagesStream") {
    assert.equal(last.event, "error", shown);
    assert.match(last.data ?? "", /^\{"type":"error","error":\{/, shown);
  } else {
    assert.equal(last.event, "response.failed", shown);
  }
}

// Asserts a request completed normally (whole JSON or a stream with its dialect's end).
function assertCompleted(ended: Ended): void {
  assert.equal(ended.status, 200, `${ended.kind}: ${ended.text.slice(0, 300)}`);
  const last = lastEvent(ended.text);
  if (ended.kind === "chatWhole") assert.equal(JSON.parse(ended.text).object, "chat.completion");
  else if (ended.kind === "chatStream") assert.deepEqual(last, { data: "[DONE]" });
  else if (ended.kind === "messagesStream") assert.equal(last.event, "message_stop");
  else assert.match(last.event ?? "", /^response\.(completed|incomplete)$/); // incomplete: max_output_tokens
}

Deno.test({
  name: "acceptance: a hung neuron's streams end in their dialect; calls still waiting move to a replica",
  ignore: !havePlugin(),
  async fn() {
    // Three seats, so that a stream of each dialect is past its headers while more wait in the queue.
    const n1 = await spawnNeuron({
      models: { m: TINY.f32 },
      admission: { max_in_flight: 3, max_queue: 8, max_wait_s: 120 },
      testStepDelayMs: 30,
    });
    const n2 = await spawnNeuron({ models: { m: TINY.f32 }, defaultModels: [] });
    // Header and idle timeouts far off: here the poller's verdict must end the calls.
    const gateway = await spawnGateway({
      neurons: [{ name: "n1", endpoint: n1.url }, { name: "n2", endpoint: n2.url }],
      gateway: { upstream_header_timeout_s: 60, upstream_idle_timeout_s: 60 },
      poller: { interval_s: 0.25, timeout_s: 0.5, unhealthy_after: 2 },
    });
    let stopped = false;
    try {
      await gateway.waitFor(async () => (await gateway.fleet()).nodes.every((n) => n.healthy));
      // Past their headers on n1 (the only warm replica): one stream per dialect, first bytes read.
      const running = (["chatStream", "messagesStream", "responsesStream"] as const).map((k) =>
        send(gateway, k)
      );
      for (const r of running) assert.equal((await r.headers).headers.get("x-cortex-node"), "n1");
      // Queued on n1 behind them, so before their headers.
      const waiting = (["chatWhole", "chatStream", "messagesStream", "responsesStream"] as const).map((k) =>
        send(gateway, k)
      );
      await waitForLoad(n1, 3, 4);
      // A replica appears that holds the model.
      const load = await post(`${gateway.url}/admin/load`, { model: "m", node: "n2" });
      assert.equal(load.status, 200, await load.clone().text());
      await gateway.waitFor(async () =>
        (await gateway.fleet()).nodes.find((n) => n.name === "n2")!.models.some((m) =>
          m.id === "m" && m.status === "loaded"
        )
      );

      n1.process.kill("SIGSTOP");
      stopped = true;
      const [ran, moved] = await Promise.all([
        Promise.all(running.map((r) => r.ended)),
        Promise.all(waiting.map((r) => r.ended)),
      ]);
      for (const ended of ran) assertStreamFailed(ended);
      for (const ended of moved) {
        assertCompleted(ended);
        assert.equal(ended.node, "n2", `${ended.kind} was retried on the replica`);
      }
      const n1State = (await gateway.fleet()).nodes.find((n) => n.name === "n1")!;
      assert.equal(n1State.healthy, false);
      assert.match(gateway.stderr(), /node_unhealthy node=n1 /);
    } finally {
      if (stopped) n1.process.kill("SIGCONT");
      await gateway.stop();
      await Promise.all([n1.stop(), n2.stop()]);
    }
  },
});

Deno.test({
  name:
    "acceptance: with no replica and a slow poller, the header, total and idle bounds end a hung neuron's calls",
  ignore: !havePlugin(),
  async fn() {
    const n1 = await spawnNeuron({
      models: { m: TINY.f32 },
      admission: { max_in_flight: 1, max_queue: 8, max_wait_s: 120 },
      testStepDelayMs: 30,
    });
    // The poller would take a minute to give up on the node: the call bounds must act first.
    const gateway = await spawnGateway({
      neurons: [{ name: "n1", endpoint: n1.url }],
      gateway: { upstream_header_timeout_s: 2, upstream_total_timeout_s: 3, upstream_idle_timeout_s: 2 },
      poller: { interval_s: 30, timeout_s: 0.5, unhealthy_after: 2 },
    });
    let stopped = false;
    try {
      await gateway.waitFor(async () => (await gateway.fleet()).nodes.every((n) => n.healthy));
      const running = send(gateway, "chatStream");
      assert.equal((await running.headers).status, 200);
      const waiting = (["chatWhole", "messagesStream", "responsesStream"] as const).map((k) =>
        send(gateway, k)
      );
      await waitForLoad(n1, 1, 3);
      n1.process.kill("SIGSTOP");
      stopped = true;

      // Past its headers: the silence outlasts the idle timeout; the dialect's error event.
      const ran = await running.ended;
      assertStreamFailed(ran);
      assert.match(lastEvent(ran.text).data ?? "", /"code":"upstream_timeout"/);

      const [whole, messages, responses] = await Promise.all(waiting.map((r) => r.ended));
      // Not streamed: the total deadline, in the OpenAI envelope.
      assert.equal(whole.status, 504, whole.text);
      const wholeError = JSON.parse(whole.text).error;
      assert.equal(wholeError.code, "upstream_timeout");
      assert.match(wholeError.message, /upstream_total_timeout_s/);
      // Streamed, before headers: the header timeout, in each dialect's envelope.
      assert.equal(messages.status, 504, messages.text);
      const anthropic = JSON.parse(messages.text);
      assert.equal(anthropic.type, "error");
      assert.match(anthropic.error.message, /upstream_header_timeout_s/);
      assert.equal(responses.status, 504, responses.text);
      assert.equal(JSON.parse(responses.text).error.code, "upstream_timeout");
    } finally {
      if (stopped) n1.process.kill("SIGCONT");
      await gateway.stop();
      await n1.stop();
    }
  },
});
