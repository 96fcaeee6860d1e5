// Private to the scheduler: where a model's next load should go, as a decision over the
// scheduler's state — serve from a replica, load on a node, wait, or refuse.
import { CortexError } from "@cortex/core/errors";
import type { _SchedulerCore } from "./_scheduler_types.ts";
import { fitOnNode } from "./eviction.ts";
import { planPlacement } from "./placement.ts";
import type { ModelRequirement } from "./types.ts";

/** What is to be loaded, and what earlier tries taught. */
export interface _PlanTarget {
  /** Model id. */
  modelId: string;
  /** Neuron model id. */
  neuronId: string;
  /** Admin loads: this node only, or null. */
  node: string | null;
  /** Nodes that cannot load it (a failed try). */
  excluded: string[];
  /** At least this much memory (a neuron's 507 said so), in MB. */
  memoryFloorMb: number;
  /** The API key that pays for a swap, or null. */
  keyName: string | null;
}

/** The decision. */
export type _Plan =
  | { kind: "serve"; node: string }
  | { kind: "load"; node: string; joining: boolean }
  | { kind: "wait"; error: CortexError; retryAtMs: number | null }
  | { kind: "refuse"; error: CortexError };

/** The model's requirement with what earlier tries taught. */
export function _requirement(core: _SchedulerCore, target: _PlanTarget): ModelRequirement {
  const req = core.fleet.requirement(target.modelId, target.excluded);
  req.memoryMb = Math.max(req.memoryMb, target.memoryFloorMb);
  return req;
}

/** Decides where the target's load goes now. */
export function _planLoad(core: _SchedulerCore, target: _PlanTarget): _Plan {
  const { fleet, book } = core;
  const now = core.fx.now();
  const req = _requirement(core, target);
  if (target.node !== null) return _planOnNode(core, target, target.node, req);
  const replica = core.replicas(target.neuronId).find((n) => !target.excluded.includes(n.name));
  if (replica) return { kind: "serve", node: replica.name };
  const healthy = fleet.healthyNodes().filter((n) => !target.excluded.includes(n.name));
  const leaving = healthy.find((n) => {
    const state = book.get(n.name, target.neuronId)?.state;
    return state === "draining" || state === "unloading";
  });
  if (leaving) {
    return {
      kind: "wait",
      error: new CortexError(
        `'${target.modelId}' is being unloaded on '${leaving.name}'; try again shortly`,
        {
          code: "service_unavailable",
          status: 503,
          retryAfter: 2,
        },
      ),
      retryAtMs: null,
    };
  }
  // A load the neuron runs on its own (e.g. its default models): join it there.
  const joining = healthy.find((n) => {
    const record = book.get(n.name, target.neuronId);
    return record?.state === "loading" && !record.ours;
  });
  if (joining) return { kind: "load", node: joining.name, joining: true };
  const views = fleet.nodes.map((n) => book.view(n, fleet.catalogue));
  const result = planPlacement(views, req, fleet.policy, now);
  if (!result.ok) {
    const r = result.refusal;
    const error = new CortexError(r.message, { code: r.code, status: 503, retryAfter: r.retryAfterS });
    if (r.blockedByWork) return { kind: "wait", error, retryAtMs: null };
    if (r.retryAtMs !== null) return { kind: "wait", error, retryAtMs: r.retryAtMs };
    return { kind: "refuse", error };
  }
  const refusal = _overBudget(core, target, result.fit.victims.map((v) => v.id), now);
  if (refusal) return { kind: "refuse", error: refusal };
  return { kind: "load", node: result.fit.node, joining: false };
}

function _planOnNode(core: _SchedulerCore, target: _PlanTarget, name: string, req: ModelRequirement): _Plan {
  const { fleet, book } = core;
  const node = fleet.node(name);
  if (!node) {
    return {
      kind: "refuse",
      error: new CortexError(`no node named '${name}'`, { code: "node_not_found", status: 404 }),
    };
  }
  if (book.serves(node, target.neuronId)) return { kind: "serve", node: name };
  if (!node.healthy) {
    return {
      kind: "refuse",
      error: new CortexError(`node '${name}' is unhealthy: ${node.lastError ?? "not polled yet"}`, {
        code: "service_unavailable",
        status: 503,
        retryAfter: 3,
      }),
    };
  }
  const record = book.get(name, target.neuronId);
  if (record?.state === "loading" && !record.ours) return { kind: "load", node: name, joining: true };
  if (record && record.state !== "loading") {
    return {
      kind: "wait",
      error: new CortexError(`'${target.modelId}' is being unloaded on '${name}'; try again shortly`, {
        code: "service_unavailable",
        status: 503,
        retryAfter: 2,
      }),
      retryAtMs: null,
    };
  }
  const now = core.fx.now();
  const plan = fitOnNode(
    book.view(node, fleet.catalogue),
    { ...req, pinnedOn: [], excludedNodes: [] },
    fleet.policy,
    now,
  );
  if (!plan.ok) {
    const deferred = plan.retryAtMs !== null && !plan.blockedByWork;
    const error = new CortexError(`model '${target.modelId}' cannot go on '${name}': ${plan.reason}`, {
      code: deferred ? "swap_deferred" : "insufficient_memory",
      status: 503,
      retryAfter: plan.retryAtMs !== null
        ? Math.max(1, Math.ceil((plan.retryAtMs - now) / 1000))
        : plan.transient
        ? 5
        : null,
    });
    if (!plan.transient) return { kind: "refuse", error };
    return { kind: "wait", error, retryAtMs: deferred ? plan.retryAtMs : null };
  }
  const refusal = _overBudget(core, target, plan.victims.map((v) => v.id), now);
  if (refusal) return { kind: "refuse", error: refusal };
  return { kind: "load", node: name, joining: false };
}

/** The refusal when evicting `victims` would take the key past its swap budget, else null. */
export function _overBudget(
  core: _SchedulerCore,
  target: _PlanTarget,
  victims: readonly string[],
  nowMs: number,
): CortexError | null {
  if (victims.length === 0) return null;
  const answer = core.budgets.check(target.keyName, nowMs);
  if (answer.ok) return null;
  const names = victims.map((v) => `'${core.fleet.catalogue.publicId(v)}'`).join(", ");
  return new CortexError(
    `API key '${target.keyName}' has used its ${answer.limit} swaps this hour (max_swaps_per_hour); ` +
      `loading '${target.modelId}' would evict ${names}`,
    {
      code: "swap_budget_exceeded",
      status: 429,
      retryAfter: Math.max(1, Math.ceil((answer.retryAtMs - nowMs) / 1000)),
    },
  );
}
