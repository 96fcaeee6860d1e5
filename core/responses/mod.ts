/**
 * OpenAI Responses wire shapes as zod schemas with their TypeScript types: request
 * (input string or items, instructions, tools, tool choice, reasoning), response object,
 * and every streaming event cortex emits, each with `sequence_number`.
 *
 * @example
 * ```ts
 * import { ResponsesRequestSchema } from "@cortex/core/responses";
 * const request = ResponsesRequestSchema.parse({
 *   model: "Qwen/Qwen3-0.6B",
 *   instructions: "Answer in one word.",
 *   input: [{ role: "user", content: [{ type: "input_text", text: "Capital of France?" }] }],
 *   stream: true,
 * });
 * console.log(request.instructions);
 * ```
 * @module
 */
export * from "./request.ts";
export * from "./response.ts";
export * from "./stream_events.ts";
export * from "./parameter_policy.ts";
export * from "../schema.ts";
