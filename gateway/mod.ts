/**
 * @cortex/gateway — one endpoint for a fleet of neurons: OpenAI chat completions,
 * completions and Responses, Anthropic Messages and count_tokens, `/v1/models` over the
 * catalogue and the fleet's topology, admin routes, API keys, and Prometheus metrics on a
 * second listener. Models are routed to the least-loaded node that has them, or
 * cold-loaded (single-flight) where placement says, evicting by `lru` or `priority`.
 *
 * @example
 * ```ts ignore
 * import { loadCortexConfig, loadModelsConfig } from "@cortex/core/config";
 * import { gatewayPermissionFlags, startGateway } from "@cortex/gateway";
 * const config = await loadCortexConfig("cortex.toml");
 * console.log(gatewayPermissionFlags(config, { configPath: "cortex.toml", modelsPath: config.models_config }));
 * const gateway = await startGateway(config, await loadModelsConfig(config.models_config, { missingOk: true }));
 * console.log(gateway.url, gateway.metricsUrl);
 * ```
 * @module
 */
export * from "./gateway.ts";
export * from "./app.ts";
export * from "./context.ts";
export * from "./permissions.ts";
export * from "./listen.ts";
export { gatewayCommand } from "./launch.ts";
export { configPathFromArgs } from "./main.ts";
export * from "./fleet/types.ts";
export * from "./fleet/eviction.ts";
export * from "./fleet/placement.ts";
export * from "./fleet/model_list.ts";
export * from "./fleet/affinity.ts";
export * from "./proxy/session_key.ts";
export * from "./metrics/gateway_metrics.ts";
