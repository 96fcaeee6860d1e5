/**
 * The router: turns a requested model name into a node to send the request to. An alias
 * resolves to its model id; a model loaded on healthy nodes goes to the session's home
 * among them while it is under its load bound (cache-aware, see `affinity.ts`), else to the
 * least loaded; only when no replica is warm is it cold-loaded (single-flight) where
 * placement says. The returned route holds an in-flight lease on the model until released.
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import type { GatewayMetrics } from "../metrics/gateway_metrics.ts";
import { type AffinityOutcome, chooseReplica } from "./affinity.ts";
import { AffinityTable, DEFAULT_AFFINITY_CAPACITY } from "./affinity_table.ts";
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
  /** How the request's session was placed, or null for a request without a session. */
  affinity: AffinityOutcome | null;
}

/** What else a routing decision depends on. */
export interface RouteOptions {
  /** Nodes that just failed this request (a retry after a refused connection). */
  avoid?: readonly string[];
  /** The request's session key (`proxy/session_key.ts`), or null for none. */
  session?: string | null;
  /**
   * The request's keep-alive in seconds (`Infinity`: keep loaded), or null/absent for none:
   * recorded on the chosen node, where it sets how long the model stays loaded after this
   * request (see `idle.ts`).
   */
  keepAliveS?: number | null;
}

/** Router settings. */
export interface RouterOptions {
  /** Counts affinity outcomes (`cortex_affinity_total`). */
  metrics?: GatewayMetrics;
  /** Sessions remembered (least recently used dropped first). */
  affinityCapacity?: number;
}

/** Resolves models to nodes. */
export class Router {
  readonly #fleet: Fleet;
  readonly #loader: Pick<ColdLoader, "ensureLeased">;
  readonly #metrics: GatewayMetrics | null;
  readonly #homes: AffinityTable;

  /** Binds the router to the fleet and the cold loader. */
  constructor(fleet: Fleet, loader: Pick<ColdLoader, "ensureLeased">, options: RouterOptions = {}) {
    this.#fleet = fleet;
    this.#loader = loader;
    this.#metrics = options.metrics ?? null;
    this.#homes = new AffinityTable(options.affinityCapacity ?? DEFAULT_AFFINITY_CAPACITY);
  }

  /** Sessions remembered now. */
  get sessions(): number {
    return this.#homes.size;
  }

  /** Forgets the sessions homed on a node (it went unhealthy: its caches are not to be counted on). */
  forgetNode(name: string): void {
    this.#homes.forgetNode(name);
  }

  /**
   * Picks the node for a request, cold-loading the model when no replica is warm. With a
   * session, a warm home under its load bound is kept (`hit`), a saturated one gives way to
   * a less loaded replica (`overflow`), and a session without a warm home gets the
   * load-aware choice (`miss`); the chosen node becomes the session's home.
   */
  async route(requested: string, options: RouteOptions = {}): Promise<Route> {
    const avoid = options.avoid ?? [];
    const session = options.session ?? null;
    const fleet = this.#fleet;
    const modelId = fleet.catalogue.resolve(requested);
    const neuronModelId = fleet.catalogue.neuronId(modelId);
    if (fleet.nodes.length === 0) {
      throw new CortexError("no neurons are configured in cortex.toml", {
        code: "service_unavailable",
        status: 503,
      });
    }
    const warm = fleet.replicas(neuronModelId).filter((n) => !avoid.includes(n.name));
    if (warm.length > 0) {
      const { node, outcome } = this.#pickWarm(neuronModelId, warm, session);
      const release = node.acquire(neuronModelId, Date.now());
      node.setKeepAlive(neuronModelId, options.keepAliveS ?? null);
      return { modelId, neuronModelId, node, coldLoadMs: 0, evicted: [], release, affinity: outcome };
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
    load.node.setKeepAlive(load.neuronModelId, options.keepAliveS ?? null);
    const coldLoadMs = load.loadMs > 0 || load.evicted.length > 0
      ? Math.round(performance.now() - started)
      : 0;
    const affinity = session === null
      ? null
      : this.#settle(load.neuronModelId, session, load.node.name, "miss");
    return {
      modelId,
      neuronModelId: load.neuronModelId,
      node: load.node,
      coldLoadMs,
      evicted: load.evicted,
      release: load.release,
      affinity,
    };
  }

  // Warm replicas are least loaded first. A home that is not among them (unhealthy,
  // draining, model unloaded or unloading, or avoided) is forgotten.
  #pickWarm(
    modelId: string,
    warm: NodeState[],
    session: string | null,
  ): { node: NodeState; outcome: AffinityOutcome | null } {
    if (session === null) return { node: warm[0], outcome: null };
    let home = this.#homes.get(modelId, session) ?? null;
    if (home !== null && !warm.some((n) => n.name === home)) {
      this.#homes.delete(modelId, session);
      home = null;
    }
    const loads = warm.map((n) => ({ name: n.name, load: n.inFlight(modelId), bound: n.loadBound(modelId) }));
    const choice = chooseReplica(loads, home)!;
    const node = warm.find((n) => n.name === choice.name)!;
    return { node, outcome: this.#settle(modelId, session, node.name, choice.outcome) };
  }

  #settle(modelId: string, session: string, node: string, outcome: AffinityOutcome): AffinityOutcome {
    this.#homes.set(modelId, session, node);
    this.#metrics?.affinity.inc({ outcome });
    return outcome;
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
