/**
 * The evictor carries out unloads on a node: each victim is routed around at once (marked
 * unloading), unloaded through the neuron's `/models/unload` without waiting (a model that
 * turned busy is refused by the neuron with `model_busy` and stays), counted by reason,
 * and counted towards the node's `defrag_after_cycles`. Placement, admin requests,
 * defragmentation and the idle reaper all unload through it.
 *
 * @module
 */
import { CortexError, toCortexError } from "@cortex/core/errors";
import type { GatewayMetrics } from "../metrics/gateway_metrics.ts";
import type { Fleet } from "./fleet.ts";
import type { NodeState } from "./node_state.ts";

/** Why a model is unloaded. */
export type EvictionReason = "lru" | "priority" | "defrag" | "admin" | "idle";

/** Unloads models for placement, admin requests and defragmentation. */
export class Evictor {
  readonly #fleet: Fleet;
  readonly #metrics: GatewayMetrics;
  readonly #minResidencyMs: number;

  /** Binds to the fleet and metrics. */
  constructor(fleet: Fleet, metrics: GatewayMetrics) {
    this.#fleet = fleet;
    this.#metrics = metrics;
    this.#minResidencyMs = fleet.policy.minResidencySeconds * 1000;
  }

  /**
   * Unloads one model (by neuron id) on a node; resolves true when it was unloaded, false when
   * it was already gone. Refuses, without calling the neuron, when requests are in flight
   * through this gateway; the neuron itself refuses with `model_busy` when others are. On
   * failure the model is routable again.
   */
  async unload(node: NodeState, neuronModelId: string, reason: EvictionReason): Promise<boolean> {
    const publicId = this.#fleet.catalogue.publicId(neuronModelId);
    const busy = node.inFlight(neuronModelId);
    if (busy > 0) {
      throw new CortexError(
        `'${publicId}' on '${node.name}' has ${busy} request${
          busy === 1 ? "" : "s"
        } in flight; not unloading it`,
        { code: "model_busy", status: 409, retryAfter: 5 },
      );
    }
    const usage = node.usage.get(neuronModelId);
    const young = usage?.loadedAtMs != null && Date.now() - usage.loadedAtMs < this.#minResidencyMs;
    node.unloading.add(neuronModelId);
    try {
      await node.client.unload({ model_id: neuronModelId, wait: false });
    } catch (error) {
      node.unloading.delete(neuronModelId);
      const e = toCortexError(error);
      if (e.code === "model_not_found") return false; // already gone
      throw e;
    }
    const info = node.models.get(neuronModelId);
    if (info) {
      node.models.set(neuronModelId, { ...info, status: "available", devices: [], memory_used_mb: null });
    }
    node.unloading.delete(neuronModelId);
    const labels = { model: publicId, node: node.name };
    this.#metrics.evictions.inc({ ...labels, reason });
    if (young && (reason === "lru" || reason === "priority")) this.#metrics.swapThrash.inc(labels);
    if (reason !== "defrag") node.cycles++; // a defrag's own reloads do not call for another
    return true;
  }
}
