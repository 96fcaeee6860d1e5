/**
 * Starting and stopping a gateway: builds the fleet (one client per `[[neurons]]` entry), the
 * scheduler that owns it (acting through neuron calls and the poller), and metrics, then serves
 * the API on `[gateway] listen` and Prometheus `/metrics` on `metrics_listen` only.
 *
 * @module
 */
import {
  connectionLimitsMs,
  type CortexConfig,
  type ModelsConfig,
  type NeuronEntry,
} from "@cortex/core/config";
import { listenError, serveGuarded } from "@cortex/core/http";
import { Logger } from "@cortex/core/log";
import { createApp } from "./app.ts";
import { KeyRing } from "./auth/keys.ts";
import type { GatewayContext } from "./context.ts";
import { Catalogue } from "./fleet/catalogue.ts";
import { Fleet } from "./fleet/fleet.ts";
import { NeuronClient } from "./fleet/neuron_client.ts";
import { NodeState } from "./fleet/node_state.ts";
import { Poller } from "./fleet/poller.ts";
import { Scheduler } from "./fleet/scheduler.ts";
import { NeuronEffects } from "./fleet/scheduler_effects.ts";
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
  /** Write the log (`[log]`: request lines, node health changes) to stderr (default true); false: none. */
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
 * Builds the gateway's parts without listening (the fleet is not polled yet). `log`: true for
 * the `[log]` logger on stderr, false for none, or a logger of the caller's.
 *
 * @throws {Error} when a `[[neurons]] token_env` names an unset or empty variable.
 */
export function createGatewayContext(
  config: CortexConfig,
  models: ModelsConfig,
  log: boolean | Logger = true,
): GatewayContext {
  const logger = log instanceof Logger
    ? log
    : log
    ? new Logger({ ...config.log, component: "gateway" })
    : Logger.silent("gateway");
  const nodes = config.neurons.map((n, i) =>
    new NodeState(
      n.name,
      new NeuronClient({
        name: n.name,
        endpoint: n.endpoint,
        token: _neuronToken(n, i),
        timeoutMs: config.poller.timeout_s * 1000,
        maxConnections: config.gateway.upstream_max_connections,
      }),
    )
  );
  const fleet = new Fleet(nodes, new Catalogue(models), {
    strategy: config.eviction.strategy,
    minResidencySeconds: config.eviction.min_residency_s,
  });
  // The scheduler is built after the metrics that read its residency and before the poller that feeds it.
  let scheduler: Scheduler | null = null;
  const metrics = new GatewayMetrics(fleet, () => scheduler?.residency ?? null);
  let poller: Poller | null = null;
  const effects = new NeuronEffects(fleet, () => poller!);
  scheduler = new Scheduler(fleet, effects, {
    coldLoad: config.cold_load,
    defragAfterCycles: config.eviction.defrag_after_cycles,
    maxWaitMs: config.eviction.max_wait_s * 1000,
    defaultTtlS: config.eviction.ttl_s,
    log: logger,
    unhealthyAfter: config.poller.unhealthy_after,
    swapBudgets: new Map(
      config.gateway.keys.flatMap((k) =>
        k.max_swaps_per_hour === null || k.max_swaps_per_hour === undefined
          ? []
          : [[k.name, k.max_swaps_per_hour]]
      ),
    ),
    metrics,
    onHealthChange(node, healthy, reason, source) {
      logger.always(healthy ? "info" : "warn", healthy ? "node_healthy" : "node_unhealthy", {
        node: node.name,
        endpoint: node.client.endpoint,
        found_by: source,
        reason: reason ?? undefined,
      });
    },
  });
  const sink = scheduler;
  poller = new Poller(fleet, () => sink, {
    intervalMs: config.poller.interval_s * 1000,
    onFailure(node) {
      metrics.pollFailures.inc({ node: node.name });
    },
  });
  return { config, fleet, scheduler, effects, poller, metrics, log: logger };
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
  // The API listener bounds header, body and idle times and connections per client; see serveGuarded.
  const apiServer = serveGuarded(
    { hostname: api.hostname, port: api.port, limits: connectionLimitsMs(config.connections) },
    app.fetch,
  );
  let metricsServer: Deno.HttpServer<Deno.NetAddr>;
  try {
    metricsServer = Deno.serve(
      { hostname: prom.hostname, port: prom.port, onListen() {} },
      metricsHandler(context.metrics.registry),
    );
  } catch (error) {
    await apiServer.shutdown();
    throw listenError(error, prom.hostname, prom.port);
  }
  void context.poller.start();
  return {
    url: listenerUrl(api.hostname, apiServer.addr.port),
    metricsUrl: `${listenerUrl(prom.hostname, metricsServer.addr.port)}/metrics`,
    context,
    async shutdown() {
      context.scheduler.stop();
      context.effects.stop();
      await context.poller.stop();
      await Promise.all([apiServer.shutdown(), metricsServer.shutdown()]);
      for (const node of context.fleet.nodes) node.client.close();
    },
  };
}
