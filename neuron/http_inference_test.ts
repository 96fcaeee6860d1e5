// HTTP-level tests of inference against a real neuron process on the real plugin, serving the
// tiny Qwen3 fixture (chat, Responses) and stories260K (raw completions). One process for the file.
import assert from "node:assert/strict";
import { OpenAIErrorBodySchema } from "@cortex/core/errors";
import { TokenizeResponseSchema } from "@cortex/core/fleet";
import {
  type ChatCompletion,
  type ChatCompletionChunk,
  ChatCompletionChunkSchema,
  ChatCompletionSchema,
  type Completion,
  CompletionSchema,
} from "@cortex/core/openai";
import {
  ResponsesResponseSchema,
  type ResponsesStreamEvent,
  ResponsesStreamEventSchema,
} from "@cortex/core/responses";
import {
  ChatCompletionAccumulator,
  checkResponsesStream,
  reassembleResponsesStream,
} from "@cortex/core/translate";
import { modelHealth, postForJson, postJson, waitFor } from "./testing/http.ts";
import { readSse, sseJson } from "./testing/sse_client.ts";
import {
  haveStories260K,
  killOnUnload,
  spawnNeuron,
  STORIES_260K,
  TINY_QWEN3,
} from "./testing/spawn_neuron.ts";

const stories = haveStories260K();
if (!stories) console.warn("stories260K is absent (../shared/fixtures/stories260K): its tests are skipped");

const neuron = await spawnNeuron({
  models: { tiny: TINY_QWEN3, ...(stories ? { stories: STORIES_260K } : {}) },
  admission: { max_in_flight: 8, max_queue: 8 },
  testStepDelayMs: 2,
});
killOnUnload(neuron);

const chatUrl = `${neuron.url}/v1/chat/completions`;
const completionsUrl = `${neuron.url}/v1/completions`;
const responsesUrl = `${neuron.url}/v1/responses`;
const opts = { sanitizeResources: false, sanitizeOps: false };

async function complete(body: Record<string, unknown>): Promise<Completion> {
  const { status, body: json } = await postForJson<Completion>(completionsUrl, { model: "stories", ...body });
  assert.equal(status, 200, JSON.stringify(json));
  return CompletionSchema.parse(json);
}

async function completionText(body: Record<string, unknown>): Promise<string> {
  return (await complete(body)).choices[0].text;
}

async function streamCompletion(body: Record<string, unknown>): Promise<Completion[]> {
  const response = await postJson(completionsUrl, { model: "stories", stream: true, ...body });
  assert.equal(response.status, 200);
  const capture = await readSse(response);
  assert.equal(capture.frames[capture.frames.length - 1].data, "[DONE]");
  return sseJson<Completion>(capture).map((c) => CompletionSchema.parse(c));
}

