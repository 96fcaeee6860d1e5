// The neuron's observability against a real process: one JSON log line per request under the
// gateway's x-request-id (echoed in the response), Prometheus /metrics behind the bearer token
// with token, batch, prefix-cache and cortex_tool_calls_total series, and a failed load that
// leaves no lasting entry.
import assert from "node:assert/strict";
import { modelEntry, postForJson } from "./testing/http.ts";
import { killOnUnload, spawnNeuron, TINY_QWEN3 } from "./testing/spawn_neuron.ts";

const token = "obs-test-token";
const neuron = await spawnNeuron({
  models: { tiny: TINY_QWEN3, ghost: "/nonexistent/model/folder" },
  defaultModels: ["tiny"],
  token,
  failedLoadTtlS: 0,
  log: { format: "json", level: "info" },
});
killOnUnload(neuron);
const opts = { sanitizeResources: false, sanitizeOps: false };
const auth = { authorization: `Bearer ${token}` };

/** The JSON `request` lines the neuron wrote so far. */
function requestLines(): Record<string, unknown>[] {
  return neuron.output().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l))
    .filter((l) => l.event === "request");
}

Deno.test({
  name: "request log: one JSON line per request under the given x-request-id, echoed in the response",
  ...opts,
  fn: async () => {
    const response = await fetch(`${neuron.url}/v1/chat/completions`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json", "x-request-id": "neuron-obs-1" },
      body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "Hi" }], max_tokens: 4 }),
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-request-id"), "neuron-obs-1");
    await response.json();
    const streamed = await fetch(`${neuron.url}/v1/chat/completions`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({
        model: "tiny",
        messages: [{ role: "user", content: "Hi" }],
        max_tokens: 3,
        stream: true,
      }),
    });
    const generated = streamed.headers.get("x-request-id");
    assert.match(generated ?? "", /^[0-9a-f-]{36}$/, "an id is made when none is given");
    await streamed.text();
    const missing = await fetch(`${neuron.url}/v1/chat/completions`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json", "x-request-id": "neuron-obs-2" },
      body: JSON.stringify({ model: "nope", messages: [{ role: "user", content: "Hi" }] }),
    });
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    // The line is written once the last byte has gone; give the process a moment to flush stderr.
    const deadline = Date.now() + 5000;
    while (requestLines().filter((l) => String(l.request_id).startsWith("neuron-obs")).length < 2) {
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const lines = requestLines();
    const one = lines.filter((l) => l.request_id === "neuron-obs-1");
    assert.equal(one.length, 1, neuron.output());
    assert.equal(one[0].component, "neuron");
    assert.equal(one[0].model, "tiny");
    assert.equal(one[0].status, 200);
    assert.equal(one[0].stream, false);
    assert.ok((one[0].prompt_tokens as number) > 0);
    assert.ok((one[0].completion_tokens as number) > 0);
    assert.equal(typeof one[0].ttft_ms, "number");
    assert.ok(["stop", "length"].includes(one[0].finish_reason as string));
    assert.ok(!("prompt" in one[0]), "no prompt text unless [log] prompts = true");
    const stream = lines.find((l) => l.request_id === generated);
    assert.equal(stream?.stream, true);
    assert.equal(stream?.completion_tokens, 3);
    const notFound = lines.find((l) => l.request_id === "neuron-obs-2");
    assert.equal(notFound?.status, 404);
    assert.equal(notFound?.error, "model_not_found");
    assert.ok(!lines.some((l) => l.path === "/health"), "polls are debug lines");
  },
});

Deno.test({
  name: "/metrics: behind the token; tokens, queue, batch, prefix cache, tool calls and memory in bytes",
  ...opts,
  fn: async () => {
    const refused = await fetch(`${neuron.url}/metrics`);
    assert.equal(refused.status, 401);
    await refused.body?.cancel();
    const response = await fetch(`${neuron.url}/metrics`, { headers: auth });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
    const text = await response.text();
    const value = (series: string): number => {
      const line = text.split("\n").find((l) => l.startsWith(series + " "));
      assert.ok(line, `${series} in\n${text}`);
      return Number(line.slice(series.length + 1));
    };
    assert.ok(value('cortex_neuron_completion_tokens_total{model="tiny"}') > 0);
    assert.ok(value('cortex_neuron_prompt_tokens_total{model="tiny"}') > 0);
    assert.ok(value('cortex_neuron_generations_total{model="tiny"}') >= 2);
    assert.equal(value('cortex_neuron_queued_requests{model="tiny"}'), 0);
    assert.equal(value('cortex_neuron_batch_size{model="tiny"}'), 0);
    assert.ok(value('cortex_neuron_engine_steps_total{model="tiny"}') > 0);
    assert.ok(
      value('cortex_neuron_step_sequences_total{model="tiny"}') >=
        value('cortex_neuron_engine_steps_total{model="tiny"}'),
    );
    assert.ok(value('cortex_neuron_prefix_cache_lookups_total{model="tiny"}') >= 2);
    assert.ok(value('cortex_neuron_prefix_cache_hits_total{model="tiny"}') >= 1, "the same prompt twice");
    assert.ok(value('cortex_neuron_prefix_cache_held_bytes{model="tiny"}') > 0);
    assert.equal(value('cortex_tool_calls_total{model="tiny",format="json",outcome="ok"}'), 0);
    assert.equal(value('cortex_tool_calls_total{model="tiny",format="xml",outcome="unknown_tool"}'), 0);
    assert.equal(value('cortex_neuron_device_memory_total_bytes{device="0",backend="cpu"}') % 2 ** 20, 0);
    assert.doesNotMatch(text, /_mb[{ ]/);
  },
});

Deno.test({
  name: "failed load: answered with its error, then no entry is left in /models (failed_load_ttl_s = 0)",
  ...opts,
  fn: async () => {
    const load = await postForJson(`${neuron.url}/models/load`, { model_id: "ghost" }, auth);
    assert.equal(load.status, 422, JSON.stringify(load.body));
    const ghost = await modelEntry(neuron.url, "ghost", auth);
    assert.equal(ghost?.status, "available", "listed as configured, not as a lasting failure");
    const hub = await postForJson(`${neuron.url}/models/load`, { model_id: "nobody/nothing" }, auth);
    assert.ok(hub.status >= 400);
    assert.equal(await modelEntry(neuron.url, "nobody/nothing", auth), undefined);
  },
});
