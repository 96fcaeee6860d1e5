/**
 * Server-sent events, one codec for every cortex package that speaks them: the
 * {@linkcode SseMessage} type, {@linkcode encodeSse} to write one, and the incremental
 * {@linkcode SseParser} (also as {@linkcode SseDecoderStream}) to read them back from pieces
 * of any size. Encoding then parsing gives back the messages encoded.
 *
 * @example
 * ```ts
 * import { encodeSse, parseSse } from "@cortex/core/sse";
 * const text = encodeSse({ event: "ping", data: '{"type":"ping"}' }) + encodeSse({ data: "[DONE]" });
 * parseSse(text); // [{ event: "ping", data: '{"type":"ping"}' }, { data: "[DONE]" }]
 * ```
 * @module
 */
export * from "./message.ts";
export * from "./encode.ts";
export * from "./parse.ts";
