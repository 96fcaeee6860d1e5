import assert from "node:assert/strict";
import { inferToolName } from "./infer_tool_name.ts";
import type { ToolDefinition } from "./types.ts";

Deno.test("inferToolName without schemas: the common agent tools table", () => {
  assert.equal(inferToolName({ command: "ls" }), "bash");
  assert.equal(inferToolName({ command: "ls", cwd: "/" }), "bash");
  assert.equal(inferToolName({ cwd: "/" }), null);
  assert.equal(inferToolName({ command: "ls", timeout: 5 }), null);
  assert.equal(inferToolName({ path: "a", content: "b" }), "write_file");
  assert.equal(inferToolName({ path: "a", old_text: "b", new_text: "c" }), "edit_file");
  assert.equal(inferToolName({ path: "a", old_text: "b" }), null);
  assert.equal(inferToolName({ path: "/tmp" }), null, "read_file or list_dir: no guess");
  assert.equal(inferToolName({ path: "/tmp", line: 3 }), null);
  assert.equal(inferToolName({}), null);
  assert.equal(inferToolName([]), null);
  assert.equal(inferToolName("bash"), null);
  assert.equal(inferToolName(null), null);
  assert.equal(inferToolName({ command: "ls" }, []), "bash", "an empty tool list means no schemas");
});

const TOOLS: ToolDefinition[] = [
  {
    type: "function",
    function: {
      name: "read_file",
      parameters: { type: "object", properties: { path: {}, line: {}, limit: {} }, required: ["path"] },
    },
  },
  {
    type: "function",
    function: {
      name: "list_dir",
      parameters: { type: "object", properties: { path: {}, recursive: {} }, required: ["path"] },
    },
  },
  {
    type: "function",
    function: {
      name: "search",
      parameters: { type: "object", properties: { query: {}, path: {} }, required: ["query"] },
    },
  },
  { type: "function", function: { name: "now" } },
];

Deno.test("inferToolName with schemas: the unique tool with required ⊆ keys ⊆ properties", () => {
  assert.equal(inferToolName({ path: "a", line: 1 }, TOOLS), "read_file");
  assert.equal(inferToolName({ path: "a", recursive: true }, TOOLS), "list_dir");
  assert.equal(inferToolName({ path: "a" }, TOOLS), null, "read_file and list_dir both fit");
  assert.equal(inferToolName({ query: "x", path: "a" }, TOOLS), "search");
  assert.equal(inferToolName({ query: "x", other: 1 }, TOOLS), null, "undeclared key");
  assert.equal(inferToolName({}, TOOLS), "now", "only the parameterless tool fits no keys");
  assert.equal(inferToolName({ command: "ls" }, TOOLS), null, "schemas replace the table");
});
