/**
 * What the scheduler hands back: a {@linkcode Route} for a request (the node, and an in-flight
 * lease on the model there until released) or a {@linkcode LoadOutcome} for an admin load, and
 * the options a request is routed with.
 *
 * @module
 */
import type { AffinityOutcome } from "./affinity.ts";
import type { NodeState } from "./node_state.ts";

/** Where one request goes. */
export interface Route {
  /** The model id (alias resolved). */
  modelId: string;
  /** The id the neuron serves it under (the body's `model` upstream). */
  neuronModelId: string;
  /** The node. */
  node: NodeState;
  /** How long this request waited for a cold load, in ms (0 when warm). */
  coldLoadMs: number;
  /** Models evicted by that cold load. */
  evicted: string[];
  /** Ends the request's in-flight lease (idempotent); call when the response is over. */
  release: () => void;
  /** How the request's session was placed, or null for a request without a session. */
  affinity: AffinityOutcome | null;
}

/** What else a routing decision depends on. */
export interface RouteOptions {
  /** Nodes that just failed this request (a retry after a refused connection). */
  avoid?: readonly string[];
  /** The request's session key (`proxy/session_key.ts`), or null for none. */
  session?: string | null;
  /** The API key's name (its `max_swaps_per_hour` applies to swaps this request causes), or null. */
  keyName?: string | null;
  /**
   * The request's keep-alive in seconds (`Infinity`: keep loaded), or null/absent for none: how
   * long the model stays loaded once idle after this request (see `idle.ts`).
   */
  keepAliveS?: number | null;
  /** Ends the wait when the client goes away (a queued request leaves the queue). */
  signal?: AbortSignal;
}

/** A finished (or found) admin load. */
export interface LoadOutcome {
  /** Where the model is loaded. */
  node: NodeState;
  /** The id the neuron serves it under. */
  neuronModelId: string;
  /** Wall time of the load in ms (0 when it was already loaded). */
  loadMs: number;
  /** Models unloaded to make room, in order. */
  evicted: string[];
}
