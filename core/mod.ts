/**
 * Wire schemas, config schemas, fleet contract and dialect translation shared by the
 * cortex gateway and neuron. Each area is also its own sub-path export:
 * `@cortex/core/openai`, `/anthropic`, `/responses`, `/translate`, `/config`, `/fleet`,
 * `/errors`, `/http` (the request-body reader and the connection-guarding listener), `/sse`
 * (the server-sent-events codec), `/log`.
 *
 * @example
 * ```ts
 * import { anthropicToChatRequest, MessagesRequestSchema, parseWithSchema } from "@cortex/core";
 * const parsed = parseWithSchema(MessagesRequestSchema, {
 *   model: "Qwen/Qwen3-0.6B",
 *   max_tokens: 256,
 *   messages: [{ role: "user", content: "hello" }],
 * });
 * if (parsed.ok) console.log(anthropicToChatRequest(parsed.value).messages);
 * ```
 * @module
 */

/** The package version, reported by `/version` endpoints. */
export const VERSION: string = "0.1.0";

export * from "./errors/mod.ts";
export * from "./openai/mod.ts";
export * from "./anthropic/mod.ts";
export * from "./responses/mod.ts";
export * from "./translate/mod.ts";
export * from "./config/mod.ts";
export * from "./fleet/mod.ts";
export * from "./http/mod.ts";
export * from "./sse/mod.ts";
export * from "./log/mod.ts";
export * from "./schema.ts";
