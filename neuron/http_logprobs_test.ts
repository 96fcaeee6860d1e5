// HTTP-level tests of token-id prompts, log-probabilities, logit bias and the refusal of every
// parameter cortex does not implement, against a real neuron serving the tiny Qwen3 fixture. The
// returned numbers are checked against the engine's own logits, fetched through FFI in this process.
import assert from "node:assert/strict";
import { OpenAIErrorBodySchema } from "@cortex/core/errors";
import {
  type ChatCompletion,
  type ChatCompletionChunk,
  ChatCompletionChunkSchema,
  ChatCompletionSchema,
  type ChatTokenLogprob,
  type Completion,
  CompletionSchema,
} from "@cortex/core/openai";
import { Plugin } from "./devices/mod.ts";
import { ModelTokenizer } from "./engine/tokenizer.ts";
import { engineGreedy as greedyRun, type GreedyRun, joinLegacy, topIds } from "./testing/engine_greedy.ts";
import { postForJson, postJson } from "./testing/http.ts";
import { readSse, sseJson } from "./testing/sse_client.ts";
import { killOnUnload, spawnNeuron, TINY_QWEN3 } from "./testing/spawn_neuron.ts";

const neuron = await spawnNeuron({ models: { tiny: TINY_QWEN3 } });
killOnUnload(neuron);

const opts = { sanitizeResources: false, sanitizeOps: false };
const PROMPT_IDS = [400, 952, 986, 86, 565, 443, 358];
const STOP_IDS = new Set([1017, 1015]); // config.json + generation_config.json eos ids
const tokenizer = await ModelTokenizer.fromFolder(TINY_QWEN3);
const tokenText = (id: number): string => tokenizer.decode([id], { skipSpecialTokens: false });
/** The text each generated token adds to the output, as the neuron decodes it after the prompt. */
function pieces(ids: number[]): string[] {
  const stream = tokenizer.decodeStream(PROMPT_IDS.slice(-4));
  return ids.map((id) => stream.push(id));
}

/** The engine's own greedy run through FFI: ids and each step's log-softmax (float64). */
async function engineGreedy(prompt: number[], steps: number): Promise<GreedyRun> {
  const plugin = Plugin.open();
  try {
    return await greedyRun(
      await plugin.loadModel(TINY_QWEN3, { contextLength: 256 }),
      prompt,
      steps,
      STOP_IDS,
    );
  } finally {
    plugin.close();
  }
}

async function complete(body: Record<string, unknown>): Promise<Completion> {
  const { status, body: json } = await postForJson<Completion>(`${neuron.url}/v1/completions`, {
    model: "tiny",
    ...body,
  });
  assert.equal(status, 200, JSON.stringify(json));
  return CompletionSchema.parse(json);
}

async function streamCompletion(body: Record<string, unknown>): Promise<Completion[]> {
  const response = await postJson(`${neuron.url}/v1/completions`, { model: "tiny", stream: true, ...body });
  assert.equal(response.status, 200);
  return sseJson<Completion>(await readSse(response)).map((c) => CompletionSchema.parse(c));
}

async function chat(body: Record<string, unknown>): Promise<ChatCompletion> {
  const { status, body: json } = await postForJson<ChatCompletion>(`${neuron.url}/v1/chat/completions`, {
    model: "tiny",
    messages: [{ role: "user", content: "Tell me about the sea." }],
    ...body,
  });
  assert.equal(status, 200, JSON.stringify(json));
  return ChatCompletionSchema.parse(json);
}

async function streamChat(body: Record<string, unknown>): Promise<ChatCompletionChunk[]> {
  const response = await postJson(`${neuron.url}/v1/chat/completions`, {
    model: "tiny",
    messages: [{ role: "user", content: "Tell me about the sea." }],
    stream: true,
    stream_options: { include_usage: true },
    ...body,
  });
  assert.equal(response.status, 200);
  return sseJson<ChatCompletionChunk>(await readSse(response)).map((c) => ChatCompletionChunkSchema.parse(c));
}

