import assert from "node:assert/strict";
import { Rng } from "../../neuron/testing/rng.ts";
import { type SessionDialect, sessionKeyOf, type SessionKeySource } from "./session_key.ts";

// A conversation in no dialect; rendered into each one below.
interface Conversation {
  system: string;
  tools: { name: string; description: string; schema: Record<string, unknown> }[];
  turns: string[]; // user, assistant, user, …
}

function randomConversation(rng: Rng): Conversation {
  const tools = Array.from({ length: rng.int(4) }, () => ({
    name: rng.word(),
    description: rng.chance(0.5) ? `${rng.word()} ${rng.word()}` : "",
    schema: { type: "object", properties: { [rng.word()]: { type: "string" } } },
  }));
  const turns = Array.from({ length: 1 + 2 * rng.int(5) }, () => `${rng.word()} ${rng.word()}`);
  return { system: rng.chance(0.7) ? rng.word() : "", tools, turns };
}

type _Json = Record<string, unknown>;

function render(dialect: Exclude<SessionDialect, "completions">, c: Conversation, rng: Rng): _Json {
  const role = (i: number) => (i % 2 === 0 ? "user" : "assistant");
  switch (dialect) {
    case "chat":
      return {
        model: "m",
        messages: [
          ...(c.system ? [{ role: "system", content: c.system }] : []),
          ...c.turns.map((text, i) => ({
            role: role(i),
            content: rng.chance(0.5) ? text : [{ type: "text", text }],
          })),
        ],
        ...(c.tools.length > 0
          ? {
            tools: c.tools.map((t) => ({
              type: "function",
              function: { name: t.name, description: t.description, parameters: t.schema },
            })),
          }
          : {}),
      };
    case "messages":
      return {
        model: "m",
        max_tokens: 10,
        ...(c.system
          ? { system: rng.chance(0.5) ? c.system : [{ type: "text", text: c.system, cache_control: {} }] }
          : {}),
        // Claude Code moves its cache breakpoint to the newest turn.
        messages: c.turns.map((text, i) => ({
          role: role(i),
          content: i === c.turns.length - 1
            ? [{ type: "text", text, cache_control: { type: "ephemeral" } }]
            : [{ type: "text", text }],
        })),
        tools: c.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.schema })),
      };
    case "responses":
      return {
        model: "m",
        ...(c.system ? { instructions: c.system } : {}),
        input: c.turns.length === 1 && rng.chance(0.5) ? c.turns[0] : c.turns.map((text, i) => ({
          type: "message",
          role: role(i),
          content: [{ type: i % 2 === 0 ? "input_text" : "output_text", text }],
        })),
        tools: c.tools.map((t) => ({
          type: "function",
          name: t.name,
          description: t.description,
          parameters: t.schema,
        })),
      };
  }
}

const DIALECTS = ["chat", "messages", "responses"] as const;

Deno.test("property: a conversation keeps its key as it grows by turns, in every dialect", () => {
  for (let seed = 1; seed <= 300; seed++) {
    const rng = new Rng(seed);
    const c = randomConversation(rng);
    const dialect = rng.pick(DIALECTS);
    const keys = new Set<string>();
    for (let n = 1; n <= c.turns.length; n += 2) {
      const key = sessionKeyOf(
        dialect,
        new Headers(),
        render(dialect, { ...c, turns: c.turns.slice(0, n) }, rng),
      );
      assert.equal(key?.source, "conversation_hash", `seed ${seed}`);
      keys.add(key.key);
    }
    assert.equal(keys.size, 1, `seed ${seed} (${dialect}): ${[...keys].join(", ")}`);
  }
});

Deno.test("property: the same conversation has the same key in chat, Messages and Responses", () => {
  for (let seed = 1; seed <= 200; seed++) {
    const rng = new Rng(seed);
    const c = randomConversation(rng);
    const keys = new Set(DIALECTS.map((d) => sessionKeyOf(d, new Headers(), render(d, c, rng))?.key));
    assert.equal(keys.size, 1, `seed ${seed}: ${[...keys].join(", ")}`);
  }
});

