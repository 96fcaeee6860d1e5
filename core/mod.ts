/**
 * Wire schemas, config schemas, fleet contract and dialect translation shared by
 * the cortex gateway and neuron.
 *
 * @example
 * ```ts
 * import { VERSION } from "@cortex/core";
 * console.log(VERSION);
 * ```
 * @module
 */

/** The package version, reported by `/version` endpoints. */
export const VERSION: string = "0.1.0";