/** Posts `body` and expects a 400 whose envelope names `param`. */
async function refused(path: string, body: Record<string, unknown>, param: string): Promise<string> {
  const { status, body: json } = await postForJson(`${neuron.url}${path}`, { model: "tiny", ...body });
  assert.equal(status, 400, `${JSON.stringify(body)} → ${status} ${JSON.stringify(json)}`);
  const envelope = OpenAIErrorBodySchema.parse(json);
  assert.equal(envelope.error.param, param, JSON.stringify(json));
  assert.match(envelope.error.message, new RegExp(param.replace(/[.[\]]/g, "\\$&")));
  return envelope.error.message;
}

Deno.test({
  name: "completions: a token-id prompt at temperature 0 gives the engine's greedy text and its log-softmax",
  ...opts,
  fn: async () => {
    const body = { prompt: PROMPT_IDS, max_tokens: 32, temperature: 0, logprobs: 5 };
    const whole = await complete(body);
    const engine = await engineGreedy(PROMPT_IDS, 32);
    assert.equal(engine.ids.length, 32, "the fixture's greedy run meets no end-of-sequence token");
    const choice = whole.choices[0];
    assert.equal(choice.text, tokenizer.decode(engine.ids));
    assert.equal(whole.usage!.completion_tokens, engine.ids.length);
    const lp = choice.logprobs!;
    assert.equal(lp.tokens.length, engine.ids.length, "one entry per generated token");
    assert.deepEqual(lp.tokens, pieces(engine.ids));
    assert.equal(lp.tokens.join(""), choice.text);
    let offset = 0;
    engine.ids.forEach((id, i) => {
      const reference = engine.logprobs[i];
      assert.ok(Math.abs(lp.token_logprobs[i] - reference[id]) < 1e-4, `step ${i}: ${lp.token_logprobs[i]}`);
      const expected: Record<string, number> = {};
      for (const top of topIds(reference, 5)) expected[tokenText(top)] ??= reference[top];
      assert.deepEqual(Object.keys(lp.top_logprobs[i]).sort(), Object.keys(expected).sort(), `step ${i}`);
      for (const [text, value] of Object.entries(expected)) {
        assert.ok(Math.abs(lp.top_logprobs[i][text] - value) < 1e-4, `step ${i} ${JSON.stringify(text)}`);
      }
      assert.equal(lp.text_offset[i], offset);
      offset += lp.tokens[i].length;
    });

    const chunks = await streamCompletion(body);
    assert.equal(chunks.map((c) => c.choices[0]?.text ?? "").join(""), choice.text);
    assert.deepEqual(joinLegacy(chunks), lp, "streamed log-probabilities add up to the whole answer's");
  },
});

Deno.test({
  name: "completions: logprobs survive stop strings: every generated token exactly once, streamed or not",
  ...opts,
  fn: async () => {
    const engine = await engineGreedy(PROMPT_IDS, 24);
    const text = tokenizer.decode(engine.ids);
    const stop = text.slice(Math.floor(text.length / 2), Math.floor(text.length / 2) + 3);
    assert.ok(stop.length > 0, "the greedy text is long enough for a stop string");
    const body = { prompt: PROMPT_IDS, max_tokens: 24, temperature: 0, logprobs: 2, stop: [stop] };
    const whole = await complete(body);
    const lp = whole.choices[0].logprobs!;
    assert.equal(whole.choices[0].finish_reason, "stop");
    assert.equal(lp.tokens.length, whole.usage!.completion_tokens);
    assert.deepEqual(lp.tokens, pieces(engine.ids.slice(0, lp.tokens.length)));
    assert.deepEqual(joinLegacy(await streamCompletion(body)), lp);
    assert.equal((await complete({ prompt: PROMPT_IDS, max_tokens: 4 })).choices[0].logprobs, null);
  },
});

