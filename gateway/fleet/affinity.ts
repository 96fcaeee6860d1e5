/**
 * Cache-aware replica choice, as a pure policy: a session stays on the replica that served
 * it (its prefix cache is there) while that replica is warm and under its load bound, and
 * otherwise gets the load-aware choice. The router owns the table of homes.
 *
 * @module
 */

/** How a session's request was placed: on its home (`hit`), away from a saturated home (`overflow`), or fresh (`miss`). */
export type AffinityOutcome = "hit" | "miss" | "overflow";

/** One warm replica of the model as the policy sees it. */
export interface ReplicaLoad {
  /** Node name. */
  name: string;
  /** Requests running or queued on the model there. */
  load: number;
  /** Requests the model runs at once there (the neuron's `max_in_flight`), or null when unknown. */
  bound: number | null;
}

/** The policy's answer. */
export interface ReplicaChoice {
  /** The chosen node. */
  name: string;
  /** How it relates to the session's home. */
  outcome: AffinityOutcome;
}

/** Whether one more request would start at once on the replica (an unknown bound never saturates). */
export function underBound(replica: ReplicaLoad): boolean {
  return replica.bound === null || replica.load < replica.bound;
}

/**
 * Chooses among warm replicas (least loaded first, as `Fleet.replicas` orders them) for a
 * session whose home is `home` (null: none known). The home when it is among them and under
 * its bound → `hit`. A saturated home gives way to the least loaded other replica under its
 * bound → `overflow`; when every other replica is saturated too the session stays home
 * (`hit`): moving would lose its cache and wait as long. No home among them → the least
 * loaded replica, `miss`. Null when there is no warm replica (the caller cold-loads).
 *
 * @example
 * ```ts
 * import { chooseReplica } from "./affinity.ts";
 * const replicas = [{ name: "a", load: 0, bound: 4 }, { name: "b", load: 2, bound: 4 }];
 * chooseReplica(replicas, "b"); // { name: "b", outcome: "hit" }
 * chooseReplica(replicas, null); // { name: "a", outcome: "miss" }
 * ```
 */
export function chooseReplica(replicas: readonly ReplicaLoad[], home: string | null): ReplicaChoice | null {
  if (replicas.length === 0) return null;
  const own = replicas.find((r) => r.name === home);
  if (!own) return { name: replicas[0].name, outcome: "miss" };
  if (underBound(own)) return { name: own.name, outcome: "hit" };
  const other = replicas.find((r) => r !== own && underBound(r));
  return other ? { name: other.name, outcome: "overflow" } : { name: own.name, outcome: "hit" };
}
