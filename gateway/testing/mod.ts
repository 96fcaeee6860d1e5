/**
 * Test helpers for code that needs a real gateway process: {@linkcode spawnGateway}; and
 * {@linkcode spawnNeuronDouble}, a scripted neuron test double for tests that drive real coding
 * agents no model runnable here can drive.
 *
 * @example
 * ```ts ignore
 * import { spawnGateway } from "@cortex/gateway/testing";
 * const gateway = await spawnGateway({ neurons: [{ name: "a", endpoint: "http://127.0.0.1:13131" }] });
 * await gateway.stop();
 * ```
 * @module
 */
export * from "./spawn_gateway.ts";
export * from "./neuron_double.ts";
