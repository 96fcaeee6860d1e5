/**
 * Cold loads, single-flight per model: the first request for a model that is loaded nowhere
 * healthy plans a placement, evicts what the plan says on the chosen node, and calls the
 * neuron's `/models/load` with a timeout scaled to the model's size; concurrent requests
 * for the same model wait for that one load. Loads on one node are serialised so memory
 * plans never race. Also runs the `defrag_after_cycles` release-and-reload pass.
 *
 * @module
 */
import { type ColdLoadSection, coldLoadTimeoutMs } from "@cortex/core/config";
import { CortexError, toCortexError } from "@cortex/core/errors";
import type { GatewayMetrics } from "../metrics/gateway_metrics.ts";
import { _KeyedMutex } from "./_keyed_mutex.ts";
import { fitOnNode, type NodePlan } from "./eviction.ts";
import type { Evictor } from "./evictor.ts";
import type { Fleet } from "./fleet.ts";
import type { NodeState } from "./node_state.ts";
import { planPlacement } from "./placement.ts";

/** A finished (or found) load. */
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

/** A load plus one in-flight lease on the model, taken the moment the load finished. */
export interface LeasedLoad extends LoadOutcome {
  /** Ends the lease (idempotent). */
  release: () => void;
}

/** Cold-loader settings. */
export interface ColdLoaderOptions {
  /** `[cold_load]` timeouts. */
  coldLoad: ColdLoadSection;
  /** `[eviction] defrag_after_cycles` (0 disables). */
  defragAfterCycles: number;
  /** Re-polls a node so that its state is newer than the caller's last action. */
  refresh: (node: NodeState) => Promise<boolean>;
  /** Takes a node that refused a load's connection out of rotation (default: `node.markUnreachable`). */
  unreachable?: (node: NodeState, message: string) => void;
}

interface _Flight {
  promise: Promise<LoadOutcome & { leases: (() => void)[] }>;
  leases: number;
}

class _Replan extends Error {}

/** Single-flight cold loads. */
export class ColdLoader {
  readonly #fleet: Fleet;
  readonly #evictor: Evictor;
  readonly #metrics: GatewayMetrics;
  readonly #options: ColdLoaderOptions;
  readonly #flights = new Map<string, _Flight>();
  readonly #locks = new _KeyedMutex();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();

  /** Binds the loader to the fleet, the evictor and metrics. */
  constructor(fleet: Fleet, evictor: Evictor, metrics: GatewayMetrics, options: ColdLoaderOptions) {
    this.#fleet = fleet;
    this.#evictor = evictor;
    this.#metrics = metrics;
    this.#options = options;
  }

