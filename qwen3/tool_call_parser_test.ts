import assert from "node:assert/strict";
import { runChunks } from "./_testing/events.ts";
import { calls, ids, malformed, parse, text, TOOLS } from "./_testing/tool_calls.ts";
import type { MalformedEvent, ToolCallEndEvent } from "./events.ts";
import { ToolCallParser } from "./tool_call_parser.ts";

const MIXED =
  'Before.\n<tool_call>\n{"name": "bash", "arguments": {"command": "ls -la", "cwd": "/tmp"}}\n</tool_call>\nBetween </tool_call> <tool\n' +
  "<tool_call>\n<function=configure>\n<parameter=label>\n  indented\nvalue\n</parameter>\n<parameter=count>\n42\n</parameter>\n</function>\n</tool_call>After 😀.";

Deno.test("ToolCallParser: text before, between and after calls; JSON and XML calls", () => {
  const events = parse(MIXED, { tools: TOOLS });
  assert.equal(text(events), "Before.\n\nBetween </tool_call> <tool\nAfter 😀.");
  assert.deepEqual(calls(events), [
    { name: "bash", args: { command: "ls -la", cwd: "/tmp" } },
    { name: "configure", args: { label: "  indented\nvalue", count: 42 } },
  ]);
  assert.deepEqual(events.map((e) => e.type), [
    "text",
    "tool_call_start",
    "tool_call_delta",
    "tool_call_end",
    "text",
    "tool_call_start",
    "tool_call_delta",
    "tool_call_end",
    "text",
  ]);
});

Deno.test("ToolCallParser: every split point into two and three chunks gives the unchunked events", () => {
  const whole = parse(MIXED, { tools: TOOLS });
  for (let i = 0; i <= MIXED.length; i++) {
    assert.deepEqual(
      parse(MIXED, { tools: TOOLS }, [MIXED.slice(0, i), MIXED.slice(i)]),
      whole,
      `split at ${i}`,
    );
  }
  for (let i = 0; i < MIXED.length; i += 3) {
    for (let j = i; j <= MIXED.length; j += 7) {
      const chunks = [MIXED.slice(0, i), MIXED.slice(i, j), MIXED.slice(j)];
      assert.deepEqual(parse(MIXED, { tools: TOOLS }, chunks), whole, `split at ${i}, ${j}`);
    }
  }
  assert.deepEqual(parse(MIXED, { tools: TOOLS }, [...MIXED]), whole, "one code unit at a time");
});

Deno.test("ToolCallParser: several calls get indices 0,1,2 and generated ids", () => {
  const input = '<tool_call>{"name":"a","arguments":{}}</tool_call><tool_call>{"name":"b"}</tool_call>' +
    "<tool_call><function=c></function></tool_call>";
  const events = parse(input);
  const ends = events.filter((e): e is ToolCallEndEvent => e.type === "tool_call_end");
  assert.deepEqual(ends.map((e) => [e.index, e.id, e.name, e.arguments]), [
    [0, "call_0", "a", "{}"],
    [1, "call_1", "b", "{}"],
    [2, "call_2", "c", "{}"],
  ]);
});

Deno.test("ToolCallParser: JSON form variants", () => {
  const cases: [string, string, unknown][] = [
    ["compact", '{"name":"bash","arguments":{"command":"ls"}}', { command: "ls" }],
    [
      "pretty",
      '\n{\n  "name": "bash",\n  "arguments": {\n    "command": "ls",\n    "n": [1, 2.50, 1e3]\n  }\n}\n',
      { command: "ls", n: [1, 2.5, 1000] },
    ],
    ["arguments before name", '{"arguments": {"command": "ls"}, "name": "bash"}', { command: "ls" }],
    ["stringified arguments", '{"name": "bash", "arguments": "{\\"command\\": \\"ls\\"}"}', {
      command: "ls",
    }],
    ["missing arguments", '{"name": "bash"}', {}],
    ["null arguments", '{"name": "bash", "arguments": null}', {}],
    ["extra keys", '{"id": 7, "name": "bash", "arguments": {"command": "ls"}, "type": "function"}', {
      command: "ls",
    }],
    ["one stray brace", '{"name": "bash", "arguments": {"command": "ls"}}}', { command: "ls" }],
    ["three stray braces", '{"name": "bash", "arguments": {"command": "ls"}}}}}\n', { command: "ls" }],
    ["missing final brace", '{"name": "bash", "arguments": {"command": "ls"}\n', { command: "ls" }],
    [
      "close tag inside a string",
      '{"name": "bash", "arguments": {"command": "echo \\"</tool_call>\\" {x}"}}',
      { command: 'echo "</tool_call>" {x}' },
    ],
    ["escapes and unicode", '{"name": "bash", "arguments": {"command": "a\\\\b\\u00e9\\n日本"}}', {
      command: "a\\bé\n日本",
    }],
    [
      "braces in strings",
      '{"name": "bash", "arguments": {"command": "mkdir -p plan/{01-discovery,02-design}}"}}',
      { command: "mkdir -p plan/{01-discovery,02-design}}" },
    ],
  ];
  for (const [label, body, args] of cases) {
    const events = parse(`<tool_call>${body}</tool_call>`);
    assert.deepEqual(calls(events), [{ name: "bash", args }], label);
    assert.deepEqual(
      parse(`<tool_call>${body}</tool_call>`, {}, [...`<tool_call>${body}</tool_call>`]),
      events,
      label,
    );
  }
});

