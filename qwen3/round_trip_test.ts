import assert from "node:assert/strict";
import { runChunks } from "./_testing/events.ts";
import { parseJson } from "./_testing/json.ts";
import { Rng } from "./_testing/random.ts";
import { type JsonShape, randomJsonObject } from "./_testing/random_json.ts";
import type { ToolCallEndEvent, ToolCallEvent } from "./events.ts";
import { renderAssistantWithToolCalls } from "./render_assistant.ts";
import { ToolCallParser } from "./tool_call_parser.ts";
import type { AssistantToolCall, ToolDefinition } from "./types.ts";

const STRINGS = [
  "a",
  "Z",
  " ",
  "  ",
  "\n",
  "\t",
  '"',
  "\\",
  "/",
  "é",
  "日本",
  "😀",
  "{",
  "}",
  "<",
  ">",
  "</",
  "<tool_call>",
  "</tool_call>",
  "<think>",
  "\u0000",
  "\u001f",
  "\u2028",
];
const NAMES = ["bash", "write_file", "edit_file", "configure", "get_weather", "x"];

const ARGUMENT_SHAPE: JsonShape = {
  ints: [-1_000_000, 1_000_000],
  floats: [0.5, -1.25, 1e-7, 123456.789, 2 ** 53 - 1],
  strings: STRINGS,
  stringPieces: 12,
  key: (rng) => rng.text(["k", "é", " ", '"', "\\", "name", "<"], 4),
  maxKeys: 5,
  maxDepth: 1,
};

function endedCalls(events: readonly ToolCallEvent[]): ToolCallEndEvent[] {
  return events.filter((e): e is ToolCallEndEvent => e.type === "tool_call_end");
}

Deno.test("round trip: renderAssistantWithToolCalls → ToolCallParser gives back every name and argument (3,000 turns)", () => {
  for (let seed = 1; seed <= 3000; seed++) {
    const rng = new Rng(seed);
    const calls = Array.from(
      { length: rng.range(1, 4) },
      () => ({ name: rng.pick(NAMES), args: randomJsonObject(rng, ARGUMENT_SHAPE, 0) }),
    );
    const asString = rng.chance(0.4);
    const toolCalls: AssistantToolCall[] = calls.map(({ name, args }) => ({
      id: "x",
      type: "function",
      function: { name, arguments: asString ? JSON.stringify(args) : args },
    }));
    const content = rng.text(["Sure", " ", "\n", "é", "<tool", "</tool_call>", "{", "}"], 5);
    const rendered = renderAssistantWithToolCalls({ content, tool_calls: toolCalls }, {
      parseArguments: rng.chance(0.5),
    });
    const chunks = rng.chunks(rendered, rng.pick([1, 5, 40]));
    const events = runChunks(new ToolCallParser(), chunks);
    const ended = endedCalls(events);
    assert.deepEqual(ended.map((e) => e.name), calls.map((c) => c.name), `seed ${seed}`);
    ended.forEach((end, i) =>
      assert.deepEqual(parseJson(end.arguments), calls[i].args, `seed ${seed} call ${i}`)
    );
    const text = events.map((e) => (e.type === "text" ? e.text : "")).join("");
    assert.equal(
      text,
      content + "\n".repeat(content === "" ? calls.length - 1 : calls.length),
      `seed ${seed}`,
    );
    assert.equal(events.some((e) => e.type === "malformed"), false, `seed ${seed}`);
  }
});

Deno.test("round trip: a parsed call re-renders to the model's exact bytes (parseArguments)", () => {
  const modelText =
    'On it.\n<tool_call>\n{"name": "bash", "arguments": {"command": "ls -la", "n": [1, 2.5, null]}}\n</tool_call>' +
    '\n<tool_call>\n{"name": "now", "arguments": {}}\n</tool_call>';
  const events = runChunks(new ToolCallParser(), [...modelText]);
  const ended = endedCalls(events);
  const rerendered = renderAssistantWithToolCalls({
    content: "On it.",
    tool_calls: ended.map((e) => ({
      id: e.id,
      type: "function",
      function: { name: e.name, arguments: e.arguments },
    })),
  }, { parseArguments: true });
  assert.equal(rerendered, modelText);
  assert.equal(ended.map((e) => e.raw).join("\n"), modelText.slice("On it.\n".length));
});

const CODER_TOOLS: ToolDefinition[] = [{
  type: "function",
  function: {
    name: "configure",
    parameters: {
      type: "object",
      properties: {
        label: { type: "string" },
        code: { type: "string" },
        count: { type: "integer" },
        ratio: { type: "number" },
        enabled: { type: "boolean" },
        limit: { type: ["integer", "null"] },
        options: { type: "object" },
        items: { type: "array" },
      },
    },
  },
}];

/** Python's str() for the scalars Qwen3-Coder's template writes with `| string`. */
function pythonStr(v: unknown): string {
  if (v === true) return "True";
  if (v === false) return "False";
  if (v === null) return "None";
  return String(v);
}

/** A call as Qwen3-Coder's chat template renders it (mappings and lists via tojson, scalars via str). */
function renderCoderCall(name: string, args: Record<string, unknown>): string {
  let out = `<tool_call>\n<function=${name}>\n`;
  for (const [key, v] of Object.entries(args)) {
    const text = v !== null && typeof v === "object" ? JSON.stringify(v) : pythonStr(v);
    out += `<parameter=${key}>\n${text}\n</parameter>\n`;
  }
  return out + "</function>\n</tool_call>";
}

const CODE_PIECES = [
  "def f(x):\n",
  "    return x\n",
  "\n",
  "  ",
  "\t",
  'print("hi")',
  "a < b > c",
  "\\n",
  "é😀",
  "{}",
  "[]",
  "42",
  "true",
  "null",
];

Deno.test("round trip: Qwen3-Coder XML calls parse back to typed arguments (2,000 calls)", () => {
  for (let seed = 1; seed <= 2000; seed++) {
    const rng = new Rng(seed);
    const all: Record<string, unknown> = {
      label: rng.text(["x", "007", "true", " ", "null", "é"], 5),
      code: rng.text(CODE_PIECES, 6),
      count: rng.range(-100, 100000),
      ratio: rng.pick([0.5, -3.75, 1000, 0]),
      enabled: rng.chance(0.5),
      limit: rng.chance(0.5) ? null : rng.int(50),
      options: randomJsonObject(rng, ARGUMENT_SHAPE, 1),
      items: [rng.int(9), "s", null, { k: true }],
    };
    const args = Object.fromEntries(Object.entries(all).filter(() => rng.chance(0.6)));
    const rendered = renderCoderCall("configure", args);
    if (rendered.slice(0, -"</tool_call>".length).includes("</tool_call>")) continue; // not expressible in XML
    const events = runChunks(
      new ToolCallParser({ tools: CODER_TOOLS }),
      rng.chunks(rendered, rng.pick([1, 7, 50])),
    );
    const ended = endedCalls(events);
    assert.equal(ended.length, 1, `seed ${seed}: ${rendered}`);
    assert.equal(ended[0].name, "configure");
    assert.deepEqual(parseJson(ended[0].arguments), args, `seed ${seed}: ${rendered}`);
  }
});
