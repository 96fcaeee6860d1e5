/**
 * Test support: random model-output streams built from segments whose parse is known in advance
 * (text, JSON calls, XML calls, think blocks, malformed and unterminated calls).
 * @module
 */

import type { ToolDefinition } from "../types.ts";
import { Rng } from "./random.ts";
import { type JsonShape, randomJsonObject } from "./random_json.ts";

/** What a stream must parse to, adjacent texts merged. */
export type Expected =
  | { kind: "text"; text: string }
  | { kind: "reasoning"; text: string }
  | { kind: "call"; name: string; args: unknown }
  | { kind: "malformed"; raw: string };

/** A generated stream. */
export interface GeneratedStream {
  input: string;
  expected: Expected[];
  /** Run through AssistantStreamParser (think blocks parsed) rather than ToolCallParser. */
  assistant: boolean;
  startInThink: boolean;
  tools: ToolDefinition[] | undefined;
}

/** Tools with typed parameters, for XML coercion and schema-based name repair. */
export const STREAM_TOOLS: ToolDefinition[] = [
  {
    type: "function",
    function: {
      name: "bash",
      parameters: {
        type: "object",
        properties: { command: { type: "string" }, cwd: { type: "string" } },
        required: ["command"],
      },
    },
  },
  {
    type: "function",
    function: {
      name: "write_file",
      parameters: {
        type: "object",
        properties: { path: { type: "string" }, content: { type: "string" } },
        required: ["path", "content"],
      },
    },
  },
  {
    type: "function",
    function: {
      name: "configure",
      parameters: {
        type: "object",
        properties: {
          label: { type: "string" },
          count: { type: "integer" },
          ratio: { type: "number" },
          enabled: { type: "boolean" },
          options: { type: "object" },
          items: { type: "array" },
        },
        required: ["label", "count"],
      },
    },
  },
];

const TEXT_PIECES = [
  "a",
  "Z",
  " ",
  "\n",
  "é",
  "日本",
  "😀",
  "{",
  "}",
  '"',
  "\\",
  ">",
  "<",
  "</",
  "<tool",
  "<tool_",
  "<tool_call",
  "</tool_call>",
  "</tool_",
  "tool_call>",
  "<th",
  "<think",
  "</think>",
  "think>",
  "<function=x>",
  "<parameter=",
];
const STRING_PIECES = [
  "a",
  "b",
  " ",
  "\n",
  "\t",
  '"',
  "\\",
  "/",
  "é",
  "😀",
  "{",
  "}",
  "[",
  "]",
  ",",
  ":",
  "<",
  ">",
  "</tool_call>",
  "<tool_call>",
  "<think>",
  "</think>",
  "\u0001",
  "\u2028",
];
/** For XML string values: no value terminators, no `</tool_call>`. */
const XML_STRING_PIECES = [
  "a",
  "b",
  " ",
  "  ",
  "\n",
  "\t",
  '"',
  "\\",
  "é",
  "😀",
  "{",
  "}",
  "<",
  ">",
  "</para",
  "<param",
  "</func",
  "<b>",
  "</tool_",
];

function textWithout(rng: Rng, forbidden: readonly string[], max: number, pieces = TEXT_PIECES): string {
  for (;;) {
    const text = rng.text(pieces, max);
    if (!forbidden.some((tag) => text.includes(tag))) return text;
  }
}

const ARGUMENT_SHAPE: JsonShape = {
  ints: [-1000, 100000],
  floats: [0.5, -2.25, 3.125, 1e-3],
  strings: STRING_PIECES,
  stringPieces: 8,
  key: (rng) => rng.pick(["command", "path", "k", "n", "deep", "é", "a b", 'x"y']),
  maxKeys: 4,
  maxDepth: 1,
};

/** Python `json.dumps` spacing, as the official template writes calls. */
function pythonJson(value: unknown): string {
  if (Array.isArray(value)) return "[" + value.map(pythonJson).join(", ") + "]";
  if (value !== null && typeof value === "object") {
    return "{" + Object.entries(value).map(([k, v]) => JSON.stringify(k) + ": " + pythonJson(v)).join(", ") +
      "}";
  }
  return JSON.stringify(value);
}

