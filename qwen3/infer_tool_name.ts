/**
 * Which tool a set of arguments belongs to, judged from its keys.
 * @module
 */

import { _isPlainObject } from "./_json_text.ts";
import type { ToolDefinition } from "./types.ts";

function _sameKeys(keys: readonly string[], expected: readonly string[]): boolean {
  return keys.length === expected.length && expected.every((key) => keys.includes(key));
}

/**
 * Infers which tool a set of arguments belongs to, from its keys alone.
 *
 * With declared tools: the single tool whose required keys are all present and whose declared
 * properties include every argument key; several or no such tools give `null`. Without tools (or
 * an empty list), the table for the common agent tools: `{command}` or `{command, cwd}` → `bash`,
 * `{path, content}` → `write_file`, `{path, old_text, new_text}` → `edit_file`; anything else —
 * notably `{path}` alone, which could be `read_file` or `list_dir` — gives `null`.
 *
 * @example
 * ```ts
 * import { inferToolName } from "@cortex/qwen3";
 * console.log(inferToolName({ command: "ls" })); // "bash"
 * console.log(inferToolName({ path: "/tmp" })); // null
 * ```
 */
export function inferToolName(args: unknown, tools?: readonly ToolDefinition[]): string | null {
  if (!_isPlainObject(args)) return null;
  const keys = Object.keys(args);
  if (tools !== undefined && tools.length > 0) {
    const names = new Set<string>();
    for (const tool of tools) {
      const parameters = tool?.function?.parameters;
      const properties = parameters?.properties ?? {};
      const required = parameters?.required ?? [];
      if (
        required.every((key) => keys.includes(key)) && keys.every((key) => Object.hasOwn(properties, key))
      ) {
        names.add(tool.function.name);
      }
    }
    return names.size === 1 ? [...names][0] : null;
  }
  if (keys.includes("command") && keys.every((key) => key === "command" || key === "cwd")) return "bash";
  if (_sameKeys(keys, ["path", "content"])) return "write_file";
  if (_sameKeys(keys, ["path", "old_text", "new_text"])) return "edit_file";
  return null;
}
