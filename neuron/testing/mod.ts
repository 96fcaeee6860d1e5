/**
 * Test helpers for packages that talk to a neuron: {@linkcode spawnNeuron} starts a real
 * neuron process on the tiny fixtures and waits until it is ready; the hub test double
 * stands in for a Hugging Face registry; small SSE and HTTP readers.
 *
 * @example
 * ```ts ignore
 * import { spawnNeuron, TINY_QWEN3 } from "@cortex/neuron/testing";
 * const neuron = await spawnNeuron({ models: { tiny: TINY_QWEN3 } });
 * await neuron.stop();
 * ```
 * @module
 */
export * from "./spawn_neuron.ts";
export * from "./hub_test_double.ts";
export * from "./sse_client.ts";
export * from "./http.ts";
