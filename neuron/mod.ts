/**
 * @cortex/neuron — the per-node daemon: it owns the node's devices through the native
 * plugin (`neuron/devices/`), loads models on request, and serves the control API the
 * gateway drives plus OpenAI-compatible inference (chat completions, Responses, text
 * completions) with continuous batching. Run it with `deno task neuron` or embed it:
 *
 * @example
 * ```ts ignore
 * import { parseNeuronConfig } from "@cortex/core/config";
 * import { startNeuron } from "@cortex/neuron";
 * const neuron = await startNeuron(parseNeuronConfig('listen = "127.0.0.1:13131"'));
 * console.log(`serving on ${neuron.url}`);
 * await neuron.shutdown();
 * ```
 * @module
 */
export * from "./server.ts";
export * from "./app.ts";
