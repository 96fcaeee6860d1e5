/**
 * The neuron HTTP routes, so that the gateway's client and the neuron's server agree on
 * every path.
 *
 * @module
 */

/** Paths of the neuron API. Model ids contain `/`: use {@linkcode modelRoute} for per-model paths. */
export const NEURON_ROUTES = {
  version: "/version",
  discovery: "/discovery",
  health: "/health",
  models: "/models",
  load: "/models/load",
  unload: "/models/unload",
  tokenize: "/tokenize",
  chatCompletions: "/v1/chat/completions",
  completions: "/v1/completions",
  responses: "/v1/responses",
} as const;

/** The default neuron port. */
export const DEFAULT_NEURON_PORT = 13131;

/** A per-model path with the id percent-encoded as one segment, e.g. `/models/Qwen%2FQwen3/capabilities`. */
export function modelRoute(modelId: string, leaf: "capabilities"): string {
  return `/models/${encodeURIComponent(modelId)}/${leaf}`;
}