  /** Model ids with a load under way through this gateway. */
  get loading(): string[] {
    return [...this.#flights.keys()];
  }

  /**
   * Makes sure a model (public id) is loaded — on `nodeName` when given, else where
   * placement says — and returns where, holding one in-flight lease on it so that nothing
   * evicts it before the caller's request is sent. Concurrent calls share one load.
   */
  async ensureLeased(id: string, nodeName?: string): Promise<LeasedLoad> {
    const flight = this.#flight(id, nodeName);
    const index = flight.leases++;
    const outcome = await flight.promise;
    return { ...outcome, release: outcome.leases[index] };
  }

  /** Like {@linkcode ColdLoader.ensureLeased} without a lease (admin loads). */
  async ensure(id: string, nodeName?: string): Promise<LoadOutcome> {
    const { leases: _, ...outcome } = await this.#flight(id, nodeName).promise;
    return outcome;
  }

  #flight(id: string, nodeName: string | undefined): _Flight {
    const key = nodeName ? `${id}\u0000${nodeName}` : id;
    let flight = this.#flights.get(key);
    if (!flight) {
      const created: _Flight = { leases: 0, promise: null as unknown as _Flight["promise"] };
      created.promise = this.#load(id, nodeName).then((outcome) => {
        // Leases are taken synchronously as the load completes, before any other planner runs.
        this.#flights.delete(key);
        const now = Date.now();
        const leases = Array.from(
          { length: created.leases },
          () => outcome.node.acquire(outcome.neuronModelId, now),
        );
        return { ...outcome, leases };
      }, (error) => {
        this.#flights.delete(key);
        throw error;
      });
      this.#flights.set(key, created);
      flight = created;
    }
    return flight;
  }

  async #load(id: string, nodeName: string | undefined): Promise<LoadOutcome> {
    const fleet = this.#fleet;
    const neuronId = fleet.catalogue.neuronId(id);
    const excluded: string[] = [];
    let memoryFloorMb = 0;
    let lastError: CortexError | null = null;
    for (let attempt = 0; attempt < fleet.nodes.length + 3; attempt++) {
      const ready = nodeName ? fleet.node(nodeName) : fleet.replicas(neuronId)[0];
      if (ready?.serves(neuronId)) return { node: ready, neuronModelId: neuronId, loadMs: 0, evicted: [] };
      const req = fleet.requirement(id, excluded);
      req.memoryMb = Math.max(req.memoryMb, memoryFloorMb);
      const target = this.#choose(id, neuronId, nodeName, req);
      if (!target.ok) throw target.error;
      const node = target.node;
      try {
        return await this.#locks.run(node.name, () => this.#loadOn(node, id, neuronId, req));
      } catch (error) {
        if (error instanceof _Replan) continue;
        const e = toCortexError(error);
        lastError = e;
        if (e.code === "model_not_found" || e.code === "bad_model_folder") excluded.push(node.name);
        else if (e.code === "upstream_connection_error") {
          if (this.#options.unreachable) this.#options.unreachable(node, e.message);
          else node.markUnreachable(e.message);
          excluded.push(node.name);
        } else if (e.code === "insufficient_memory" && typeof e.extras.required_mb === "number") {
          memoryFloorMb = Math.max(memoryFloorMb + 1, e.extras.required_mb * Math.max(1, req.minDevices));
        } else if (e.code !== "model_busy") {
          throw _loadFailed(id, node.name, e);
        }
        if (nodeName && excluded.includes(nodeName)) throw _loadFailed(id, node.name, e);
      }
    }
    throw lastError ?? new CortexError(`could not load '${id}'`, { code: "model_load_failed", status: 503 });
  }

  #choose(
    id: string,
    neuronId: string,
    nodeName: string | undefined,
    req: ReturnType<Fleet["requirement"]>,
  ): { ok: true; node: NodeState } | { ok: false; error: CortexError } {
    const fleet = this.#fleet;
    if (nodeName) {
      const node = fleet.node(nodeName);
      if (!node) {
        return {
          ok: false,
          error: new CortexError(`no node named '${nodeName}'`, { code: "node_not_found", status: 404 }),
        };
      }
      if (!node.healthy) {
        return {
          ok: false,
          error: new CortexError(`node '${nodeName}' is unhealthy: ${node.lastError ?? "not polled yet"}`, {
            code: "service_unavailable",
            status: 503,
            retryAfter: 3,
          }),
        };
      }
      const plan: NodePlan = fitOnNode(
        node.view((m) => fleet.catalogue.priority(fleet.catalogue.publicId(m))),
        {
          ...req,
          pinnedOn: [],
          excludedNodes: [],
        },
        fleet.policy,
        Date.now(),
      );
      if (!plan.ok) {
        return {
          ok: false,
          error: new CortexError(`model '${id}' cannot go on '${nodeName}': ${plan.reason}`, {
            code: "insufficient_memory",
            status: 503,
            retryAfter: plan.transient ? 5 : null,
          }),
        };
      }
      return { ok: true, node };
    }
    // A load the neuron is already running (e.g. its default models): join it there.
    const joining = fleet.healthyNodes().find((n) => n.models.get(neuronId)?.status === "loading");
    if (joining && !req.excludedNodes?.includes(joining.name)) return { ok: true, node: joining };
    const result = planPlacement(fleet.views(), req, fleet.policy, Date.now());
    if (!result.ok) {
      const r = result.refusal;
      return {
        ok: false,
        error: new CortexError(r.message, { code: r.code, status: 503, retryAfter: r.retryAfterS }),
      };
    }
    return { ok: true, node: fleet.node(result.fit.node) as NodeState };
  }

  async #loadOn(
    node: NodeState,
    id: string,
    neuronId: string,
    req: ReturnType<Fleet["requirement"]>,
  ): Promise<LoadOutcome> {
    const fleet = this.#fleet;
    await this.#options.refresh(node);
    if (node.serves(neuronId)) return { node, neuronModelId: neuronId, loadMs: 0, evicted: [] };
    if (!node.healthy) throw new _Replan();
    const alreadyLoading = node.models.get(neuronId)?.status === "loading";
    const fit = fitOnNode(
      node.view((m) => fleet.catalogue.priority(fleet.catalogue.publicId(m))),
      { ...req, pinnedOn: [], excludedNodes: [] },
      fleet.policy,
      Date.now(),
    );
    if (!fit.ok && !alreadyLoading) throw new _Replan();
    const evicted: string[] = [];
    for (const victim of fit.ok ? fit.victims : []) {
      await this.#evictor.unload(node, victim.id, victim.reason);
      evicted.push(fleet.catalogue.publicId(victim.id));
    }
    const profile = fleet.catalogue.profile(id);
    // Nothing known about an unlisted model's size: the neuron estimates it and picks devices.
    const neuronPlaces = profile === undefined && req.memoryMb === 0;
    const timeoutMs = coldLoadTimeoutMs(this.#options.coldLoad, req.memoryMb);
    const started = performance.now();
    const labels = { model: id, node: node.name };
    try {
      const result = await node.client.load({
        model_id: neuronId,
        ...(fit.ok && !alreadyLoading && !neuronPlaces ? { devices: fit.devices } : {}),
        ...(profile?.quant ? { quant: profile.quant } : {}),
      }, timeoutMs);
      const loadMs = Math.round(performance.now() - started);
      this.#metrics.loadDuration.observe({ ...labels, outcome: "loaded" }, loadMs / 1000);
      const info = node.models.get(neuronId);
      node.models.set(neuronId, {
        ...(info ?? _blankInfo(neuronId)),
        status: "loaded",
        devices: result.devices,
        memory_used_mb: result.memory_used_mb,
      });
      node.usageOf(neuronId).loadedAtMs = Date.now();
      await this.#options.refresh(node);
      this.#maybeDefrag(node);
      return { node, neuronModelId: neuronId, loadMs: result.already_loaded ? 0 : loadMs, evicted };
    } catch (error) {
      this.#metrics.loadDuration.observe(
        { ...labels, outcome: "failed" },
        (performance.now() - started) / 1000,
      );
      void this.#options.refresh(node);
      throw error;
    }
  }

  #maybeDefrag(node: NodeState): void {
    const threshold = this.#options.defragAfterCycles;
    if (threshold <= 0 || node.cycles < threshold) return;
    node.cycles = 0;
    void this.#locks.run(node.name, () => this.#defrag(node)).catch(() => {});
  }

  /** Cancels pending defrag retries (the gateway is shutting down). */
  stop(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  // Release and reload every resident on the node, one at a time, on the same devices. Busy
  // residents are retried every second (up to a minute) until they are idle.
  async #defrag(node: NodeState, only: ReadonlySet<string> | null = null, attempt = 0): Promise<void> {
    if (attempt === 0) this.#metrics.defrags.inc({ node: node.name });
    await this.#options.refresh(node);
    const loaded = [...node.models.values()].filter((m) =>
      m.status === "loaded" && (!only || only.has(m.id))
    );
    const residents = loaded.filter((m) => node.inFlight(m.id) === 0);
    const busy = new Set(loaded.filter((m) => node.inFlight(m.id) > 0).map((m) => m.id));
    if (busy.size > 0 && attempt < 60) {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        void this.#locks.run(node.name, () => this.#defrag(node, busy, attempt + 1)).catch(() => {});
      }, 1000);
      this.#timers.add(timer);
    }
    for (const info of residents) {
      const id = this.#fleet.catalogue.publicId(info.id);
      const key = id;
      if (this.#flights.has(key)) continue;
      const reload = async (): Promise<LoadOutcome> => {
        await this.#evictor.unload(node, info.id, "defrag");
        const quant = this.#fleet.catalogue.profile(id)?.quant;
        const result = await node.client.load(
          {
            model_id: info.id,
            ...(info.devices.length > 0 ? { devices: info.devices } : {}),
            ...(quant ? { quant } : {}), // a defrag reload keeps the profile's quantization
          },
          coldLoadTimeoutMs(this.#options.coldLoad, info.memory_used_mb),
        );
        node.models.set(info.id, { ...info, devices: result.devices, memory_used_mb: result.memory_used_mb });
        node.usageOf(info.id).loadedAtMs = Date.now();
        return { node, neuronModelId: info.id, loadMs: result.load_ms, evicted: [] };
      };
      const flight: _Flight = { leases: 0, promise: null as unknown as _Flight["promise"] };
      flight.promise = reload().then((outcome) => {
        this.#flights.delete(key);
        const now = Date.now();
        return {
          ...outcome,
          leases: Array.from({ length: flight.leases }, () => node.acquire(info.id, now)),
        };
      }, (error) => {
        this.#flights.delete(key);
        throw error;
      });
      this.#flights.set(key, flight);
      await flight.promise.catch(() => {});
    }
    await this.#options.refresh(node);
  }
}

function _loadFailed(id: string, node: string, cause: CortexError): CortexError {
  if (cause.code === "upstream_timeout") {
    return new CortexError(`loading '${id}' on '${node}' did not finish in time: ${cause.message}`, {
      code: "model_load_timeout",
      status: 504,
      retryAfter: 10,
      cause,
    });
  }
  const status = cause.status === 507 || cause.status === 409 || cause.status === 503 ? 503 : 502;
  return new CortexError(`loading '${id}' on '${node}' failed: ${cause.message}`, {
    code: cause.code === "insufficient_memory" ? "insufficient_memory" : "model_load_failed",
    status,
    retryAfter: status === 503 ? (cause.retryAfter ?? 5) : null,
    extras: cause.extras,
    cause,
  });
}

function _blankInfo(id: string): import("@cortex/core/fleet").NeuronModelInfo {
  return {
    id,
    status: "loaded",
    source: null,
    devices: [],
    memory_used_mb: null,
    memory_required_mb: null,
    capabilities: [],
    tool_call: false,
    reasoning: false,
    architecture: null,
  };
}