Deno.test("ToolCallParser: arguments keep their number spelling and lose only whitespace", () => {
  const events = parse(
    '<tool_call>{"name": "x", "arguments": {"big": 12345678901234567890, "f": 1.50, "s": " a b "}}</tool_call>',
  );
  const end = events.find((e): e is ToolCallEndEvent => e.type === "tool_call_end")!;
  assert.equal(end.arguments, '{"big":12345678901234567890,"f":1.50,"s":" a b "}');
});

Deno.test("ToolCallParser: a name nested inside arguments is hoisted", () => {
  const events = parse('<tool_call>{"arguments": {"name": "bash", "command": "ls"}}</tool_call>');
  assert.deepEqual(calls(events), [{ name: "bash", args: { command: "ls" } }]);
  // With tools, only an offered tool's name is hoisted; otherwise the keys decide.
  const withTools = parse('<tool_call>{"arguments": {"name": "bob", "command": "ls"}}</tool_call>', {
    tools: TOOLS,
  });
  assert.equal(malformed(withTools)[0]?.code, "missing_name");
  const hoisted = parse('<tool_call>{"arguments": {"name": "read_file", "path": "/a"}}</tool_call>', {
    tools: TOOLS,
  });
  assert.deepEqual(calls(hoisted), [{ name: "read_file", args: { path: "/a" } }]);
});

Deno.test("ToolCallParser: a call with no name is repaired from its argument keys", () => {
  const body = '{"arguments":{"command":"mkdir -p .../doc/plan/{01-discovery,...}"}}';
  assert.deepEqual(calls(parse(`<tool_call>${body}</tool_call>`)), [
    { name: "bash", args: { command: "mkdir -p .../doc/plan/{01-discovery,...}" } },
  ]);
  const ambiguous = parse('<tool_call>{"arguments":{"path":"/tmp"}}</tool_call>');
  assert.deepEqual(malformed(ambiguous).map((e) => e.code), ["missing_name"]);
  const off = parse(`<tool_call>${body}</tool_call>`, { repairMissingName: false });
  assert.deepEqual(malformed(off).map((e) => e.code), ["missing_name"]);
  const bySchema = parse('<tool_call>{"arguments":{"label":"x","count":2}}</tool_call>', { tools: TOOLS });
  assert.deepEqual(calls(bySchema), [{ name: "configure", args: { label: "x", count: 2 } }]);
});

Deno.test("ToolCallParser: JSON arguments stream as they arrive, after the name", () => {
  const parser = new ToolCallParser(ids);
  assert.deepEqual(
    parser.push('<tool_call>\n{"name": "write_file", "arguments": {"path": "a.txt", "content": "line 1\\n'),
    [
      { type: "tool_call_start", id: "call_0", index: 0, name: "write_file" },
      {
        type: "tool_call_delta",
        id: "call_0",
        index: 0,
        argumentsDelta: '{"path":"a.txt","content":"line 1\\n',
      },
    ],
  );
  assert.deepEqual(parser.push('line 2"}}\n</tool_c'), [
    { type: "tool_call_delta", id: "call_0", index: 0, argumentsDelta: 'line 2"}' },
  ]);
  const end = parser.push("all>");
  assert.equal(end.length, 1);
  assert.equal((end[0] as ToolCallEndEvent).arguments, '{"path":"a.txt","content":"line 1\\nline 2"}');
});

