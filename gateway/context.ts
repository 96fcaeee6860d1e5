/**
 * Everything a gateway request handler needs, built once by `createGateway` and passed to
 * the routes: config, fleet, the scheduler that owns it and its effects, poller, metrics and the log.
 *
 * @module
 */
import type { CortexConfig } from "@cortex/core/config";
import type { Logger, RequestLine } from "@cortex/core/log";
import type { Fleet } from "./fleet/fleet.ts";
import type { Poller } from "./fleet/poller.ts";
import type { Scheduler } from "./fleet/scheduler.ts";
import type { NeuronEffects } from "./fleet/scheduler_effects.ts";
import type { GatewayMetrics } from "./metrics/gateway_metrics.ts";
import type { RequestRecord } from "./proxy/request_record.ts";

/** The gateway's parts. */
export interface GatewayContext {
  /** `cortex.toml`, defaults applied. */
  config: CortexConfig;
  /** Nodes, catalogue, policy. */
  fleet: Fleet;
  /** The fleet's one owner: routing, loads, unloads, residency. */
  scheduler: Scheduler;
  /** The scheduler's effects (neuron calls, polls, its timer). */
  effects: NeuronEffects;
  /** Node polling. */
  poller: Poller;
  /** Prometheus series. */
  metrics: GatewayMetrics;
  /** Request lines and node health changes (`[log]`). */
  log: Logger;
}

/** Per-request values the middleware sets on the Hono context. */
export interface GatewayVariables {
  /** `x-request-id` (the client's, or generated). */
  requestId: string;
  /** `performance.now()` when the request arrived. */
  startedAt: number;
  /** The API key's name, or null without keys. */
  keyName: string | null;
  /** Models the key may use (empty: all). */
  keyModels: readonly string[];
  /** Whether the key may use admin routes (true when no keys are configured). */
  keyAdmin: boolean;
  /** The request's log line, filled in by the handlers and written when the response ends. */
  requestLine: RequestLine;
  /** An inference request's measurements, once its route began them (the error handler finishes them). */
  record?: RequestRecord;
}

/** Hono environment of the API app. */
export interface GatewayEnv {
  /** Context variables. */
  Variables: GatewayVariables;
}
