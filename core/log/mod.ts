/**
 * Structured logging shared by the gateway and the neuron: the {@linkcode Logger} (JSON or
 * text lines, level-filtered, `[log]` in `cortex.toml` / `neuron.toml`), the per-request
 * line both servers write under one `x-request-id`, and the hook that writes it when a
 * response's body ends.
 *
 * @example
 * ```ts
 * import { Logger, newRequestLine, requestIdFrom, requestLineFields } from "@cortex/core/log";
 * const log = new Logger({ format: "text", level: "info", component: "neuron", write: console.log });
 * const line = newRequestLine(requestIdFrom(null), "POST", "/v1/chat/completions");
 * line.status = 200;
 * log.info("request", requestLineFields(line));
 * ```
 * @module
 */
export * from "./logger.ts";
export * from "./request_id.ts";
export * from "./request_line.ts";