function serialize(rng: Rng, value: unknown): string {
  switch (rng.int(3)) {
    case 0:
      return JSON.stringify(value);
    case 1:
      return pythonJson(value);
    default:
      return JSON.stringify(value, null, rng.pick([1, 2, "\t"]));
  }
}

function jsonCall(
  rng: Rng,
  tools: ToolDefinition[] | undefined,
): { body: string; name: string; args: unknown } {
  const name = rng.pick(["bash", "write_file", "configure", "search_web", "x", "名前"]);
  const args = randomJsonObject(rng, ARGUMENT_SHAPE, 0);
  const argsText = serialize(rng, args);
  const variant = rng.int(10);
  if (variant === 0) return { body: `{"name": ${JSON.stringify(name)}}`, name, args: {} };
  if (variant === 1) {
    return {
      body: `{"name": ${JSON.stringify(name)}, "arguments": ${JSON.stringify(JSON.stringify(args))}}`,
      name,
      args,
    };
  }
  if (variant === 2) {
    // Name nested inside the arguments: hoisted when no tools are declared or it names one.
    const nested = tools ? rng.pick(tools).function.name : name;
    return { body: `{"arguments": ${serialize(rng, { name: nested, ...args })}}`, name: nested, args };
  }
  if (variant === 3) {
    const command = rng.text(STRING_PIECES, 6);
    return {
      body: `{"arguments": {"command": ${JSON.stringify(command)}}}`,
      name: "bash",
      args: { command },
    };
  }
  const ordered = rng.chance(0.8)
    ? `{"name": ${JSON.stringify(name)}, "arguments": ${argsText}}`
    : `{"arguments": ${argsText}, "name": ${JSON.stringify(name)}}`;
  if (variant === 4) return { body: ordered + "}".repeat(rng.range(1, 3)), name, args };
  if (variant === 5) return { body: ordered.slice(0, -1), name, args };
  return { body: ordered, name, args };
}

function xmlValue(rng: Rng, type: string | undefined, inline: boolean): { text: string; value: unknown } {
  const kind = type ?? rng.pick(["string", "integer", "number", "boolean", "object", "array", "null"]);
  switch (kind) {
    case "integer": {
      const n = rng.range(-50, 5000);
      return { text: rng.chance(0.3) ? ` ${n} ` : String(n), value: n };
    }
    case "number": {
      const n = rng.pick([0.5, -7.25, 100, 6.02e23]);
      return { text: String(n), value: n };
    }
    case "boolean": {
      const b = rng.chance(0.5);
      // Declared booleans accept Python spelling; undeclared values are sniffed as JSON.
      return { text: type !== undefined && rng.chance(0.2) ? (b ? "True" : "False") : String(b), value: b };
    }
    case "object":
    case "array": {
      // The XML form cannot carry `</tool_call>`, even inside a JSON value.
      let v: unknown;
      do v = kind === "object" ? randomJsonObject(rng, ARGUMENT_SHAPE, 1) : [rng.int(9), "s", null]; while (
        JSON.stringify(v).includes("</tool_call>")
      );
      return { text: rng.chance(0.5) ? JSON.stringify(v) : JSON.stringify(v, null, 2), value: v };
    }
    case "null":
      return { text: "null", value: null };
    default: {
      let text = rng.text(XML_STRING_PIECES, 10);
      // Undeclared keys are JSON-sniffed: keep generated strings un-JSON-like.
      if (type === undefined) text = "s:" + text;
      if (inline) text = text.replace(/^\n+|\n+$/g, "") || "v";
      return { text, value: text };
    }
  }
}

function xmlCall(
  rng: Rng,
  tools: ToolDefinition[] | undefined,
): { body: string; name: string; args: unknown } {
  const tool = rng.pick(STREAM_TOOLS);
  const declared = tools !== undefined;
  const name = declared ? tool.function.name : rng.pick(["bash", "free_tool"]);
  const properties = (declared ? tool.function.parameters?.properties : undefined) ?? {};
  const keys = declared ? Object.keys(properties) : ["alpha", "beta", "gamma"];
  const inline = rng.chance(0.3);
  const nl = inline ? "" : "\n";
  let body = `${nl}<function=${name}>${nl}`;
  const args: Record<string, unknown> = {};
  const used = keys.filter(() => rng.chance(0.6));
  for (const key of used) {
    const type = declared ? (properties[key].type as string) : undefined;
    const { text, value } = xmlValue(rng, type, inline);
    args[key] = value;
    const close = rng.chance(0.1) ? "" : "</parameter>";
    body += `<parameter=${key}>${nl}${text}${nl}${close}${close === "" ? "" : nl}`;
  }
  body += rng.chance(0.1) ? "" : `</function>${nl}`;
  return { body, name, args };
}

