/**
 * Qwen3 Hermes tool calling: the `# Tools` block, a streaming `<tool_call>` parser and
 * tool-name repair.
 *
 * @example
 * ```ts
 * import { VERSION } from "@cortex/qwen3";
 * console.log(VERSION);
 * ```
 * @module
 */

/** The package version. */
export const VERSION: string = "0.1.0";
