import assert from "node:assert/strict";
import { CortexError } from "@cortex/core/errors";
import { readModelAssets } from "../runtime/loaded_model.ts";
import { TINY_QWEN3 } from "../testing/spawn_neuron.ts";
import { type PoolModel, PromptPool } from "./pool.ts";

const assets = await readModelAssets(TINY_QWEN3);
const model: PoolModel = {
  folder: TINY_QWEN3,
  tokenizer: assets.tokenizer,
  template: assets.template,
  maxPromptTokens: 100_000,
  vocabSize: 1024,
};
const encode = (body: unknown): Uint8Array<ArrayBuffer> => new TextEncoder().encode(JSON.stringify(body));

const tools = [{
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather of a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
}];
const messages = [
  { role: "system", content: "You are terse. ".repeat(50) },
  ...Array.from({ length: 200 }, (_, i) => ({
    role: i % 2 === 0 ? "user" : "assistant",
    content: `turn ${i}: ${"naïve café 東京 🙂 ".repeat(5)}`,
  })),
  { role: "user", content: "What is the weather in Lisbon?" },
];

Deno.test("a prompt built in a worker has the same tokens as one built on the main thread", async () => {
  const inline = new PromptPool({ inlineBelowBytes: Infinity });
  const offThread = new PromptPool({ inlineBelowBytes: 0, workers: 1 });
  try {
    const chatBody = { model: "tiny", messages, tools, reasoning_effort: "high" };
    const a = await inline.parse("chat", encode(chatBody));
    const b = await offThread.parse("chat", encode(chatBody));
    assert.equal(a.offThread, false);
    assert.equal(b.offThread, true);
    assert.equal(b.request.messages.length, 0, "the worker sends the request back without its messages");
    const [pa, pb] = [
      await a.build(model, { inlineThinking: false }),
      await b.build(model, { inlineThinking: false }),
    ];
    assert.ok(pa.tokens.length > 1000);
    assert.deepEqual(pb.tokens, pa.tokens);
    assert.deepEqual(pb.parsing, pa.parsing);
    assert.deepEqual(pb.toolChoice, pa.toolChoice);

    const responsesBody = { model: "tiny", instructions: "Be brief.", input: "hello ".repeat(3000) };
    const ra = await (await inline.parse("responses", encode(responsesBody))).build(model, {});
    const rb = await (await offThread.parse("responses", encode(responsesBody))).build(model, {});
    assert.deepEqual(rb.tokens, ra.tokens);

    const completionBody = { model: "tiny", prompt: "Once upon a time ".repeat(2000) };
    const ca = await (await inline.parse("completions", encode(completionBody))).build(model, {});
    const cb = await (await offThread.parse("completions", encode(completionBody))).build(model, {});
    assert.deepEqual(cb.tokens, ca.tokens);

    const count = await (await offThread.parse("tokenize", encode({ model: "tiny", messages }))).build(
      model,
      {},
    );
    assert.equal(
      count.count,
      (await (await inline.parse("tokenize", encode({ model: "tiny", messages }))).build(model, {})).count,
    );
  } finally {
    inline.close();
    offThread.close();
  }
});

Deno.test("errors from a worker keep their code, status and field", async () => {
  const pool = new PromptPool({ inlineBelowBytes: 0, workers: 1 });
  try {
    await assert.rejects(
      pool.parse("chat", encode({ model: "tiny", messages: [{ role: "user" }] })),
      (e: CortexError) => e instanceof CortexError && e.status === 400 && e.param === "messages[0].content",
    );
    await assert.rejects(
      pool.parse("chat", new TextEncoder().encode("{nope")),
      (e: CortexError) => e instanceof CortexError && e.code === "malformed_json",
    );
  } finally {
    pool.close();
  }
});

Deno.test("an obviously oversized prompt is refused before rendering, with a 400 naming the field", async () => {
  const small: PoolModel = { ...model, maxPromptTokens: 300 };
  // A template that would throw if it ran proves the refusal comes first.
  const trap = {
    ...small,
    template: { render: () => assert.fail("the template ran") },
  } as unknown as PoolModel;
  const pool = new PromptPool({ inlineBelowBytes: Infinity });
  try {
    const huge = "word ".repeat(200_000);
    const chat = await pool.parse(
      "chat",
      encode({ model: "tiny", messages: [{ role: "user", content: huge }] }),
    );
    await assert.rejects(
      chat.build(trap, { inlineThinking: false }),
      (e: CortexError) => e.status === 400 && e.code === "context_length_exceeded" && e.param === "messages",
    );
    const responses = await pool.parse("responses", encode({ model: "tiny", input: huge }));
    await assert.rejects(responses.build(trap, {}), (e: CortexError) => e.param === "input");
    const completion = await pool.parse("completions", encode({ model: "tiny", prompt: huge }));
    await assert.rejects(completion.build(trap, {}), (e: CortexError) => e.param === "prompt");
    // A prompt near the limit is not refused early: the exact count after tokenizing decides.
    const near = await pool.parse(
      "chat",
      encode({ model: "tiny", messages: [{ role: "user", content: "hi ".repeat(150) }] }),
    );
    assert.ok((await near.build(small, { inlineThinking: false })).tokens.length > 150);
  } finally {
    pool.close();
  }
});
