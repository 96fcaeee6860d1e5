/**
 * Placement: which node a cold model should be loaded on, across the fleet. Every healthy
 * node is planned with {@linkcode fitOnNode}; a node with room beats one that needs
 * evictions, fewer and smaller evictions beat more, and when nothing fits the answer says
 * why, node by node.
 *
 * @module
 */
import { describeNeed, fitOnNode, type NodeFit, type NodeMisfit, type NodePlan } from "./eviction.ts";
import type { EvictionPolicy, ModelRequirement, NodeView } from "./types.ts";

/** Why a model cannot be placed anywhere right now. */
export interface PlacementRefusal {
  /**
   * Machine-readable code; `swap_deferred` when only residency floors (`min_residency_s`) stand
   * in the way, so that waiting until `retryAtMs` is enough.
   */
  code:
    | "no_healthy_nodes"
    | "no_feasible_node"
    | "feasible_node_unhealthy"
    | "insufficient_memory"
    | "swap_deferred";
  /** A message naming the numbers and the nodes. */
  message: string;
  /** Seconds after which a retry may succeed, or null when it will not without operator action. */
  retryAfterS: number | null;
  /** The earliest moment residency floors let it fit on some node (epoch ms), or null. */
  retryAtMs: number | null;
  /** Some node is blocked only by requests in flight or loads under way: waiting may help, for an unknown time. */
  blockedByWork: boolean;
}

/** The outcome of {@linkcode planPlacement}: the chosen fit, or a refusal; with every node's plan. */
export type PlacementResult =
  | { ok: true; fit: NodeFit; considered: NodePlan[] }
  | { ok: false; refusal: PlacementRefusal; considered: NodePlan[] };

/**
 * Chooses the node for a model that is loaded nowhere healthy.
 *
 * @example
 * ```ts
 * import { planPlacement } from "./placement.ts";
 * const result = planPlacement(
 *   [{ name: "a", healthy: true, discovered: true, devices: [{ index: 0, totalMb: 8000, freeMb: 8000 }],
 *     residents: [] }],
 *   { id: "m", memoryMb: 500, minDevices: 1, minDeviceMemoryMb: null, pinnedOn: [], priority: 100 },
 *   { strategy: "lru", minResidencySeconds: 60 },
 *   Date.now(),
 * );
 * result.ok && result.fit.node; // "a"
 * ```
 */
export function planPlacement(
  nodes: readonly NodeView[],
  req: ModelRequirement,
  policy: EvictionPolicy,
  nowMs: number,
): PlacementResult {
  const healthy = nodes.filter((n) => n.healthy);
  const considered = healthy.map((n) => fitOnNode(n, req, policy, nowMs));
  const fits = considered.filter((p): p is NodeFit => p.ok);
  if (fits.length > 0) {
    fits.sort(_rankFits);
    return { ok: true, fit: fits[0], considered };
  }
  return { ok: false, refusal: _refusal(nodes, req, policy, nowMs, considered), considered };
}

function _rankFits(a: NodeFit, b: NodeFit): number {
  const young = (f: NodeFit): number => f.victims.filter((v) => v.young).length;
  const evictedMb = (f: NodeFit): number => f.victims.reduce((acc, v) => acc + v.memoryMb, 0);
  return young(a) - young(b) ||
    evictedMb(a) - evictedMb(b) ||
    a.victims.length - b.victims.length ||
    b.freeAfterMb - a.freeAfterMb ||
    (a.node < b.node ? -1 : a.node > b.node ? 1 : 0);
}

function _refusal(
  nodes: readonly NodeView[],
  req: ModelRequirement,
  policy: EvictionPolicy,
  nowMs: number,
  considered: NodePlan[],
): PlacementRefusal {
  const pinned = req.pinnedOn.length > 0
    ? ` (pinned on ${req.pinnedOn.map((n) => `'${n}'`).join(", ")})`
    : "";
  const subject = `model '${req.id}'${pinned}`;
  if (nodes.length === 0) {
    return {
      code: "no_healthy_nodes",
      message: "no neurons are configured",
      retryAfterS: null,
      retryAtMs: null,
      blockedByWork: false,
    };
  }
  const allowed = (node: string): boolean => req.pinnedOn.length === 0 || req.pinnedOn.includes(node);
  const details = considered
    .filter((p) => !p.ok && allowed(p.node))
    .map((p) => `on '${p.node}' ${p.ok ? "it fits" : p.reason}`);
  // Would an unhealthy node take it once it answers again?
  const unhealthyFeasible = nodes
    .filter((n) => !n.healthy && allowed(n.name))
    .filter((n) => {
      const plan = fitOnNode(n, req, policy, nowMs);
      return plan.ok || !plan.permanent;
    })
    .map((n) => `'${n.name}'`);
  const unhealthyNote = unhealthyFeasible.length > 0
    ? `it could go on ${unhealthyFeasible.join(", ")}, unhealthy now`
    : "";
  if (considered.length === 0) {
    return {
      code: "no_healthy_nodes",
      message: `no healthy nodes to serve ${subject}` + (unhealthyNote ? ` (${unhealthyNote})` : ""),
      retryAfterS: 5,
      retryAtMs: null,
      blockedByWork: false,
    };
  }
  const misfits = considered.filter((p): p is NodeMisfit => !p.ok);
  if (misfits.every((p) => p.permanent)) {
    if (unhealthyFeasible.length > 0) {
      return {
        code: "feasible_node_unhealthy",
        message: `${subject} cannot go on any healthy node; ${unhealthyNote}` +
          (details.length > 0 ? ` (${details.join("; ")})` : ""),
        retryAfterS: 3,
        retryAtMs: null,
        blockedByWork: false,
      };
    }
    return {
      code: "no_feasible_node",
      message: `no node can ever hold ${subject}, which needs ${describeNeed(req)}` +
        (details.length > 0 ? `: ${details.join("; ")}` : ""),
      retryAfterS: null,
      retryAtMs: null,
      blockedByWork: false,
    };
  }
  const floors = misfits.map((p) => p.retryAtMs).filter((t): t is number => t !== null);
  const retryAtMs = floors.length > 0 ? Math.min(...floors) : null;
  const blockedByWork = misfits.some((p) => p.blockedByWork);
  const message = `${subject} needs ${describeNeed(req)}; ${details.join("; ")}`;
  if (retryAtMs !== null && !blockedByWork) {
    return {
      code: "swap_deferred",
      message,
      retryAfterS: Math.max(1, Math.ceil((retryAtMs - nowMs) / 1000)),
      retryAtMs,
      blockedByWork,
    };
  }
  return {
    code: "insufficient_memory",
    message,
    retryAfterS: misfits.some((p) => p.transient) ? 5 : null,
    retryAtMs,
    blockedByWork,
  };
}