Deno.test({
  name: "chat: a streamed completion reassembles to exactly the non-streamed one for the same seed",
  ...opts,
  fn: async () => {
    const body = {
      model: "tiny",
      messages: [{ role: "system", content: "Be brief." }, {
        role: "user",
        content: "Tell me about the sea.",
      }],
      temperature: 1.0,
      seed: 1234,
      max_tokens: 40,
    };
    const whole = await postForJson<ChatCompletion>(chatUrl, body);
    assert.equal(whole.status, 200);
    const completion = ChatCompletionSchema.parse(whole.body);
    const response = await postJson(chatUrl, {
      ...body,
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
    const chunks = sseJson<ChatCompletionChunk>(await readSse(response));
    const accumulator = new ChatCompletionAccumulator();
    for (const chunk of chunks) accumulator.push(ChatCompletionChunkSchema.parse(chunk));
    const streamed = accumulator.result();
    assert.deepEqual(streamed.choices, completion.choices);
    // The same prompt again: all but its last token come from the prefix cache.
    const { prompt_tokens_details: streamedDetails, ...streamedUsage } = streamed.usage!;
    const { prompt_tokens_details: _, ...wholeUsage } = completion.usage!;
    assert.deepEqual(streamedUsage, wholeUsage);
    assert.equal(streamedDetails?.cached_tokens, completion.usage!.prompt_tokens - 1);
    assert.equal(chunks[0].choices[0].delta.role, "assistant");
    assert.equal(completion.usage!.completion_tokens, 40);
    assert.equal(completion.choices[0].finish_reason, "length");
    assert.ok(completion.usage!.prompt_tokens > 10);
    assert.equal(completion.usage!.prompt_tokens_details?.cached_tokens, 0);
    assert.equal(new Set(chunks.map((c) => c.id)).size, 1, "one id across the stream");
  },
});

Deno.test({
  name: "chat: usage is streamed only with stream_options.include_usage",
  ...opts,
  fn: async () => {
    const body = {
      model: "tiny",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 3,
      temperature: 0,
    };
    const without = sseJson<ChatCompletionChunk>(
      await readSse(await postJson(chatUrl, { ...body, stream: true })),
    );
    assert.ok(without.every((c) => !c.usage && c.choices.length === 1));
    const withUsage = sseJson<ChatCompletionChunk>(
      await readSse(
        await postJson(chatUrl, { ...body, stream: true, stream_options: { include_usage: true } }),
      ),
    );
    const last = withUsage[withUsage.length - 1];
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage?.completion_tokens, 3);
  },
});

Deno.test({
  name: "chat: thinking is off unless asked (x-include-thinking); chat_template_kwargs.enable_thinking wins",
  ...opts,
  fn: async () => {
    const body = { model: "tiny", messages: [{ role: "user", content: "hi" }], max_tokens: 1 };
    const promptTokens = async (extra: Record<string, unknown>, headers?: Record<string, string>) =>
      (await postForJson<ChatCompletion>(chatUrl, { ...body, ...extra }, headers)).body.usage!.prompt_tokens;
    const plain = await promptTokens({});
    const asked = await promptTokens({}, { "x-include-thinking": "true" });
    // enable_thinking=false appends an empty "<think>\n\n</think>\n\n" to the generation prompt.
    assert.ok(asked < plain, `${asked} < ${plain}`);
    assert.equal(
      await promptTokens({ chat_template_kwargs: { enable_thinking: false } }, { "x-include-thinking": "1" }),
      plain,
    );
    assert.equal(await promptTokens({ chat_template_kwargs: { enable_thinking: true } }), asked);
  },
});

Deno.test({
  name: "completions: stories260K streamed and whole agree, and the text is the model's real story",
  ignore: !stories,
  ...opts,
  fn: async () => {
    const body = { prompt: "Once upon a time", max_tokens: 30, temperature: 0 };
    const whole = await complete(body);
    const chunks = await streamCompletion({ ...body, stream_options: { include_usage: true } });
    const text = chunks.flatMap((c) => c.choices.map((ch) => ch.text)).join("");
    assert.equal(text, whole.choices[0].text);
    assert.equal(chunks.at(-2)!.choices[0].finish_reason, whole.choices[0].finish_reason);
    const { prompt_tokens_details: cached, ...streamedUsage } = chunks.at(-1)!.usage!;
    const { prompt_tokens_details: _, ...wholeUsage } = whole.usage!;
    assert.deepEqual(streamedUsage, wholeUsage);
    assert.equal(cached?.cached_tokens, 4, "the repeated prompt's first 4 tokens come from the prefix cache");
    assert.equal(whole.usage?.prompt_tokens, 5, "BOS + 4 prompt tokens");
    assert.match(whole.choices[0].text, /^, there was a little girl named Lily\./);
  },
});

Deno.test({
  name: "responses: the stream passes the core event-order checks and reassembles to the whole response",
  ...opts,
  fn: async () => {
    const body = {
      model: "tiny",
      instructions: "Be brief.",
      input: "Tell me about the sea.",
      temperature: 1.0,
      seed: 99,
      max_output_tokens: 30,
    };
    const whole = await postForJson(responsesUrl, body);
    assert.equal(whole.status, 200, JSON.stringify(whole.body));
    const response = ResponsesResponseSchema.parse(whole.body);
    const sse = await readSse(await postJson(responsesUrl, { ...body, stream: true }));
    const events = sse.frames.map((f) => {
      const event = ResponsesStreamEventSchema.parse(JSON.parse(f.data)) as ResponsesStreamEvent;
      assert.equal(f.event, event.type, "the SSE event name is the event type");
      return event;
    });
    assert.deepEqual(checkResponsesStream(events), []);
    assert.deepEqual(events.slice(0, 2).map((e) => e.type), ["response.created", "response.in_progress"]);
    assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i));
    assert.equal(events.filter((e) => /^response\.(completed|failed|incomplete)$/.test(e.type)).length, 1);
    const reassembled = reassembleResponsesStream(events)!;
    const strip = (r: typeof response) => r.output.map((item) => ({ ...item, id: undefined }));
    assert.deepEqual(strip(reassembled), strip(response));
    assert.equal(reassembled.status, response.status);
    const { input_tokens_details: cached, ...streamedUsage } = reassembled.usage!;
    const { input_tokens_details: _, ...wholeUsage } = response.usage!;
    assert.deepEqual(streamedUsage, wholeUsage);
    assert.equal(
      cached.cached_tokens,
      response.usage!.input_tokens - 1,
      "the repeated input comes from the cache",
    );
    assert.equal(response.usage?.output_tokens, 30);
    assert.equal(response.status, "incomplete", "hitting max_output_tokens is incomplete");
  },
});

