/**
 * The conversation `bench:agent` replays: an agent's system prompt and ~20 tool definitions (3–4k
 * tokens on the tiny fixture's byte-level tokenizer), then turns that each append an assistant tool
 * call, the tool's result and a user message — what Claude Code, Codex and opencode resend every
 * turn. Deterministic for a seed, so the cache-on and cache-off runs send the same bytes.
 * @module
 */

import { seededRandom } from "../../neuron/testing/rng.ts";

/** A chat-completions message as the bench sends it. */
export type AgentMessage =
  | { role: "system" | "user"; content: string }
  | {
    role: "assistant";
    content: string | null;
    tool_calls: { id: string; type: "function"; function: { name: string; arguments: string } }[];
  }
  | { role: "tool"; tool_call_id: string; content: string };

/** A chat-completions tool definition. */
export interface AgentTool {
  type: "function";
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

const WORDS = (
  "the agent reads files edits code runs tests inspects logs and reports back keep answers short " +
  "prefer small diffs never delete user data ask before running destructive commands respect the " +
  "repository style use the tools provided and cite paths explain failures plainly"
).split(" ");

function sentence(random: () => number, words: number): string {
  return Array.from({ length: words }, () => WORDS[Math.floor(random() * WORDS.length)]).join(" ");
}

/** The agent's system prompt and tools (shared by every session, as one agent's are). */
export function agentPreamble(): { system: string; tools: AgentTool[] } {
  const random = seededRandom(7);
  const system = Array.from({ length: 10 }, () => sentence(random, 18) + ".").join("\n");
  const tools: AgentTool[] = Array.from({ length: 20 }, (_, i) => ({
    type: "function",
    function: {
      name: `tool_${i}_${WORDS[i % WORDS.length]}`,
      description: sentence(random, 14),
      parameters: {
        type: "object",
        properties: {
          path: { type: "string", description: sentence(random, 6) },
          [`option_${i}`]: { type: "integer", description: sentence(random, 5) },
        },
        required: ["path"],
      },
    },
  }));
  return { system, tools };
}

/** What turn `turn` (0 = the first) of session `session` appends to the conversation. */
export function turnMessages(session: number, turn: number, tools: AgentTool[]): AgentMessage[] {
  const random = seededRandom(1000 * session + turn + 1);
  if (turn === 0) return [{ role: "user", content: `Session ${session}: ${sentence(random, 30)}.` }];
  const tool = tools[Math.floor(random() * tools.length)].function.name;
  const id = `call_${session}_${turn}`;
  return [
    {
      role: "assistant",
      content: null,
      tool_calls: [{
        id,
        type: "function",
        function: {
          name: tool,
          arguments: JSON.stringify({ path: `src/${sentence(random, 2).replace(" ", "_")}.ts` }),
        },
      }],
    },
    { role: "tool", tool_call_id: id, content: sentence(random, 60) },
    { role: "user", content: sentence(random, 20) + "?" },
  ];
}

/** The text of `messages` as one plain user message (the "new tokens alone" baseline). */
export function messagesAsText(messages: AgentMessage[]): string {
  return messages.map((m) =>
    m.role === "assistant"
      ? m.tool_calls.map((c) => `${c.function.name} ${c.function.arguments}`).join("\n")
      : m.content
  ).join("\n");
}
