import assert from "node:assert/strict";
import { parseSse } from "@cortex/core/sse";
import { spawnNeuronDouble } from "./neuron_double.ts";

Deno.test("neuron double: control API, a scripted tool call streamed, text after the tool result, refusals", async () => {
  const double = await spawnNeuronDouble({
    model: "scripted",
    answer: (req) =>
      req.messages.at(-1)?.role === "tool"
        ? { text: "done" }
        : { toolCall: { name: "shell", arguments: { command: "true" } } },
  });
  try {
    const models = await (await fetch(`${double.url}/models`)).json();
    assert.equal(models[0].id, "scripted");
    assert.equal(models[0].status, "loaded");
    const health = await (await fetch(`${double.url}/health`)).json();
    assert.equal(health.models[0].id, "scripted");
    assert.equal((await (await fetch(`${double.url}/discovery`)).json()).devices.length, 1);

    const post = (body: unknown) =>
      fetch(`${double.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const streamed = await post({
      model: "scripted",
      messages: [{ role: "user", content: "go" }],
      tools: [{ type: "function", function: { name: "shell", parameters: { type: "object" } } }],
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.equal(streamed.headers.get("content-type"), "text/event-stream");
    const events = parseSse(await streamed.text()).flatMap((m) => m.data ?? []);
    assert.equal(events.at(-1), "[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    const call = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? [])[0];
    assert.equal(call.function.name, "shell");
    assert.deepEqual(JSON.parse(call.function.arguments), { command: "true" });
    assert.equal(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason, "tool_calls");
    assert.ok(chunks.at(-1).usage.prompt_tokens > 0);

    const after = await post({
      model: "scripted",
      messages: [
        { role: "user", content: "go" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: call.id, type: "function", function: call.function }],
        },
        { role: "tool", tool_call_id: call.id, content: "" },
      ],
    });
    const completion = await after.json();
    assert.equal(completion.choices[0].message.content, "done");
    assert.equal(completion.choices[0].finish_reason, "stop");
    assert.equal(double.requests.length, 2);

    // What the real neuron refuses, the double refuses too (and does not record).
    const refused = await post({ model: "scripted", messages: [], client_metadata: { a: "b" } });
    assert.equal(refused.status, 400);
    assert.equal((await refused.json()).error.param, "client_metadata");
    assert.equal(double.requests.length, 2);
  } finally {
    await double.stop();
  }
});
