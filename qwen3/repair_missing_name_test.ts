import assert from "node:assert/strict";
import { tryRepairMissingName } from "./repair_missing_name.ts";
import type { ToolDefinition } from "./types.ts";

Deno.test("tryRepairMissingName: the verbatim field failure repairs to bash", () => {
  const raw = '{"arguments":{"command":"mkdir -p .../doc/plan/{01-discovery,...}"}}';
  assert.deepEqual(tryRepairMissingName(raw), {
    name: "bash",
    arguments: '{"command":"mkdir -p .../doc/plan/{01-discovery,...}"}',
  });
  assert.deepEqual(tryRepairMissingName(`<tool_call>\n${raw}\n</tool_call>`), tryRepairMissingName(raw));
});

Deno.test("tryRepairMissingName: {path} alone stays unrepaired", () => {
  assert.equal(tryRepairMissingName('{"arguments":{"path":"/tmp"}}'), null);
});

Deno.test("tryRepairMissingName: stray braces, nested name, bare arguments, stringified arguments", () => {
  assert.equal(tryRepairMissingName('{"arguments":{"path":"a","content":"b"}}}}')?.name, "write_file");
  assert.equal(tryRepairMissingName('{"arguments":{"path":"a","content":"b"}')?.name, "write_file");
  assert.deepEqual(tryRepairMissingName('{"arguments":{"name":"grep","pattern":"x"}}'), {
    name: "grep",
    arguments: '{"pattern":"x"}',
  });
  assert.equal(tryRepairMissingName('{"command":"ls"}')?.name, "bash");
  assert.equal(tryRepairMissingName('{"arguments":"{\\"command\\":\\"ls\\"}"}')?.name, "bash");
  assert.equal(tryRepairMissingName('{"name": null, "arguments":{"command":"ls"}}')?.name, "bash");
});

Deno.test("tryRepairMissingName: gives up on named, non-object and unparseable bodies", () => {
  assert.equal(tryRepairMissingName('{"name":"bash","arguments":{"command":"ls"}}'), null);
  assert.equal(tryRepairMissingName('{"name":5,"arguments":{"command":"ls"}}'), null);
  assert.equal(tryRepairMissingName("[1, 2]"), null);
  assert.equal(tryRepairMissingName("not json at all"), null);
  assert.equal(tryRepairMissingName(""), null);
  assert.equal(tryRepairMissingName('{"arguments": [1]}'), null);
  assert.equal(tryRepairMissingName('{"arguments": {}}'), null);
});

Deno.test("tryRepairMissingName with tools: schemas decide and only offered names are hoisted", () => {
  const tools: ToolDefinition[] = [
    {
      type: "function",
      function: {
        name: "create_user",
        parameters: { type: "object", properties: { name: {}, email: {} }, required: ["email"] },
      },
    },
    {
      type: "function",
      function: {
        name: "shell",
        parameters: { type: "object", properties: { command: {} }, required: ["command"] },
      },
    },
  ];
  assert.equal(tryRepairMissingName('{"arguments":{"command":"ls"}}', tools)?.name, "shell");
  assert.deepEqual(tryRepairMissingName('{"arguments":{"name":"bob","email":"b@x"}}', tools), {
    name: "create_user",
    arguments: '{"name":"bob","email":"b@x"}',
  });
  assert.equal(tryRepairMissingName('{"arguments":{"path":"a","content":"b"}}', tools), null);
});