Deno.test({
  name: "seed: the same seed gives the same output, another seed another one",
  ...opts,
  fn: async () => {
    const body = {
      model: "tiny",
      messages: [{ role: "user", content: "Write a poem." }],
      temperature: 1.2,
      max_tokens: 32,
    };
    const text = async (seed: number) => {
      const { body: json } = await postForJson<ChatCompletion>(chatUrl, { ...body, seed });
      const message = json.choices[0].message;
      return `${message.reasoning_content ?? ""}|${message.content}`;
    };
    const first = await text(7);
    assert.equal(await text(7), first);
    assert.notEqual(await text(8), first);
  },
});

Deno.test({
  name: "max_tokens: generation stops at exactly that many tokens with finish_reason length",
  ...opts,
  fn: async () => {
    for (const key of ["max_tokens", "max_completion_tokens"]) {
      const { body } = await postForJson<ChatCompletion>(chatUrl, {
        model: "tiny",
        messages: [{ role: "user", content: "Count to a hundred." }],
        temperature: 0,
        [key]: 5,
      });
      assert.equal(body.usage?.completion_tokens, 5);
      assert.equal(body.choices[0].finish_reason, "length");
    }
  },
});

Deno.test({
  name: "stop: a stop string across token boundaries ends generation and is not emitted",
  ignore: !stories,
  ...opts,
  fn: async () => {
    const base = { prompt: "Once upon a time", max_tokens: 40, temperature: 0 };
    const full = await completionText(base);
    const stop = full.slice(Math.floor(full.length / 2), Math.floor(full.length / 2) + 5);
    const expected = full.slice(0, full.indexOf(stop));
    const whole = await complete({ ...base, stop: [stop, "never-appears"] });
    assert.equal(whole.choices[0].text, expected);
    assert.equal(whole.choices[0].finish_reason, "stop");
    assert.ok(whole.usage!.completion_tokens < 40);
    const streamed = (await streamCompletion({ ...base, stop })).flatMap((c) =>
      c.choices.map((ch) => ch.text)
    ).join("");
    assert.equal(streamed, expected);
    assert.ok(!streamed.includes(stop));
  },
});

Deno.test({
  name: "penalties: presence, frequency and repetition penalties each change greedy output",
  ignore: !stories,
  ...opts,
  fn: async () => {
    const base = { prompt: "Once upon a time", max_tokens: 48, temperature: 0 };
    const plain = await completionText(base);
    assert.equal(await completionText(base), plain, "greedy is deterministic");
    for (const penalty of [{ presence_penalty: 2 }, { frequency_penalty: 2 }, { repetition_penalty: 1.8 }]) {
      const penalised = await completionText({ ...base, ...penalty });
      assert.notEqual(penalised, plain, `${JSON.stringify(penalty)} changes the output`);
      assert.equal(await completionText({ ...base, ...penalty }), penalised);
    }
    // Frequency penalty discourages repeating words: fewer repeated words than plain greedy.
    const repeats = (text: string) => {
      const words = text.toLowerCase().match(/[a-z]+/g) ?? [];
      return words.length - new Set(words).size;
    };
    assert.ok(repeats(await completionText({ ...base, frequency_penalty: 2 })) < repeats(plain));
  },
});

