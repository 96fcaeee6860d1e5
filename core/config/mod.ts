/**
 * Config schemas and loaders for `cortex.toml` (gateway), `models.toml` (catalogue) and
 * `neuron.toml` (node daemon). Defaults live in the schemas; every error names the file,
 * the key path and what was expected.
 *
 * @example
 * ```ts
 * import { parseCortexConfig } from "@cortex/core/config";
 * const config = parseCortexConfig('[eviction]\nstrategy = "priority"\n');
 * config.gateway.listen; // "0.0.0.0:31313"
 * try {
 *   parseCortexConfig('[eviction]\nstrategy = "lfu"\n');
 * } catch (error) {
 *   // cortex.toml: eviction.strategy: expected "lru" | "priority", got "lfu"
 *   console.log((error as Error).message);
 * }
 * ```
 * @module
 */
export * from "./config_error.ts";
export * from "./connections.ts";
export * from "./cortex_config.ts";
export * from "./models_config.ts";
export * from "./neuron_config.ts";
export * from "./log_config.ts";
export * from "./load.ts";
export * from "../schema.ts";
