// HTTP-level tests of a neuron's limits against a real process: bearer token, memory budget,
// prompt cap, admission (queue full and wait timeout → 429 + Retry-After), SSE keep-alive during
// a silent prefill, and SIGTERM draining. The engine is paced (test hook) at ~1 s per step so that
// requests are provably still running while the test acts.
import assert from "node:assert/strict";
import { OpenAIErrorBodySchema } from "@cortex/core/errors";
import type { ChatCompletionChunk } from "@cortex/core/openai";
import { modelHealth, postForJson, postJson, waitFor } from "./testing/http.ts";
import { parseSseCapture, sseJson } from "./testing/sse_client.ts";
import { killOnUnload, spawnNeuron, TINY_QWEN3 } from "./testing/spawn_neuron.ts";

const testdata = new URL("./testdata/models", import.meta.url).pathname;
const token = "test-token-123";
const auth = { authorization: `Bearer ${token}` };
const neuron = await spawnNeuron({
  models: {
    tiny: TINY_QWEN3,
    "tiny-wide": { path: `${testdata}/tiny-qwen3-f32-untied`, max_sequences: 8 },
  },
  defaultModels: ["tiny"],
  devices: { cpu_devices: 2, cpu_memory_budget_mb: 3 },
  admission: { max_in_flight: 1, max_queue: 1, max_wait_s: 1 },
  maxPromptTokens: 300,
  token,
  testStepDelayMs: 1050,
});
killOnUnload(neuron);
const opts = { sanitizeResources: false, sanitizeOps: false };
const chatUrl = `${neuron.url}/v1/chat/completions`;
const chat = (body: Record<string, unknown>, signal?: AbortSignal) =>
  postJson(chatUrl, { model: "tiny", ...body }, { headers: auth, signal });

Deno.test({
  name: "token: every route needs the bearer token",
  ...opts,
  fn: async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: "Bearer wrong" }, {
      authorization: token,
    }];
    for (const headers of attempts) {
      const response = await fetch(`${neuron.url}/health`, { headers });
      assert.equal(response.status, 401);
      assert.equal(OpenAIErrorBodySchema.parse(await response.json()).error.code, "invalid_api_key");
    }
    const denied = await postJson(chatUrl, { model: "tiny", messages: [{ role: "user", content: "hi" }] });
    assert.equal(denied.status, 401);
    await denied.body?.cancel();
    const ok = await fetch(`${neuron.url}/health`, { headers: auth });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  },
});

Deno.test({
  name: "devices: the CPU split into 2 devices with their own budget; a load goes to the freest device",
  ...opts,
  fn: async () => {
    const discovery = await (await fetch(`${neuron.url}/discovery`, { headers: auth })).json();
    assert.deepEqual(
      discovery.devices.map((
        d: { index: number; backend: string; memory_total_mb: number },
      ) => [d.index, d.backend, d.memory_total_mb]),
      [
        [0, "cpu", 3],
        [1, "cpu", 3],
      ],
    );
  },
});

Deno.test({
  name: "memory budget: a load that does not fit is a 507 with the numbers, not an OOM; the neuron serves on",
  ...opts,
  fn: async () => {
    // tiny holds device 0; the freest device is 1, where 8 KV slots (4 MiB) cannot fit in 3 MiB.
    const { status, body } = await postForJson(`${neuron.url}/models/load`, { model_id: "tiny-wide" }, auth);
    assert.equal(status, 507, JSON.stringify(body));
    const error = OpenAIErrorBodySchema.parse(body).error;
    assert.equal(error.code, "insufficient_memory");
    assert.match(error.message, /^model 'tiny-wide' does not fit in the memory of device 1: \S/);
    assert.ok((error.required_mb as number) > (error.available_mb as number));
    assert.equal(error.device, 1);
    // With one KV slot the same weights fit, on device 1.
    const small = await postForJson(
      `${neuron.url}/models/load`,
      { model_id: "tiny-wide", max_sequences: 1 },
      auth,
    );
    assert.equal(small.status, 200, JSON.stringify(small.body));
    assert.deepEqual(small.body.devices, [1]);
    const chat = await postForJson(`${neuron.url}/v1/completions`, {
      model: "tiny",
      prompt: "x",
      max_tokens: 1,
    }, auth);
    assert.equal(chat.status, 200, "the neuron serves on");
    assert.equal(
      (await postForJson(`${neuron.url}/models/unload`, { model_id: "tiny-wide" }, auth)).status,
      200,
    );
  },
});

Deno.test({
  name: "prompt cap: max_prompt_tokens refuses longer prompts with a 400 stating both numbers",
  ...opts,
  fn: async () => {
    const response = await chat({ messages: [{ role: "user", content: "word ".repeat(320) }] });
    assert.equal(response.status, 400);
    const error = OpenAIErrorBodySchema.parse(await response.json()).error;
    assert.equal(error.code, "context_length_exceeded");
    assert.match(
      error.message,
      /maximum prompt length is 300 tokens \(context 512\); your prompt has \d+ tokens/,
    );
    assert.ok((error.prompt_tokens as number) > 300);
    assert.equal(error.max, 300);
  },
});