Deno.test({
  name: "tokenize: counts exactly the prompt tokens chat and completions use; tools count",
  ...opts,
  fn: async () => {
    const messages = [{ role: "user", content: "How is the weather in Paris?" }];
    const tools = [{
      type: "function",
      function: {
        name: "get_weather",
        parameters: { type: "object", properties: { city: { type: "string" } } },
      },
    }];
    const { body: chat } = await postForJson<ChatCompletion>(chatUrl, {
      model: "tiny",
      messages,
      max_tokens: 1,
    });
    const counted = await postForJson<{ count: number; model: string }>(`${neuron.url}/tokenize`, {
      model: "tiny",
      messages,
    });
    assert.equal(counted.status, 200);
    assert.deepEqual(TokenizeResponseSchema.parse(counted.body), {
      model: "tiny",
      count: counted.body.count,
    });
    assert.equal(counted.body.count, chat.usage?.prompt_tokens);
    const withTools = await postForJson<{ count: number }>(`${neuron.url}/tokenize`, {
      model: "tiny",
      messages,
      tools,
    });
    const { body: chatTools } = await postForJson<ChatCompletion>(chatUrl, {
      model: "tiny",
      messages,
      tools,
      max_tokens: 1,
    });
    assert.equal(withTools.body.count, chatTools.usage?.prompt_tokens);
    assert.ok(withTools.body.count > counted.body.count + 20, "the Hermes tools block is in the prompt");
    if (stories) {
      const raw = await postForJson<{ count: number }>(`${neuron.url}/tokenize`, {
        model: "stories",
        prompt: "Once upon a time",
      });
      assert.equal(raw.body.count, 5);
    }
  },
});

Deno.test({
  name: "batching: 8 concurrent greedy requests with different prompts each return what they return alone",
  ignore: !stories,
  ...opts,
  fn: async () => {
    const prompts = [
      "Once upon a time",
      "The cat",
      "Lily and Ben went to the park",
      "One day, a little bird",
      "Tom had a red ball",
      "The sun was shining and",
      "Mom said",
      "There was a big tree",
    ];
    const body = (prompt: string) => ({ prompt, max_tokens: 24, temperature: 0 });
    const alone: string[] = [];
    for (const prompt of prompts) alone.push(await completionText(body(prompt)));
    assert.equal(new Set(alone).size, prompts.length, "the prompts lead to different texts");
    const together = await Promise.all(prompts.map((prompt) => completionText(body(prompt))));
    assert.deepEqual(together, alone);
  },
});

Deno.test({
  name: "disconnect: dropping a stream mid-way frees its slot (visible in /health) and the next request runs",
  ...opts,
  fn: async () => {
    const before = (await modelHealth(neuron.url, "tiny"))!;
    const controller = new AbortController();
    const response = await postJson(chatUrl, {
      model: "tiny",
      messages: [{ role: "user", content: "Go on forever." }],
      temperature: 0,
      max_tokens: 480,
      stream: true,
    }, { signal: controller.signal });
    const reader = response.body!.getReader();
    let seen = "";
    while (seen.split("data:").length < 4) seen += new TextDecoder().decode((await reader.read()).value);
    assert.equal((await modelHealth(neuron.url, "tiny"))!.in_flight, 1);
    controller.abort();
    await reader.cancel().catch(() => {});
    await waitFor("the cancelled stream to leave the batch", async () => {
      const now = (await modelHealth(neuron.url, "tiny"))!;
      return now.in_flight === 0 && now.cancelled === (before.cancelled ?? 0) + 1;
    });
    const next = await postForJson<ChatCompletion>(chatUrl, {
      model: "tiny",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 3,
    });
    assert.equal(next.status, 200);
    assert.equal(next.body.usage?.completion_tokens, 3);
  },
});

