// Acceptance: cache-aware routing across two real neuron replicas of one tiny model. Four
// agent-style sessions in mixed dialects (Claude Code's header, Codex's prompt_cache_key,
// opencode's x-session-affinity, and a client that sends no id at all) each stay on the node
// that served their first turn, and cortex_affinity_total counts it.
import assert from "node:assert/strict";
import { type SpawnedNeuron, spawnNeuron } from "../../neuron/testing/spawn_neuron.ts";
import { spawnGateway } from "../testing/spawn_gateway.ts";
import { havePlugin, post, scrape, TINY, total } from "./_fixtures.ts";

const TURNS = 4;

type Turn = { node: string | null; affinity: string | null };

// One session: a conversation that grows by a turn per request, in one dialect.
interface Session {
  name: string;
  // Sends the conversation so far (user turns and the replies to all but the last); returns the reply text.
  send(users: string[], replies: string[]): Promise<{ res: Response; reply: string }>;
}

function sessions(url: string): Session[] {
  const reply = (text: string) => (text.length > 0 ? text : "ok");
  const alternate = <T>(users: string[], replies: string[], u: (t: string) => T, a: (t: string) => T): T[] =>
    users.flatMap((text, i) => (i < replies.length ? [u(text), a(replies[i])] : [u(text)]));
  return [
    {
      name: "claude-code (Messages, X-Claude-Code-Session-Id)",
      async send(users, replies) {
        const res = await post(`${url}/v1/messages`, {
          model: "m",
          max_tokens: 4,
          temperature: 0,
          system: [{ type: "text", text: "You are Claude Code." }],
          messages: alternate(
            users,
            replies,
            (text) => ({ role: "user", content: [{ type: "text", text }] }),
            (text) => ({ role: "assistant", content: [{ type: "text", text }] }),
          ),
        }, { "X-Claude-Code-Session-Id": "3f6d0c2e-claude" });
        const body = res.ok ? await res.json() : null;
        return {
          res,
          reply: reply(body?.content?.find((b: { type: string }) => b.type === "text")?.text ?? ""),
        };
      },
    },
    {
      name: "codex (Responses, prompt_cache_key)",
      async send(users, replies) {
        const res = await post(`${url}/v1/responses`, {
          model: "m",
          max_output_tokens: 4,
          temperature: 0,
          instructions: "You are Codex.",
          prompt_cache_key: "codex-session-7",
          input: alternate(
            users,
            replies,
            (text) => ({ type: "message", role: "user", content: [{ type: "input_text", text }] }),
            (text) => ({ type: "message", role: "assistant", content: [{ type: "output_text", text }] }),
          ),
        });
        const body = res.ok ? await res.json() : null;
        const message = body?.output?.find((o: { type: string }) => o.type === "message");
        return { res, reply: reply(message?.content?.[0]?.text ?? "") };
      },
    },
    {
      name: "opencode (chat, x-session-affinity)",
      async send(users, replies) {
        const res = await post(`${url}/v1/chat/completions`, {
          model: "m",
          max_tokens: 4,
          temperature: 0,
          messages: alternate(
            users,
            replies,
            (content) => ({ role: "user", content }),
            (content) => ({ role: "assistant", content }),
          ),
        }, { "x-session-affinity": "opencode-ses-42" });
        const body = res.ok ? await res.json() : null;
        return { res, reply: reply(body?.choices?.[0]?.message?.content ?? "") };
      },
    },
    {
      name: "plain (chat, no id: the conversation hash)",
      async send(users, replies) {
        const res = await post(`${url}/v1/chat/completions`, {
          model: "m",
          max_tokens: 4,
          temperature: 0,
          messages: [
            { role: "system", content: "Be brief." },
            ...alternate(
              users,
              replies,
              (content) => ({ role: "user", content }),
              (content) => ({ role: "assistant", content }),
            ),
          ],
        });
        const body = res.ok ? await res.json() : null;
        return { res, reply: reply(body?.choices?.[0]?.message?.content ?? "") };
      },
    },
  ];
}

// Plays a session's turns one after another; returns where each went.
async function play(session: Session): Promise<Turn[]> {
  const users: string[] = [];
  const replies: string[] = [];
  const turns: Turn[] = [];
  for (let i = 0; i < TURNS; i++) {
    users.push(`${session.name}: turn ${i + 1}, go on`);
    const { res, reply } = await session.send(users, replies);
    assert.equal(res.status, 200, `${session.name} turn ${i + 1}`);
    turns.push({ node: res.headers.get("x-cortex-node"), affinity: res.headers.get("x-cortex-affinity") });
    replies.push(reply);
  }
  return turns;
}

Deno.test({
  name: "acceptance: sessions stay on their replica across turns in every dialect",
  ignore: !havePlugin(),
  async fn(t) {
    const neurons: SpawnedNeuron[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        neurons.push(await spawnNeuron({ models: { m: TINY.f32 }, defaultModels: ["m"] }));
      }
      const gateway = await spawnGateway({
        neurons: neurons.map((n, i) => ({ name: `n${i + 1}`, endpoint: n.url })),
      });
      try {
        await gateway.waitFor(async () => {
          const nodes = (await gateway.fleet()).nodes;
          return nodes.every((n) => n.healthy && n.models.some((m) => m.id === "m" && m.status === "loaded"));
        });

        const all = sessions(gateway.url);
        // The sessions run side by side, each turn after the previous one's answer, like agents.
        const played = await Promise.all(all.map(play));

        await t.step("every session stays on the node that served its first turn", () => {
          for (const [i, turns] of played.entries()) {
            const home = turns[0].node;
            assert.ok(home === "n1" || home === "n2", all[i].name);
            assert.deepEqual(turns.map((x) => x.node), Array(TURNS).fill(home), all[i].name);
            assert.deepEqual(
              turns.map((x) => x.affinity),
              ["miss", ...Array(TURNS - 1).fill("hit")],
              all[i].name,
            );
          }
          const homes = new Set(played.map((turns) => turns[0].node));
          assert.deepEqual([...homes].sort(), ["n1", "n2"], "new sessions are spread by load");
        });

        await t.step("cortex_affinity_total counts the hits and the first-turn misses", async () => {
          const s = await scrape(gateway.metricsUrl);
          const sessionCount = all.length;
          assert.equal(total(s, "cortex_affinity_total", { outcome: "hit" }), sessionCount * (TURNS - 1));
          assert.equal(total(s, "cortex_affinity_total", { outcome: "miss" }), sessionCount);
          assert.equal(total(s, "cortex_affinity_total", { outcome: "overflow" }), 0);
          for (const node of ["n1", "n2"]) {
            const homed = played.filter((turns) => turns[0].node === node).length;
            assert.equal(total(s, "cortex_requests_total", { node, status: "200" }), homed * TURNS, node);
          }
        });
      } finally {
        await gateway.stop();
      }
    } finally {
      await Promise.all(neurons.map((n) => n.stop()));
    }
  },
});