Deno.test("ToolCallParser: malformed blocks keep their exact text and say why", () => {
  const cases: [string, string, boolean][] = [
    ['<tool_call>{"name": "bash", "arguments": {"command": "ls"</tool_call>', "invalid_json", true],
    ["<tool_call>call bash with ls</tool_call>", "invalid_json", false],
    ['<tool_call>[{"name": "bash"}]</tool_call>', "invalid_json", false],
    ['<tool_call>{"name": "bash", "arguments": [1]}</tool_call>', "invalid_arguments", true],
    ['<tool_call>{"name": "bash", "arguments": "ls"}</tool_call>', "invalid_arguments", true],
    ['<tool_call>{"name": 7, "arguments": {}}</tool_call>', "invalid_name", false],
    ['<tool_call>{"name": "a", "name": "b"}</tool_call>', "duplicate_key", true],
    ['<tool_call>{"name": "a", "arguments": {}, "arguments": {}}</tool_call>', "duplicate_key", true],
    ['<tool_call>{"name": "a", "arguments": {}} and {"name": "b"}</tool_call>', "unexpected_content", true],
    ["<tool_call></tool_call>", "empty", false],
    ["<tool_call>\n \n</tool_call>", "empty", false],
    ["<tool_call><function=></function></tool_call>", "invalid_xml", false],
    ["<tool_call><fn=bash></fn></tool_call>", "invalid_xml", false],
    ["<tool_call><function=bash>junk<parameter=a>1</parameter></function></tool_call>", "invalid_xml", true],
    ["<tool_call><function=bash></function> trailing</tool_call>", "invalid_xml", true],
    ["<tool_call><function=bash><parameter=cmd</tool_call>", "invalid_xml", true],
    ['<tool_call>{"arguments": {"path": "/tmp"}}</tool_call>', "missing_name", false],
  ];
  for (const [input, code, started] of cases) {
    for (const chunks of [[input], [...input]]) {
      const events = parse("x" + input + "y", {}, ["x", ...chunks, "y"]);
      const bad = malformed(events);
      assert.equal(bad.length, 1, input);
      assert.equal(bad[0].code, code, input);
      assert.equal(bad[0].raw, input);
      assert.ok(bad[0].reason.length > 10);
      assert.equal(bad[0].id !== undefined, started, `${input}: start emitted`);
      assert.equal(text(events), "xy");
    }
  }
});

Deno.test("ToolCallParser: an unterminated call at the end of the stream is reported, not dropped", () => {
  for (
    const tail of [
      '<tool_call>{"name": "bash", "arguments": {"command": "l',
      "<tool_call>",
      "<tool_call>\n<function=bash>\n<par",
      '<tool_call>{"name": "x"}</tool_',
    ]
  ) {
    const events = parse("text " + tail);
    const bad = malformed(events);
    assert.equal(bad.length, 1, tail);
    assert.equal(bad[0].code, "unterminated");
    assert.equal(bad[0].raw, tail);
  }
  // An open JSON string protects </tool_call>, so the rest of the stream is part of the block.
  const open = parse('<tool_call>{"name": "bash", "arguments": {"command": "unclosed}}</tool_call> more');
  assert.equal(malformed(open)[0].code, "unterminated");
  assert.equal(text(open), "");
});

Deno.test("ToolCallParser: streamArguments false announces only valid calls, all at once", () => {
  const input =
    '<tool_call>{"name": "bad", "arguments": [1]}</tool_call><tool_call>{"name": "bash", "arguments": {"command": "ls"}}</tool_call>';
  const events = parse(input, { streamArguments: false }, [...input]);
  assert.deepEqual(events.map((e) => e.type), [
    "malformed",
    "tool_call_start",
    "tool_call_delta",
    "tool_call_end",
  ]);
  assert.equal((events[0] as MalformedEvent).id, undefined);
  assert.equal((events[3] as ToolCallEndEvent).index, 0);
  const parser = new ToolCallParser({ streamArguments: false });
  assert.deepEqual(parser.push('<tool_call>{"name": "bash", "arguments": {"command": "ls"}}'), []);
});

Deno.test("ToolCallParser: default ids are unique OpenAI-style call ids", () => {
  const parser = new ToolCallParser();
  const events = [
    ...parser.push('<tool_call>{"name":"a"}</tool_call><tool_call>{"name":"b"}</tool_call>'),
    ...parser.finish(),
  ];
  const starts = events.filter((e) => e.type === "tool_call_start");
  assert.equal(starts.length, 2);
  for (const start of starts) assert.match(start.id, /^call_[A-Za-z0-9]{24}$/);
  assert.notEqual(starts[0].id, starts[1].id);
});

Deno.test("ToolCallParser: finish resets the parser for the next stream", () => {
  const parser = new ToolCallParser(ids);
  runChunks(parser, ['<tool_call>{"name":"a"}</tool_call><tool_call>{"name":"b"', "<tool"]);
  const second = runChunks(parser, ['<tool_call>{"name":"c"}</tool_call>']);
  assert.equal(second[0].type, "tool_call_start");
  assert.equal((second[0] as { index: number }).index, 0);
});

Deno.test("ToolCallParser: held-back text waits for a possible marker, and surrogate pairs are never split", () => {
  const parser = new ToolCallParser(ids);
  assert.deepEqual(parser.push("abc<tool_"), [{ type: "text", text: "abc" }]);
  assert.deepEqual(parser.push("x"), [{ type: "text", text: "<tool_x" }]);
  assert.deepEqual(parser.push("\ud83d"), []);
  assert.deepEqual(parser.push("\ude00<"), [{ type: "text", text: "😀" }]);
  assert.deepEqual(parser.finish(), [{ type: "text", text: "<" }]);
  assert.deepEqual(new ToolCallParser().push(""), []);
});