Deno.test({
  name:
    "keep-alive: while a two-chunk prompt prefills, the stream carries SSE comments before the first token",
  ...opts,
  fn: async () => {
    // 280 prompt tokens = two prefill chunks with a paced step between them: over a second of silence.
    const response = await chat({
      messages: [{ role: "user", content: "sea ".repeat(270) }],
      max_tokens: 1,
      temperature: 0,
      stream: true,
    });
    assert.equal(response.status, 200);
    const capture = parseSseCapture(await response.text());
    const chunks = sseJson<ChatCompletionChunk>(capture);
    assert.ok(chunks[0].choices[0].delta.role === "assistant");
    assert.ok(
      capture.commentPositions.some((at) => at === 1),
      `a keep-alive comes after the role chunk, before the first token: ${
        JSON.stringify(capture.commentPositions)
      }`,
    );
  },
});

Deno.test({
  name: "admission: a full queue and a too-long wait are 429s with Retry-After, counted in /health",
  ...opts,
  fn: async () => {
    const controller = new AbortController();
    const running = await chat(
      { messages: [{ role: "user", content: "hi" }], max_tokens: 50, stream: true },
      controller.signal,
    );
    assert.equal(running.status, 200);
    const reader = running.body!.getReader();
    await reader.read(); // the role chunk: it holds the only seat now
    const queued = chat({ messages: [{ role: "user", content: "second" }], max_tokens: 1 });
    await waitFor(
      "the second request to queue",
      async () => (await modelHealth(neuron.url, "tiny", auth))?.queue_depth === 1,
    );
    const third = await chat({ messages: [{ role: "user", content: "third" }], max_tokens: 1 });
    assert.equal(third.status, 429);
    assert.ok(Number(third.headers.get("retry-after")) >= 1);
    const full = OpenAIErrorBodySchema.parse(await third.json()).error;
    assert.equal(full.code, "rate_limit_exceeded");
    assert.match(full.message, /1 requests running and 1 queued/);
    const timedOut = await queued;
    assert.equal(timedOut.status, 429);
    assert.ok(Number(timedOut.headers.get("retry-after")) >= 1);
    assert.match(
      OpenAIErrorBodySchema.parse(await timedOut.json()).error.message,
      /no seat became free within 1 s/,
    );
    const stats = (await modelHealth(neuron.url, "tiny", auth))!;
    assert.equal(stats.rejected_queue_full, 1);
    assert.equal(stats.rejected_timeout, 1);
    controller.abort();
    await reader.cancel().catch(() => {});
    await waitFor(
      "the seat to free",
      async () => (await modelHealth(neuron.url, "tiny", auth))?.in_flight === 0,
    );
  },
});

Deno.test({
  name:
    "prompt size: an obviously oversized prompt is a 400 naming the field, refused before the template runs",
  ...opts,
  fn: async () => {
    const huge = "word ".repeat(200_000);
    const response = await chat({ messages: [{ role: "user", content: huge }] });
    assert.equal(response.status, 400, await response.clone().text());
    const error = OpenAIErrorBodySchema.parse(await response.json()).error;
    assert.equal(error.code, "context_length_exceeded");
    assert.equal(error.param, "messages");
    assert.match(
      error.message,
      /^messages: the prompt is far longer than the model accepts: 1000000 characters/,
    );
    const completion = await postJson(`${neuron.url}/v1/completions`, { model: "tiny", prompt: huge }, {
      headers: auth,
    });
    assert.equal(completion.status, 400);
    assert.equal(OpenAIErrorBodySchema.parse(await completion.json()).error.param, "prompt");
  },
});

Deno.test({
  name: "body limit: a chunked body is refused with a 413 once past the limit, the rest never read",
  ...opts,
  fn: async () => {
    const chunk = new Uint8Array(1 << 20).fill(0x20);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 200) return controller.close();
        sent++;
        controller.enqueue(chunk);
      },
    }, { highWaterMark: 0 });
    const response = await fetch(chatUrl, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body,
    });
    assert.equal(response.status, 413);
    assert.equal(OpenAIErrorBodySchema.parse(await response.json()).error.code, "request_too_large");
    assert.ok(sent < 200, `the client sent ${sent} of 200 MB`);
  },
});

Deno.test({
  name: "SIGTERM: queued requests are refused, the running stream finishes, then the neuron exits 0",
  ...opts,
  fn: async () => {
    const running = await chat({
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 3,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    const reader = running.body!.getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value);
    const queued = chat({ messages: [{ role: "user", content: "queued" }], max_tokens: 1 });
    await waitFor(
      "the request to queue",
      async () => (await modelHealth(neuron.url, "tiny", auth))?.queue_depth === 1,
    );
    neuron.process.kill("SIGTERM");
    const refused = await queued;
    assert.equal(refused.status, 503);
    assert.equal(OpenAIErrorBodySchema.parse(await refused.json()).error.code, "shutting_down");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    const capture = parseSseCapture(text);
    assert.equal(capture.frames.at(-1)!.data, "[DONE]");
    assert.equal(sseJson<ChatCompletionChunk>(capture).at(-1)!.usage?.completion_tokens, 3);
    const status = await neuron.stop();
    assert.equal(status.code, 0, neuron.output());
    assert.match(neuron.output(), /SIGTERM: draining in-flight requests, then unloading/);
  },
});
