/**
 * The router: turns a requested model name into a node to send the request to. An alias
 * resolves to its model id; a model loaded on healthy nodes goes to the least loaded of
 * them; otherwise it is cold-loaded (single-flight) where placement says. The returned
 * route holds an in-flight lease on the model until released.
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import type { ColdLoader } from "./cold_loader.ts";
import type { Fleet } from "./fleet.ts";
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
}

/** Resolves models to nodes. */
export class Router {
  readonly #fleet: Fleet;
  readonly #loader: ColdLoader;

  /** Binds the router to the fleet and the cold loader. */
  constructor(fleet: Fleet, loader: ColdLoader) {
    this.#fleet = fleet;
    this.#loader = loader;
  }

  /**
   * Picks the node for a request, cold-loading the model when needed. `avoid` names nodes
   * that just failed this request (a retry after a refused connection).
   */
  async route(requested: string, avoid: readonly string[] = []): Promise<Route> {
    const fleet = this.#fleet;
    const modelId = fleet.catalogue.resolve(requested);
    const neuronModelId = fleet.catalogue.neuronId(modelId);
    if (fleet.nodes.length === 0) {
      throw new CortexError("no neurons are configured in cortex.toml", {
        code: "service_unavailable",
        status: 503,
      });
    }
    const warm = fleet.replicas(neuronModelId).find((n) => !avoid.includes(n.name));
    if (warm) {
      const release = warm.acquire(neuronModelId, Date.now());
      return { modelId, neuronModelId, node: warm, coldLoadMs: 0, evicted: [], release };
    }
    if (!fleet.isKnown(modelId)) {
      const known = this.knownModels();
      throw new CortexError(
        `model '${requested}' not found` +
          (known.length > 0
            ? `; available: ${known.slice(0, 20).join(", ")}${known.length > 20 ? ", …" : ""}`
            : ""),
        { code: "model_not_found", status: 404, param: "model" },
      );
    }
    if (fleet.healthyNodes().length === 0) {
      throw new CortexError(`no healthy nodes to serve '${modelId}'`, {
        code: "service_unavailable",
        status: 503,
        retryAfter: 5,
      });
    }
    const started = performance.now();
    const load = await this.#loader.ensureLeased(modelId);
    const coldLoadMs = load.loadMs > 0 || load.evicted.length > 0
      ? Math.round(performance.now() - started)
      : 0;
    return {
      modelId,
      neuronModelId: load.neuronModelId,
      node: load.node,
      coldLoadMs,
      evicted: load.evicted,
      release: load.release,
    };
  }

  /** Ids and aliases a client may ask for, sorted. */
  knownModels(): string[] {
    const fleet = this.#fleet;
    const ids = new Set<string>(fleet.catalogue.profiles.map((p) => p.id));
    for (const node of fleet.nodes) {
      for (const id of node.models.keys()) ids.add(fleet.catalogue.publicId(id));
    }
    for (const alias of Object.keys(fleet.catalogue.aliases)) ids.add(alias);
    return [...ids].sort();
  }
}
