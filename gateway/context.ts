/**
 * Everything a gateway request handler needs, built once by `createGateway` and passed to
 * the routes: config, fleet, router, cold loader, evictor, idle reaper, poller, metrics and the log.
 *
 * @module
 */
import type { CortexConfig } from "@cortex/core/config";
import type { Logger, RequestLine } from "@cortex/core/log";
import type { ColdLoader } from "./fleet/cold_loader.ts";
import type { Evictor } from "./fleet/evictor.ts";
import type { Fleet } from "./fleet/fleet.ts";
import type { IdleReaper } from "./fleet/idle_reaper.ts";
import type { Poller } from "./fleet/poller.ts";
import type { Router } from "./fleet/router.ts";
import type { GatewayMetrics } from "./metrics/gateway_metrics.ts";
import type { RequestRecord } from "./proxy/request_record.ts";

/** The gateway's parts. */
export interface GatewayContext {
  /** `cortex.toml`, defaults applied. */
  config: CortexConfig;
  /** Nodes, catalogue, policy. */
  fleet: Fleet;
  /** Model → node. */
  router: Router;
  /** Single-flight loads. */
  loader: ColdLoader;
  /** Unloads. */
  evictor: Evictor;
  /** Idle unloads after each model's keep-alive. */
  reaper: IdleReaper;
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
