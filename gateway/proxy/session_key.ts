/**
 * The session a request belongs to, for cache-aware routing: the first of the ids agent
 * clients send (Claude Code, Codex, opencode, the OpenAI `user`), else a hash of what
 * stays fixed while a conversation grows — system prompt, tools and first user turn.
 *
 * @example
 * ```ts
 * import { sessionKeyOf } from "./session_key.ts";
 * const key = sessionKeyOf(
 *   "messages",
 *   new Headers({ "x-claude-code-session-id": "4f1c" }),
 *   { model: "m", messages: [{ role: "user", content: "hi" }] },
 * );
 * key?.source; // "claude_code_header"
 * ```
 * @module
 */
import { createHash } from "node:crypto";

/** The client dialects a session key is read from. */
export type SessionDialect = "chat" | "completions" | "responses" | "messages";

/** Where a session key came from, in order of precedence. */
export type SessionKeySource =
  | "claude_code_header"
  | "metadata_user_id"
  | "prompt_cache_key"
  | "session_header"
  | "session_affinity_header"
  | "user"
  | "conversation_hash";

/** A request's session. */
export interface SessionKey {
  /** Where it came from. */
  source: SessionKeySource;
  /** The key: `source:value` (values over 256 characters are hashed). */
  key: string;
}

type _Json = Record<string, unknown>;

/** Values longer than this are hashed, so a client cannot park big strings in the affinity table. */
const _MAX_VALUE = 256;

/**
 * The session of a request, read from its original headers and parsed JSON body (before any
 * translation). Explicit ids first — `X-Claude-Code-Session-Id`, `metadata.user_id`,
 * `prompt_cache_key`, `session-id` (or `session_id`), `x-session-affinity`, `user` — else a
 * SHA-256 of the system prompt, the tools and the first user turn. Null when there is none
 * (legacy completions without an id, or no user turn to hash).
 */
export function sessionKeyOf(dialect: SessionDialect, headers: Headers, body: _Json): SessionKey | null {
  const explicit: [SessionKeySource, unknown][] = [
    ["claude_code_header", headers.get("x-claude-code-session-id")],
    ["metadata_user_id", _object(body.metadata)?.user_id],
    ["prompt_cache_key", body.prompt_cache_key],
    ["session_header", headers.get("session-id") ?? headers.get("session_id")],
    ["session_affinity_header", headers.get("x-session-affinity")],
    ["user", body.user],
  ];
  for (const [source, value] of explicit) {
    if (typeof value === "string" && value.trim() !== "") return _key(source, value.trim());
  }
  const conversation = conversationAnchor(dialect, body);
  if (conversation === null) return null;
  return { source: "conversation_hash", key: `conversation_hash:${_sha256(JSON.stringify(conversation))}` };
}

/** What identifies a conversation without an explicit id: it does not change as turns are added. */
export interface ConversationAnchor {
  /** Leading system (and developer) text, joined by newlines. */
  system: string;
  /** Tools as `{name, description, parameters}`, in the order sent. */
  tools: { name: string; description: string; parameters: unknown }[];
  /** The first user turn's text (non-text parts as their JSON, without `cache_control`). */
  firstUser: string;
}

/**
 * The parts of a request that stay fixed while its conversation grows, normalised alike
 * across dialects (a chat system message, Anthropic's `system` and Responses' `instructions`
 * all become `system`). Null when the request has no user turn (or is a legacy completion).
 */
export function conversationAnchor(dialect: SessionDialect, body: _Json): ConversationAnchor | null {
  let system: string[] = [];
  let turns: unknown[] = [];
  switch (dialect) {
    case "completions":
      return null;
    case "chat":
      turns = _array(body.messages);
      break;
    case "messages":
      system = [_text(body.system)];
      turns = _array(body.messages);
      break;
    case "responses":
      system = [_text(body.instructions)];
      turns = typeof body.input === "string"
        ? [{ role: "user", content: body.input }]
        : _array(body.input).filter((item) => {
          const type = _object(item)?.type;
          return type === undefined || type === "message";
        });
      break;
  }
  const firstUser = turns.findIndex((t) => _object(t)?.role === "user");
  if (firstUser < 0) return null;
  for (const turn of turns.slice(0, firstUser)) {
    const t = _object(turn);
    if (t?.role === "system" || t?.role === "developer") system.push(_text(t.content));
  }
  system = system.filter((s) => s !== "");
  return {
    system: system.join("\n"),
    tools: _array(body.tools).map(_tool),
    firstUser: _text(_object(turns[firstUser])?.content),
  };
}

function _key(source: SessionKeySource, value: string): SessionKey {
  return { source, key: `${source}:${value.length > _MAX_VALUE ? _sha256(value) : value}` };
}

function _sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function _object(value: unknown): _Json | null {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? value as _Json : null;
}

function _array(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

// A content value as text: strings as they are, text parts of every dialect (`text`,
// `input_text`, `output_text`) by their text, anything else as its JSON without
// `cache_control` (clients move cache breakpoints from turn to turn).
function _text(content: unknown): string {
  if (typeof content === "string") return content;
  return _array(content).map((part) => {
    const p = _object(part);
    if (p === null) return typeof part === "string" ? part : "";
    if (typeof p.text === "string") return p.text;
    const { cache_control: _, ...rest } = p;
    return JSON.stringify(rest);
  }).join("\n");
}

// A tool of any dialect: chat's `{type, function: {...}}`, Responses' flat function tool,
// Anthropic's `{name, description, input_schema}`; built-in tools by their name or type.
function _tool(tool: unknown): ConversationAnchor["tools"][number] {
  const t = _object(tool) ?? {};
  const f = _object(t.function) ?? t;
  const name = typeof f.name === "string" ? f.name : typeof t.type === "string" ? t.type : "";
  return {
    name,
    description: typeof f.description === "string" ? f.description : "",
    parameters: f.parameters ?? f.input_schema ?? null,
  };
}
