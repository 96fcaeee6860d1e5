/**
 * The scheduler's public shapes: its settings, a request as it takes one, and what a granted
 * request gets.
 *
 * @module
 */
import type { ColdLoadSection } from "@cortex/core/config";
import type { Logger } from "@cortex/core/log";
import type { GatewayMetrics } from "../metrics/gateway_metrics.ts";
import type { AffinityOutcome } from "./affinity.ts";
import type { NodeState } from "./node_state.ts";

/** Scheduler settings. */
export interface SchedulerOptions {
  /** `[cold_load]` timeouts. */
  coldLoad: ColdLoadSection;
  /** `[eviction] defrag_after_cycles` (0 disables). */
  defragAfterCycles: number;
  /** `[eviction] max_wait_s` in ms: the longest a request waits in the queue for room. */
  maxWaitMs: number;
  /** `[eviction] ttl_s`: how long models whose profile sets no `ttl_s` stay loaded once idle (null: forever). */
  defaultTtlS?: number | null;
  /** Where idle unloads are logged (one line each); none by default. */
  log?: Logger;
  /** `[poller] unhealthy_after`. */
  unhealthyAfter: number;
  /** `[[gateway.keys]] max_swaps_per_hour`, by key name. */
  swapBudgets?: ReadonlyMap<string, number>;
  /** Series to count loads, evictions, defrags, refusals and affinity in. */
  metrics: GatewayMetrics;
  /** Sessions remembered (least recently used dropped first). */
  affinityCapacity?: number;
  /** How long an admin unload waits for the model's requests to end, in ms (default 500). */
  adminDrainMs?: number;
  /** Told when a node changes health (logging); `source`: a poll, or a proxied request. */
  onHealthChange?: (
    node: NodeState,
    healthy: boolean,
    reason: string | null,
    source: "poll" | "request",
  ) => void;
}

/** A request for a model, as {@linkcode Scheduler.submit} takes it. */
export interface TicketRequest {
  /** Model id or alias. */
  model: string;
  /** Load on (or find on) this node only (admin loads). */
  node?: string;
  /** Nodes not to route to (a retry). */
  avoid?: readonly string[];
  /** Session key, or null. */
  session?: string | null;
  /** API key name, or null. */
  keyName?: string | null;
  /** Whether the grant holds an in-flight lease (requests do; admin loads do not). */
  lease: boolean;
  /** The longest it may wait in the queue for room, in ms. */
  maxWaitMs: number;
  /**
   * Seconds the model should stay loaded once idle after this request (`keep_alive`; `Infinity`:
   * keep), or null for none (the profile's `ttl_s` applies). Requests only.
   */
  keepAliveS?: number | null;
}

/** What a granted request gets. */
export interface Grant {
  /** Model id (alias resolved). */
  modelId: string;
  /** The id the neuron serves it under. */
  neuronModelId: string;
  /** The node. */
  node: NodeState;
  /** True when a load was done for it (it waited for one). */
  loaded: boolean;
  /** Wall time of that load in ms (0 when none). */
  loadMs: number;
  /** Models evicted for that load (public ids). */
  evicted: string[];
  /** How long it waited, in ms. */
  waitedMs: number;
  /** Ends its lease (idempotent; a no-op without one). */
  release: () => void;
  /** How its session was placed, or null. */
  affinity: AffinityOutcome | null;
}
