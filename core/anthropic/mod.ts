/**
 * Anthropic Messages wire shapes as zod schemas with their TypeScript types: request
 * (system, messages with text, image, tool_use, tool_result and thinking blocks, tools,
 * tool choice, thinking config), response, streaming events and count_tokens.
 *
 * @example
 * ```ts
 * import { MessagesRequestSchema } from "@cortex/core/anthropic";
 * const request = MessagesRequestSchema.parse({
 *   model: "Qwen/Qwen3-0.6B",
 *   max_tokens: 512,
 *   system: "Be brief.",
 *   messages: [{ role: "user", content: [{ type: "text", text: "What is 2+2?" }] }],
 * });
 * console.log(request.messages[0].role);
 * ```
 * @module
 */
export * from "./content.ts";
export * from "./request.ts";
export * from "./response.ts";
export * from "./stream_events.ts";
export * from "../schema.ts";
