import assert from "node:assert/strict";
import { calls, ids, parse, TOOLS } from "./_testing/tool_calls.ts";
import type { ToolCallEndEvent } from "./events.ts";
import { ToolCallParser } from "./tool_call_parser.ts";

Deno.test("ToolCallParser: XML form values are typed by the tool schema", () => {
  const input = "<tool_call>\n<function=configure>\n" +
    "<parameter=label>\n007\n</parameter>\n" +
    "<parameter=count>\n 12 \n</parameter>\n" +
    "<parameter=ratio>\n-0.5e2\n</parameter>\n" +
    "<parameter=enabled>\nTrue\n</parameter>\n" +
    '<parameter=options>\n{"a": [1, {"b": null}]}\n</parameter>\n' +
    '<parameter=items>\n[1, "two"]\n</parameter>\n' +
    "<parameter=limit>\nnull\n</parameter>\n" +
    "<parameter=mode>\nfast\n</parameter>\n" +
    "<parameter=extra>\n[true]\n</parameter>\n" +
    "<parameter=note>\nnot json\n</parameter>\n" +
    "</function>\n</tool_call>";
  assert.deepEqual(calls(parse(input, { tools: TOOLS })), [{
    name: "configure",
    args: {
      label: "007",
      count: 12,
      ratio: -50,
      enabled: true,
      options: { a: [1, { b: null }] },
      items: [1, "two"],
      limit: null,
      mode: "fast",
      extra: [true],
      note: "not json",
    },
  }]);
});

Deno.test("ToolCallParser: XML values that do not fit their declared type stay strings", () => {
  const input = "<tool_call><function=configure><parameter=count>twelve</parameter>" +
    "<parameter=enabled>yes</parameter><parameter=options>[1]</parameter><parameter=limit>none</parameter>" +
    "</function></tool_call>";
  assert.deepEqual(calls(parse(input, { tools: TOOLS })), [{
    name: "configure",
    args: { count: "twelve", enabled: "yes", options: "[1]", limit: "none" },
  }]);
});

Deno.test("ToolCallParser: XML layout tolerance", () => {
  const cases: [string, string, unknown][] = [
    ["inline, no newlines", "<function=bash><parameter=command>ls -la</parameter></function>", {
      command: "ls -la",
    }],
    [
      "one newline stripped each side, indentation kept",
      "<function=bash>\n<parameter=command>\n\n    x\n\n</parameter>\n</function>",
      { command: "\n    x\n" },
    ],
    ["missing </parameter>", "<function=bash><parameter=command>ls\n<parameter=cwd>/tmp\n</function>", {
      command: "ls",
      cwd: "/tmp",
    }],
    ["missing </function>", "<function=bash>\n<parameter=command>\nls\n</parameter>\n", { command: "ls" }],
    ["value ends at the close tag", "<function=bash><parameter=command>\nls", { command: "ls" }],
    ["name ended by newline", "<function=bash\n<parameter=command>ls</parameter></function>", {
      command: "ls",
    }],
    ["no parameters", "\n<function=bash>\n</function>\n", {}],
    ["markup-like value", "<function=bash><parameter=command>a <b> </para </tool_ </parameter></function>", {
      command: "a <b> </para </tool_ ",
    }],
  ];
  for (const [label, body, args] of cases) {
    const input = `<tool_call>${body}</tool_call>`;
    const events = parse(input, { tools: TOOLS });
    assert.deepEqual(calls(events), [{ name: "bash", args }], label);
    assert.deepEqual(parse(input, { tools: TOOLS }, [...input]), events, label);
  }
});

Deno.test("ToolCallParser: string XML values stream before the parameter closes", () => {
  const parser = new ToolCallParser({ ...ids, tools: TOOLS });
  const first = parser.push("<tool_call>\n<function=bash>\n<parameter=command>\necho one\necho tw");
  assert.deepEqual(first, [
    { type: "tool_call_start", id: "call_0", index: 0, name: "bash" },
    { type: "tool_call_delta", id: "call_0", index: 0, argumentsDelta: '{"command":"echo one\\necho tw' },
  ]);
  // The newline may be the one before </parameter>, so it waits.
  assert.deepEqual(parser.push("o\n"), [{
    type: "tool_call_delta",
    id: "call_0",
    index: 0,
    argumentsDelta: "o",
  }]);
  const rest = [...parser.push("</parameter>\n</function>\n</tool_call>"), ...parser.finish()];
  assert.deepEqual(rest.map((e) => e.type), ["tool_call_delta", "tool_call_end"]);
  assert.equal((rest[1] as ToolCallEndEvent).arguments, '{"command":"echo one\\necho two"}');
});
