// Acceptance: the prefix cache changes nothing a client sees but its usage. 50 random multi-turn
// conversations in the three dialects (chat, Responses, Messages), three at a time sharing one
// system prompt, each sent to a gateway whose neuron caches prefixes and to one whose neuron does
// not (and to one with two KV slots, whose prefixes come back from the block pool): every answer is the
// same text, token for token (greedy), and later turns report cached tokens.
import assert from "node:assert/strict";
import { spawnNeuron } from "../../neuron/testing/spawn_neuron.ts";
import { seededRandom } from "../../neuron/testing/rng.ts";
import { type SpawnedGateway, spawnGateway } from "../testing/spawn_gateway.ts";
import { havePlugin, post, TINY } from "./_fixtures.ts";

type Dialect = "chat" | "responses" | "messages";

const WORDS = "list files read the config run tests fix the bug explain why summarise the diff".split(" ");

/** One turn in `dialect`: the conversation so far; returns the answer text and the cached tokens. */
async function send(
  url: string,
  dialect: Dialect,
  system: string,
  users: string[],
  replies: string[],
): Promise<{ text: string; cached: number }> {
  const turns = users.flatMap((u, i) =>
    i < replies.length ? [["user", u], ["assistant", replies[i]]] : [["user", u]]
  );
  if (dialect === "chat") {
    const res = await post(`${url}/v1/chat/completions`, {
      model: "tiny",
      max_tokens: 5,
      temperature: 0,
      messages: [{ role: "system", content: system }, ...turns.map(([role, content]) => ({ role, content }))],
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    return {
      text: body.choices[0].message.content ?? "",
      cached: body.usage.prompt_tokens_details.cached_tokens,
    };
  }
  if (dialect === "responses") {
    const res = await post(`${url}/v1/responses`, {
      model: "tiny",
      max_output_tokens: 5,
      temperature: 0,
      instructions: system,
      input: turns.map(([role, content]) => ({ role, content })),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    const text = body.output.filter((o: { type: string }) => o.type === "message")
      .flatMap((o: { content: { text: string }[] }) => o.content.map((c) => c.text)).join("");
    return { text, cached: body.usage.input_tokens_details.cached_tokens };
  }
  const res = await post(`${url}/v1/messages`, {
    model: "tiny",
    max_tokens: 5,
    temperature: 0,
    system,
    messages: turns.map(([role, content]) => ({ role, content })),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  const text = body.content.filter((b: { type: string }) => b.type === "text").map((b: { text: string }) =>
    b.text
  )
    .join("");
  return { text, cached: body.usage.cache_read_input_tokens };
}

/** A conversation: each turn appends the previous answer and a new user message. */
async function converse(
  url: string,
  dialect: Dialect,
  system: string,
  users: string[],
): Promise<{ texts: string[]; cached: number[] }> {
  const texts: string[] = [];
  const cached: number[] = [];
  for (let t = 0; t < users.length; t++) {
    // An empty answer would be dropped differently by each dialect's translation; keep the turn text.
    const reply = await send(url, dialect, system, users.slice(0, t + 1), texts.map((x) => x || "ok"));
    texts.push(reply.text);
    cached.push(reply.cached);
  }
  return { texts, cached };
}

Deno.test({
  name:
    "acceptance: 50 random conversations in chat, Responses and Messages answer the same with and without the prefix cache",
  ignore: !havePlugin(),
  async fn() {
    const neurons = [
      await spawnNeuron({
        models: { tiny: { path: TINY.f32, max_sequences: 4 } },
        admission: { max_in_flight: 4 },
      }),
      await spawnNeuron({
        models: { tiny: { path: TINY.f32, max_sequences: 4 } },
        admission: { max_in_flight: 4 },
        prefixCache: { enabled: false },
      }),
      // Two slots for three conversations at a time: prefixes come back from the block pool.
      await spawnNeuron({
        models: { tiny: { path: TINY.f32, max_sequences: 2 } },
        admission: { max_in_flight: 2 },
      }),
    ];
    const gateways: SpawnedGateway[] = [];
    try {
      for (const [i, neuron] of neurons.entries()) {
        const gateway = await spawnGateway({
          neurons: [{ name: `n${i}`, endpoint: neuron.url }],
          models: [{ id: "tiny", vram_mb: 3 }],
        });
        gateways.push(gateway);
        await gateway.waitFor(async () => (await gateway.fleet()).nodes[0].healthy, 20_000, "node healthy");
      }
      const random = seededRandom(17);
      const words = (n: number) =>
        Array.from({ length: n }, () => WORDS[Math.floor(random() * WORDS.length)]).join(" ");
      const shared = `You are a coding agent. ${words(12)}.`;
      const dialects: Dialect[] = ["chat", "responses", "messages"];
      const all = Array.from({ length: 50 }, (_, i) => ({
        dialect: dialects[i % 3],
        system: i % 2 === 0 ? shared : `You are agent ${i}. ${words(6)}.`,
        users: Array.from(
          { length: 2 + Math.floor(random() * 3) },
          () => words(1 + Math.floor(random() * 8)),
        ),
      }));
      let laterTurns = 0;
      let laterCached = 0;
      let answered = 0;
      for (let i = 0; i < all.length; i += 3) {
        const group = all.slice(i, i + 3);
        const [on, off, pooled] = await Promise.all(
          gateways.map((g) => Promise.all(group.map((c) => converse(g.url, c.dialect, c.system, c.users)))),
        );
        for (let c = 0; c < group.length; c++) {
          const label = `conversation ${i + c} (${group[c].dialect})`;
          assert.deepEqual(on[c].texts, off[c].texts, label);
          assert.deepEqual(pooled[c].texts, off[c].texts, `${label} on two slots and the pool`);
          assert.ok(
            off[c].cached.every((n) => n === 0),
            `${label}: the cache-less neuron reports no cached tokens`,
          );
          answered += on[c].texts.filter((t) => t.length > 0).length;
          laterTurns += on[c].cached.length - 1;
          laterCached += on[c].cached.slice(1).filter((n) => n > 0).length;
        }
      }
      assert.equal(laterCached, laterTurns, "every later turn was served partly from the cache");
      const health = await (await fetch(`${neurons[2].url}/health`)).json();
      const pool = health.models[0].prefix_cache;
      assert.ok(
        pool.pool_hits > 0,
        `the two-slot neuron took prefixes from its pool: ${JSON.stringify(pool)}`,
      );
      assert.ok(
        answered > laterTurns,
        `${answered} answers had text: the comparison is not of empty strings`,
      );
    } finally {
      for (const g of gateways) await g.stop();
      for (const n of neurons) await n.stop();
    }
  },
});