Deno.test({
  name: "completions: a batch of one token-id prompt, an echoed id prompt, and prompts that are refused",
  ...opts,
  fn: async () => {
    const single = await complete({ prompt: PROMPT_IDS, max_tokens: 8, temperature: 0 });
    const batchOfOne = await complete({ prompt: [PROMPT_IDS], max_tokens: 8, temperature: 0 });
    assert.equal(batchOfOne.choices[0].text, single.choices[0].text);
    const echoed = await complete({ prompt: PROMPT_IDS, max_tokens: 8, temperature: 0, echo: true });
    assert.equal(echoed.choices[0].text, tokenizer.decode(PROMPT_IDS) + single.choices[0].text);

    await refused("/v1/completions", { prompt: [] }, "prompt");
    await refused("/v1/completions", { prompt: [[]] }, "prompt[0]");
    await refused("/v1/completions", { prompt: [1, 2, 1024] }, "prompt[2]");
    await refused("/v1/completions", { prompt: [1, -1] }, "prompt[1]");
    await refused("/v1/completions", { prompt: [1.5] }, "prompt[0]");
    await refused("/v1/completions", { prompt: [[1, 2], [3]] }, "prompt");
    await refused("/v1/completions", { prompt: ["a", "b"] }, "prompt");
    await refused("/v1/completions", { prompt: [[1], [1024]] }, "prompt");
  },
});

Deno.test({
  name: "chat: logprobs in OpenAI's chat shape, streamed chunks adding up to the whole answer",
  ...opts,
  fn: async () => {
    const body = { temperature: 0, max_tokens: 16, logprobs: true, top_logprobs: 3 };
    const whole = await chat(body);
    const content = whole.choices[0].logprobs!.content!;
    assert.equal(content.length, whole.usage!.completion_tokens);
    for (const entry of content) {
      assert.equal(typeof entry.token, "string");
      assert.ok(entry.logprob <= 0);
      assert.equal(entry.top_logprobs.length, 3);
      assert.ok(entry.top_logprobs[0].logprob >= entry.top_logprobs[1].logprob);
      assert.ok(entry.top_logprobs[1].logprob >= entry.top_logprobs[2].logprob);
      assert.equal(entry.top_logprobs[0].token, entry.token, "greedy takes the most likely token");
    }
    const bytes = content.flatMap((entry) => entry.bytes!);
    assert.equal(new TextDecoder().decode(new Uint8Array(bytes)), content.map((e) => e.token).join(""));
    const chunks = await streamChat(body);
    const streamed: ChatTokenLogprob[] = chunks.flatMap((c) => c.choices[0]?.logprobs?.content ?? []);
    assert.deepEqual(streamed, content);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    assert.equal(text, whole.choices[0].message.content);

    const plain = await chat({ temperature: 0, max_tokens: 4, logprobs: true });
    assert.ok(plain.choices[0].logprobs!.content!.every((e) => e.top_logprobs.length === 0));
    assert.equal((await chat({ temperature: 0, max_tokens: 4 })).choices[0].logprobs, undefined);
  },
});

Deno.test({
  name: "logit_bias: -100 on the greedy token changes the output, +100 forces a token (completions and chat)",
  ...opts,
  fn: async () => {
    const engine = await engineGreedy(PROMPT_IDS, 4);
    const base = { prompt: PROMPT_IDS, max_tokens: 4, temperature: 0, logprobs: 1 };
    const banned = await complete({ ...base, logit_bias: { [engine.ids[0]]: -100 } });
    assert.notEqual(banned.choices[0].logprobs!.tokens[0], tokenText(engine.ids[0]));
    assert.equal(banned.choices[0].logprobs!.tokens[0], tokenText(topIds(engine.logprobs[0], 2)[1]));
    const forced = await complete({ ...base, logit_bias: { "7": 100 } });
    assert.deepEqual(forced.choices[0].logprobs!.tokens, pieces([7, 7, 7, 7]));
    assert.ok(
      forced.choices[0].logprobs!.token_logprobs.every((v) => v > -1e-3),
      "the bias shapes the logprobs",
    );

    const plainChat = await chat({ temperature: 0, max_tokens: 6, logprobs: true });
    const first = plainChat.choices[0].logprobs!.content![0].token;
    const firstId = tokenizer.encode(first)[0];
    const steered = await chat({
      temperature: 0,
      max_tokens: 6,
      logprobs: true,
      logit_bias: { [firstId]: -100 },
    });
    assert.notEqual(steered.choices[0].logprobs!.content![0].token, first);
  },
});