function malformedBody(rng: Rng): string {
  return rng.pick([
    '{"name": "bash", "arguments": {"command": "ls"',
    '{"name": "bash", "arguments": [1, 2]}',
    '{"name": 42}',
    '{"name": "a", "name": "b"}',
    '{"name": "a", "arguments": {}} trailing',
    '{"arguments": {"path": "/tmp"}}',
    "call bash please",
    "[]",
    "",
    "  \n ",
    "<function=></function>",
    "<function=x>junk</function>",
    "<fn=x>",
    "not json " + rng.text(["a", "{", "}", "<", ">", " "], 6),
  ]);
}

/** Generates one stream from `seed`. */
export function generateStream(seed: number): GeneratedStream {
  const rng = new Rng(seed);
  const assistant = rng.chance(0.5);
  const startInThink = assistant && rng.chance(0.3);
  const tools = rng.chance(0.5) ? STREAM_TOOLS : undefined;
  const forbiddenText = assistant ? ["<tool_call>", "<think>"] : ["<tool_call>"];
  const segments: { input: string; expected: Expected | null }[] = [];
  if (startInThink) {
    const reasoning = textWithout(rng, ["</think>"], 8);
    segments.push({
      input: reasoning + "</think>",
      expected: reasoning === "" ? null : { kind: "reasoning", text: reasoning },
    });
  }
  let lastWasText = false;
  for (let n = rng.range(1, 7); n > 0; n--) {
    const choice = rng.int(lastWasText ? 5 : 6);
    lastWasText = false;
    if (choice === 5) {
      const text = textWithout(rng, forbiddenText, 10);
      segments.push({ input: text, expected: text === "" ? null : { kind: "text", text } });
      lastWasText = true;
    } else if (choice === 0 || choice === 1) {
      const { body, name, args } = jsonCall(rng, tools);
      const pad = rng.pick(["", "\n", " \n"]);
      segments.push({
        input: `<tool_call>${pad}${body}${pad}</tool_call>`,
        expected: { kind: "call", name, args },
      });
    } else if (choice === 2) {
      const { body, name, args } = xmlCall(rng, tools);
      segments.push({ input: `<tool_call>${body}</tool_call>`, expected: { kind: "call", name, args } });
    } else if (choice === 3) {
      const raw = `<tool_call>${malformedBody(rng)}</tool_call>`;
      segments.push({ input: raw, expected: { kind: "malformed", raw } });
    } else {
      // A think block: parsed in assistant streams (drafted calls inside stay reasoning), text otherwise.
      const reasoning = textWithout(rng, assistant ? ["</think>"] : ["<tool_call>"], 10, [
        ...TEXT_PIECES,
        "<tool_call>",
      ]);
      const input = `<think>${reasoning}</think>`;
      const expected: Expected | null = assistant
        ? (reasoning === "" ? null : { kind: "reasoning", text: reasoning })
        : { kind: "text", text: input };
      segments.push({ input, expected });
      lastWasText = !assistant;
    }
  }
  if (rng.chance(0.15)) {
    const { body } = rng.chance(0.5) ? jsonCall(rng, tools) : xmlCall(rng, tools);
    const raw = "<tool_call>" + body.slice(0, rng.int(body.length + 1));
    segments.push({ input: raw, expected: { kind: "malformed", raw } });
  }
  const expected: Expected[] = [];
  for (const { expected: item } of segments) {
    if (item === null) continue;
    const last = expected[expected.length - 1];
    if (
      last !== undefined && (item.kind === "text" || item.kind === "reasoning") && last.kind === item.kind
    ) {
      last.text += item.text;
    } else expected.push({ ...item });
  }
  return { input: segments.map((s) => s.input).join(""), expected, assistant, startInThink, tools };
}
