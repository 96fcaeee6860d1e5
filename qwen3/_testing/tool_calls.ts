/**
 * Test support: running ToolCallParser with the checks every parser test wants.
 * @module
 */

import assert from "node:assert/strict";
import type { MalformedEvent, ToolCallEndEvent, ToolCallEvent } from "../events.ts";
import { ToolCallParser, type ToolCallParserOptions } from "../tool_call_parser.ts";
import type { ToolDefinition } from "../types.ts";
import { callIntegrityError, normalize, reconstruct, runChunks } from "./events.ts";
import { parseJson } from "./json.ts";

/** Deterministic ids. */
export const ids = { generateId: (index: number) => `call_${index}` };

/** Parses `chunks` (default: the whole input), checks bookkeeping and accounting, returns normalized events. */
export function parse(
  input: string,
  options: ToolCallParserOptions = {},
  chunks: string[] = [input],
): ToolCallEvent[] {
  const events = runChunks(new ToolCallParser({ ...ids, ...options }), chunks);
  assert.equal(callIntegrityError(events), null);
  assert.equal(reconstruct(events), input, "events must account for every input character");
  return normalize(events) as ToolCallEvent[];
}

/** The ended calls as name and parsed arguments. */
export function calls(events: readonly ToolCallEvent[]): { name: string; args: unknown }[] {
  return events.filter((e): e is ToolCallEndEvent => e.type === "tool_call_end")
    .map((e) => ({ name: e.name, args: parseJson(e.arguments) }));
}

/** The malformed events. */
export function malformed(events: readonly ToolCallEvent[]): MalformedEvent[] {
  return events.filter((e): e is MalformedEvent => e.type === "malformed");
}

/** All text, concatenated. */
export function text(events: readonly ToolCallEvent[]): string {
  return events.map((e) => (e.type === "text" ? e.text : "")).join("");
}

/** Typed tools for coercion and repair tests. */
export const TOOLS: ToolDefinition[] = [
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
          limit: { type: ["integer", "null"] },
          mode: { anyOf: [{ type: "integer" }, { type: "string" }] },
        },
        required: ["label"],
      },
    },
  },
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
      name: "read_file",
      parameters: { type: "object", properties: { path: { type: "string" } }, required: ["path"] },
    },
  },
  {
    type: "function",
    function: {
      name: "list_dir",
      parameters: { type: "object", properties: { path: { type: "string" } }, required: ["path"] },
    },
  },
];