Deno.test({
  name: "errors: bad inputs get the right status and an envelope naming the problem; the process lives on",
  ...opts,
  fn: async () => {
    const cases: {
      what: string;
      url: string;
      body: unknown;
      status: number;
      code: string;
      mention: RegExp;
      param?: string;
    }[] = [
      {
        what: "malformed JSON",
        url: chatUrl,
        body: '{"model": "tiny", "messages": [',
        status: 400,
        code: "malformed_json",
        mention: /not valid JSON/,
      },
      {
        what: "wrong type",
        url: chatUrl,
        body: { model: "tiny", messages: [{ role: "user", content: 5 }] },
        status: 400,
        code: "invalid_request_body",
        mention: /messages\[0\]\.content/,
      },
      {
        what: "wrong type of a sampling field",
        url: chatUrl,
        body: { model: "tiny", messages: [{ role: "user", content: "x" }], temperature: "hot" },
        status: 400,
        code: "invalid_request_body",
        mention: /temperature/,
      },
      {
        what: "out-of-range sampling field",
        url: chatUrl,
        body: { model: "tiny", messages: [{ role: "user", content: "x" }], top_p: 3 },
        status: 400,
        code: "invalid_request_body",
        mention: /top_p: expected a number in \(0, 1\], got 3/,
      },
      {
        what: "unknown model",
        url: chatUrl,
        body: { model: "nope", messages: [{ role: "user", content: "x" }] },
        status: 404,
        code: "model_not_found",
        mention: /'nope'/,
      },
      {
        what: "unknown model, streaming (JSON, not SSE)",
        url: responsesUrl,
        body: { model: "nope", input: "x", stream: true },
        status: 404,
        code: "model_not_found",
        mention: /'nope'/,
      },
      {
        what: "prompt longer than the context",
        url: chatUrl,
        body: { model: "tiny", messages: [{ role: "user", content: "word ".repeat(700) }] },
        status: 400,
        code: "context_length_exceeded",
        mention: /maximum prompt length is 511 tokens .* your prompt has \d{3,} tokens/,
      },
      {
        what: "n > 1",
        url: chatUrl,
        body: { model: "tiny", messages: [{ role: "user", content: "x" }], n: 2 },
        status: 400,
        code: "unsupported_parameter",
        mention: /^n: only 1 choice/,
      },
      {
        what: "tool with an invalid schema",
        url: chatUrl,
        body: {
          model: "tiny",
          messages: [{ role: "user", content: "x" }],
          tools: [{ type: "function", function: { name: "f", parameters: { type: "string" } } }],
        },
        status: 400,
        code: "invalid_request_body",
        mention: /tools\[0\]\.function\.parameters\.type: expected "object"/,
      },
      {
        what: "tool requiring an undeclared property",
        url: chatUrl,
        body: {
          model: "tiny",
          messages: [{ role: "user", content: "x" }],
          tools: [{
            type: "function",
            function: { name: "f", parameters: { type: "object", properties: {}, required: ["a"] } },
          }],
        },
        status: 400,
        code: "invalid_request_body",
        mention: /tools\[0\]\.function\.parameters\.required: "a" is not declared/,
      },
      {
        what: "tool with a bad name",
        url: chatUrl,
        body: {
          model: "tiny",
          messages: [{ role: "user", content: "x" }],
          tools: [{ type: "function", function: { name: "no spaces!" } }],
        },
        status: 400,
        code: "invalid_request_body",
        mention: /tools\[0\]\.function\.name/,
      },
      {
        what: "previous_response_id",
        url: responsesUrl,
        body: { model: "tiny", input: "x", previous_response_id: "resp_1" },
        status: 400,
        code: "chained_conversation_not_supported",
        mention: /previous_response_id/,
      },
      {
        what: "max_tokens 0",
        url: chatUrl,
        body: { model: "tiny", messages: [{ role: "user", content: "x" }], max_tokens: 0 },
        status: 400,
        code: "invalid_request_body",
        mention: /max_tokens: expected a number >= 1/,
      },
      {
        what: "empty messages",
        url: chatUrl,
        body: { model: "tiny", messages: [] },
        status: 400,
        code: "invalid_request_body",
        mention: /messages/,
        param: "messages",
      },
      {
        what: "Responses: empty input names input, not the chat request's messages",
        url: responsesUrl,
        body: { model: "tiny", input: [] },
        status: 400,
        code: "invalid_request_body",
        mention: /at least one message/,
        param: "input",
      },
    ];
    for (const c of cases) {
      const response = await postJson(c.url, c.body);
      assert.equal(response.status, c.status, c.what);
      assert.match(response.headers.get("content-type") ?? "", /application\/json/, c.what);
      const envelope = OpenAIErrorBodySchema.parse(await response.json());
      assert.equal(envelope.error.code, c.code, c.what);
      assert.match(envelope.error.message, c.mention, `${c.what}: ${envelope.error.message}`);
      if (c.param !== undefined) assert.equal(envelope.error.param, c.param, c.what);
    }
    const noType = await fetch(chatUrl, { method: "POST", body: "{}" });
    assert.equal(noType.status, 415);
    assert.equal(OpenAIErrorBodySchema.parse(await noType.json()).error.code, "unsupported_media_type");
    const noRoute = await fetch(`${neuron.url}/v1/nothing`);
    assert.equal(noRoute.status, 404);
    OpenAIErrorBodySchema.parse(await noRoute.json());
    const health = await fetch(`${neuron.url}/health`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
  },
});

Deno.test({
  name: "teardown: SIGTERM stops the neuron cleanly",
  ...opts,
  fn: async () => {
    const status = await neuron.stop();
    assert.equal(status.code, 0, neuron.output());
  },
});
