/**
 * The scheduler's book of residency records, one per (node, model), with the reads everyone
 * else uses ({@linkcode ResidencyReader}): whether a node serves a model now, requests in flight,
 * replicas by live load, and the plain-data {@linkcode NodeView} placement decides on. Only the
 * scheduler holds the book itself; the rest of the gateway sees it as a reader.
 *
 * @module
 */
import type { Catalogue } from "./catalogue.ts";
import type { NodeState } from "./node_state.ts";
import type { MutableResidency, Residency } from "./residency.ts";
import type { NodeView, ResidentModel, ResidentStatus } from "./types.ts";

/** Read access to residency (what the admin view, metrics, `/v1/models` and routing read). */
export interface ResidencyReader {
  /** The record of a model (neuron id) on a node, if any. */
  get(node: string, modelId: string): Residency | undefined;
  /** Every record on a node. */
  onNode(node: string): Residency[];
  /** Whether requests for the model may go to the node now (healthy, not draining, model resident). */
  serves(node: NodeState, modelId: string): boolean;
  /** Requests on the model there: the larger of this gateway's leases and the neuron's last report. */
  inFlight(node: NodeState, modelId: string): number;
  /** The node as placement sees it. */
  view(node: NodeState, catalogue: Catalogue): NodeView;
}

/** The records (owned by the scheduler). */
export class ResidencyBook implements ResidencyReader {
  readonly #byNode = new Map<string, Map<string, MutableResidency>>();

  /** The record of a model on a node, if any. */
  get(node: string, modelId: string): MutableResidency | undefined {
    return this.#byNode.get(node)?.get(modelId);
  }

  /** Every record on a node. */
  onNode(node: string): MutableResidency[] {
    return [...(this.#byNode.get(node)?.values() ?? [])];
  }

  /** Model ids with a record on the node. */
  modelsOn(node: string): string[] {
    return [...(this.#byNode.get(node)?.keys() ?? [])];
  }

  /** Stores a record. */
  put(node: string, record: MutableResidency): void {
    let models = this.#byNode.get(node);
    if (!models) this.#byNode.set(node, models = new Map());
    models.set(record.model, record);
  }

  /** Removes a record. */
  remove(node: string, modelId: string): void {
    this.#byNode.get(node)?.delete(modelId);
  }

  /** Whether requests for the model may go to the node now. */
  serves(node: NodeState, modelId: string): boolean {
    return node.healthy && !node.draining && this.get(node.name, modelId)?.state === "resident";
  }

  /** This gateway's leases or the neuron's count, whichever is larger. */
  inFlight(node: NodeState, modelId: string): number {
    return Math.max(this.get(node.name, modelId)?.leases ?? 0, node.reportedInFlight(modelId));
  }

  /** The node as placement sees it: devices from the neuron, residents from the records. */
  view(node: NodeState, catalogue: Catalogue): NodeView {
    const residents: ResidentModel[] = this.onNode(node.name).map((r) => {
      const info = node.models.get(r.model);
      return {
        id: r.model,
        status: _status(r),
        devices: r.devices.length > 0 ? [...r.devices] : [...(info?.devices ?? [])],
        memoryMb: r.memoryMb ?? info?.memory_used_mb ?? info?.memory_required_mb ?? 0,
        inFlight: this.inFlight(node, r.model),
        lastUsedMs: r.lastUsedMs,
        loadedAtMs: r.loadedAtMs,
        protectedUntilMs: r.protectedUntilMs,
        priority: catalogue.priority(catalogue.publicId(r.model)),
      };
    });
    return {
      name: node.name,
      healthy: node.healthy && !node.draining,
      discovered: node.discovery !== null,
      devices: node.devices(),
      residents,
    };
  }
}

function _status(r: Residency): ResidentStatus {
  switch (r.state) {
    case "resident":
      return "loaded";
    case "loading":
      return "loading";
    default:
      return "unloading";
  }
}