Deno.test("property: different first user turns give different keys", () => {
  for (let seed = 1; seed <= 300; seed++) {
    const rng = new Rng(seed);
    const c = randomConversation(rng);
    const other = { ...c, turns: [`${c.turns[0]} ${rng.word()}`, ...c.turns.slice(1)] };
    const dialect = rng.pick(DIALECTS);
    const a = sessionKeyOf(dialect, new Headers(), render(dialect, c, rng));
    const b = sessionKeyOf(dialect, new Headers(), render(dialect, other, rng));
    assert.notEqual(a?.key, b?.key, `seed ${seed}`);
  }
});

Deno.test("a different system prompt or tool list gives a different key", () => {
  const rng = new Rng(7);
  const c: Conversation = { system: "be brief", tools: [], turns: ["hello"] };
  const key = (x: Conversation) => sessionKeyOf("chat", new Headers(), render("chat", x, rng))?.key;
  assert.notEqual(key(c), key({ ...c, system: "be long" }));
  assert.notEqual(key(c), key({ ...c, tools: [{ name: "ls", description: "", schema: {} }] }));
});

// Each explicit source with how to put a value for it on a request.
const EXPLICIT: [SessionKeySource, (h: Headers, b: _Json, v: string) => void][] = [
  ["claude_code_header", (h, _b, v) => h.set("X-Claude-Code-Session-Id", v)],
  ["metadata_user_id", (_h, b, v) => (b.metadata = { user_id: v })],
  ["prompt_cache_key", (_h, b, v) => (b.prompt_cache_key = v)],
  ["session_header", (h, _b, v) => h.set("session-id", v)],
  ["session_affinity_header", (h, _b, v) => h.set("x-session-affinity", v)],
  ["user", (_h, b, v) => (b.user = v)],
];

Deno.test("property: explicit ids win in the documented order, before the conversation hash", () => {
  for (let seed = 1; seed <= 300; seed++) {
    const rng = new Rng(seed);
    const dialect = rng.pick(["chat", "completions", "messages", "responses"] as const);
    const headers = new Headers();
    const body: _Json = dialect === "completions"
      ? { model: "m", prompt: "once upon" }
      : render(dialect, randomConversation(rng), rng);
    let expected: SessionKeySource | null = null;
    for (const [source, put] of EXPLICIT) {
      if (!rng.chance(0.3)) continue;
      const blank = rng.chance(0.2); // blank values do not count
      put(headers, body, blank ? "  " : `${source}-${rng.word()}`);
      if (!blank) expected ??= source;
    }
    const key = sessionKeyOf(dialect, headers, body);
    if (expected !== null) {
      assert.equal(key?.source, expected, `seed ${seed}`);
      assert.match(key.key, new RegExp(`^${expected}:${expected}-[a-z]+$`));
    } else if (dialect === "completions") {
      assert.equal(key, null, `seed ${seed}: a legacy completion has no conversation to hash`);
    } else {
      assert.equal(key?.source, "conversation_hash", `seed ${seed}`);
    }
  }
});

Deno.test("Codex's session_id header counts as session-id", () => {
  const key = sessionKeyOf("responses", new Headers({ session_id: "abc" }), { input: "hi" });
  assert.deepEqual(key, { source: "session_header", key: "session_header:abc" });
});

Deno.test("a long id is hashed; a request without a user turn has no key", () => {
  const key = sessionKeyOf("chat", new Headers(), { user: "x".repeat(1000), messages: [] });
  assert.equal(key?.source, "user");
  assert.match(key.key, /^user:[0-9a-f]{64}$/);
  assert.equal(sessionKeyOf("chat", new Headers(), { messages: [{ role: "system", content: "s" }] }), null);
  assert.equal(sessionKeyOf("responses", new Headers(), { input: [] }), null);
});
