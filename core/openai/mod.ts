/**
 * OpenAI chat-completions wire shapes as zod schemas with their TypeScript types:
 * request, response, stream chunk, usage, the legacy text-completions dialect and the
 * `/v1/models` list. Unknown fields are tolerated; wrong types fail naming the path.
 *
 * @example
 * ```ts
 * import { ChatCompletionRequestSchema } from "@cortex/core/openai";
 * const request = ChatCompletionRequestSchema.parse({
 *   model: "Qwen/Qwen3-0.6B",
 *   messages: [{ role: "user", content: "hi" }],
 *   stream: true,
 *   stream_options: { include_usage: true },
 * });
 * console.log(request.messages.length);
 * ```
 * @module
 */
export * from "./chat_message.ts";
export * from "./chat_request.ts";
export * from "./chat_response.ts";
export * from "./chat_chunk.ts";
export * from "./completions.ts";
export * from "./logprobs.ts";
export * from "./parameter_policy.ts";
export type { SamplingFields } from "./_sampling_fields.ts";
export * from "./model_list.ts";
export * from "../schema.ts";
