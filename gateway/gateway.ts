/**
 * Starting and stopping a gateway: builds the fleet (one client per `[[neurons]]` entry), the
 * poller, evictor, idle reaper, cold loader, router and metrics, then serves the API on `[gateway] listen`
 * and Prometheus `/metrics` on `metrics_listen` only.
 *
 * @module
 */
import type { CortexConfig, ModelsConfig, NeuronEntry } from "@cortex/core/config";
import { createApp } from "./app.ts";
import { KeyRing } from "./auth/keys.ts";
import type { GatewayContext } from "./context.ts";
import { Catalogue } from "./fleet/catalogue.ts";
import { ColdLoader } from "./fleet/cold_loader.ts";
import { Evictor } from "./fleet/evictor.ts";
import { Fleet } from "./fleet/fleet.ts";
import { IdleReaper } from "./fleet/idle_reaper.ts";
import { NeuronClient } from "./fleet/neuron_client.ts";
import { NodeState } from "./fleet/node_state.ts";
import { Poller } from "./fleet/poller.ts";
import { Router } from "./fleet/router.ts";
import { listenerUrl, parseListenAddress } from "./listen.ts";
import { GatewayMetrics } from "./metrics/gateway_metrics.ts";
import { metricsHandler } from "./metrics/metrics_server.ts";

/** A running gateway. */
export interface RunningGateway {
  /** Base URL of the API listener. */
  url: string;
  /** URL of the Prometheus endpoint. */
  metricsUrl: string;
  /** The gateway's parts (for status pages and tests in the same process). */
  context: GatewayContext;
  /** Stops polling and both listeners. */
  shutdown(): Promise<void>;
}

/** Options of {@linkcode startGateway}. */
export interface StartGatewayOptions {
  /** Log node health changes to stderr (default true). */
  log?: boolean;
}

/**
 * The bearer token for a `[[neurons]]` entry: `token`, or the value of the env var `token_env`
 * names. That variable being unset or empty is an error (the gateway would otherwise be locked
 * out of the neuron with nothing but 401s to show for it).
 */
function _neuronToken(neuron: NeuronEntry, index: number): string | null {
  if (neuron.token_env === null) return neuron.token;
  const token = Deno.env.get(neuron.token_env);
  if (!token) {
    throw new Error(
      `cortex.toml: neurons[${index}].token_env: environment variable ${neuron.token_env} is unset or empty ` +
        `(set it to the bearer token of neuron '${neuron.name}', or use token)`,
    );
  }
  return token;
}

/**
 * Builds the gateway's parts without listening (the fleet is not polled yet).
 *
 * @throws {Error} when a `[[neurons]] token_env` names an unset or empty variable.
 */
export function createGatewayContext(config: CortexConfig, models: ModelsConfig, log = true): GatewayContext {
  const nodes = config.neurons.map((n, i) =>
    new NodeState(
      n.name,
      new NeuronClient({
        name: n.name,
        endpoint: n.endpoint,
        token: _neuronToken(n, i),
        timeoutMs: config.poller.timeout_s * 1000,
      }),
    )
  );
  const fleet = new Fleet(nodes, new Catalogue(models), {
    strategy: config.eviction.strategy,
    minResidencySeconds: config.eviction.min_residency_s,
  });
  const metrics = new GatewayMetrics(fleet);
  // Declared before the poller that reports health changes to it; built once the loader exists.
  let router: Router | null = null;
  const poller = new Poller(fleet, {
    intervalMs: config.poller.interval_s * 1000,
    unhealthyAfter: config.poller.unhealthy_after,
    onHealthChange(node, healthy, reason) {
      if (!healthy) router?.forgetNode(node.name);
      if (log) {
        console.error(
          `cortex gateway: node '${node.name}' is ${healthy ? "healthy" : `unhealthy: ${reason}`}`,
        );
      }
    },
    onFailure(node) {
      metrics.pollFailures.inc({ node: node.name });
    },
  });
  const evictor = new Evictor(fleet, metrics);
  const reaper = new IdleReaper(fleet, evictor, metrics, { defaultTtlS: config.eviction.ttl_s, log });
  const loader = new ColdLoader(fleet, evictor, metrics, {
    coldLoad: config.cold_load,
    defragAfterCycles: config.eviction.defrag_after_cycles,
    refresh: (node) => poller.pollNode(node),
  });
  router = new Router(fleet, loader, { metrics });
  return { config, fleet, router, loader, evictor, reaper, poller, metrics };
}

/** Starts a gateway from parsed configs; resolves once both listeners are up. */
export async function startGateway(
  config: CortexConfig,
  models: ModelsConfig,
  options: StartGatewayOptions = {},
): Promise<RunningGateway> {
  const context = createGatewayContext(config, models, options.log ?? true);
  const keys = await KeyRing.create(config.gateway.keys);
  const app = createApp(context, keys);
  const api = parseListenAddress(config.gateway.listen);
  const prom = parseListenAddress(config.gateway.metrics_listen);
  const apiServer = Deno.serve({ hostname: api.hostname, port: api.port, onListen() {} }, app.fetch);
  const metricsServer = Deno.serve(
    { hostname: prom.hostname, port: prom.port, onListen() {} },
    metricsHandler(context.metrics.registry),
  );
  void context.poller.start();
  context.reaper.start();
  return {
    url: listenerUrl(api.hostname, apiServer.addr.port),
    metricsUrl: `${listenerUrl(prom.hostname, metricsServer.addr.port)}/metrics`,
    context,
    async shutdown() {
      context.loader.stop();
      context.reaper.stop();
      await context.poller.stop();
      await Promise.all([apiServer.shutdown(), metricsServer.shutdown()]);
    },
  };
}