Deno.test({
  name: "bad logprobs and logit_bias values are 400s naming the field",
  ...opts,
  fn: async () => {
    await refused("/v1/completions", { prompt: "hi", logprobs: 21 }, "logprobs");
    await refused("/v1/completions", { prompt: "hi", logprobs: -1 }, "logprobs");
    await refused("/v1/completions", { prompt: "hi", logit_bias: { "abc": 1 } }, "logit_bias.abc");
    await refused("/v1/completions", { prompt: "hi", logit_bias: { "1024": 1 } }, "logit_bias.1024");
    await refused("/v1/completions", { prompt: "hi", logit_bias: { "5": 101 } }, "logit_bias.5");
    await refused("/v1/completions", { prompt: "hi", logit_bias: { "5": "x" } }, "logit_bias.5");
    const messages = [{ role: "user", content: "hi" }];
    await refused("/v1/chat/completions", { messages, logprobs: true, top_logprobs: 21 }, "top_logprobs");
    await refused("/v1/chat/completions", { messages, top_logprobs: 2 }, "top_logprobs");
    await refused("/v1/chat/completions", { messages, logprobs: false, top_logprobs: 2 }, "top_logprobs");
    await refused("/v1/chat/completions", { messages, logprobs: 3 }, "logprobs");
    await refused("/v1/chat/completions", { messages, logit_bias: { "-3": 1 } }, "logit_bias.-3");
  },
});

Deno.test({
  name: "every parameter cortex does not implement is a 400 naming it; harmless SDK fields are accepted",
  ...opts,
  fn: async () => {
    const messages = [{ role: "user", content: "hi" }];
    const chatRefusals: [Record<string, unknown>, string][] = [
      [{ n: 2 }, "n"],
      [{ audio: { voice: "alloy", format: "wav" } }, "audio"],
      [{ modalities: ["text", "audio"] }, "modalities"],
      [{ prediction: { type: "content", content: "x" } }, "prediction"],
      [{ web_search_options: {} }, "web_search_options"],
      [{ functions: [{ name: "f" }] }, "functions"],
      [{ function_call: "auto" }, "function_call"],
      [{ response_format: { type: "json_object" } }, "response_format"],
      [{ verbosity: "low" }, "verbosity"],
      [{ made_up_knob: 1 }, "made_up_knob"],
    ];
    for (const [extra, param] of chatRefusals) {
      await refused("/v1/chat/completions", { messages, ...extra }, param);
    }
    const completionRefusals: [Record<string, unknown>, string][] = [
      [{ n: 3 }, "n"],
      [{ best_of: 2 }, "best_of"],
      [{ suffix: "THE END" }, "suffix"],
      [{ echo: true, logprobs: 1 }, "echo"],
      [{ made_up_knob: true }, "made_up_knob"],
    ];
    for (const [extra, param] of completionRefusals) {
      await refused("/v1/completions", { prompt: "hi", ...extra }, param);
    }
    const responsesRefusals: [Record<string, unknown>, string][] = [
      [{ top_logprobs: 5 }, "top_logprobs"],
      [{ include: ["message.output_text.logprobs"] }, "include"],
      [{ background: true }, "background"],
      [{ truncation: "auto" }, "truncation"],
      [{ text: { format: { type: "json_object" } } }, "text.format"],
      [{ max_tool_calls: 2 }, "max_tool_calls"],
      [{ prompt: { id: "pmpt_1" } }, "prompt"],
    ];
    for (const [extra, param] of responsesRefusals) {
      await refused("/v1/responses", { input: "hi", ...extra }, param);
    }

    await chat({
      max_tokens: 2,
      user: "u",
      metadata: { k: "v" },
      store: false,
      service_tier: "auto",
      parallel_tool_calls: true,
      stream_options: { include_usage: true },
      n: 1,
      response_format: { type: "text" },
      reasoning_effort: "none",
      logit_bias: {},
    });
    await complete({ prompt: "hi", max_tokens: 2, best_of: 1, suffix: "", echo: false, n: 1, user: "u" });
    const { status, body } = await postForJson(`${neuron.url}/v1/responses`, {
      model: "tiny",
      input: "hi",
      max_output_tokens: 2,
      store: false,
      include: ["reasoning.encrypted_content"],
      prompt_cache_key: "k",
      truncation: "disabled",
      tool_choice: "auto",
      parallel_tool_calls: false,
    });
    assert.equal(status, 200, JSON.stringify(body));
  },
});
