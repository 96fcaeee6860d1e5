/**
 * What the gateway knows about one neuron: health from the poller (consecutive failures,
 * draining), its devices and models as last reported, and the gateway's own bookkeeping per
 * model — requests in flight through this gateway, last use, when it finished loading, and
 * models being unloaded. {@linkcode NodeState.view} turns it into the plain data that
 * placement decides on. {@linkcode NodeState.lostSignal} aborts when the node stops
 * receiving traffic for being unreachable, which ends every call still waiting on it.
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import type { NeuronDiscovery, NeuronHealth, NeuronModelInfo } from "@cortex/core/fleet";
import type { NeuronClient } from "./neuron_client.ts";
import type { DeviceView, NodeView, ResidentModel, ResidentStatus } from "./types.ts";

/** The gateway's bookkeeping for one model on one node. */
export interface ModelUsage {
  /** Last time a request was routed to it (epoch ms), or null. */
  lastUsedMs: number | null;
  /** When the gateway saw it finish loading (epoch ms), or null when unknown. */
  loadedAtMs: number | null;
  /** Requests in flight through this gateway. */
  inFlight: number;
  /**
   * Seconds the last request asked the model to stay loaded after it (`keep_alive`;
   * `Infinity`: keep loaded), or null when it asked nothing (the profile's `ttl_s` applies).
   */
  keepAliveS: number | null;
}

/**
 * A call ended because its node was marked unhealthy while it waited (a 502
 * `upstream_connection_error`; nothing about the node's address).
 */
export class NodeLost extends CortexError {
  /** The node. */
  readonly node: string;

  /** The error for calls waiting on `node`. */
  constructor(node: string) {
    super(`neuron '${node}' stopped answering and was taken out of rotation`, {
      code: "upstream_connection_error",
      status: 502,
      retryAfter: 1,
    });
    this.node = node;
  }
}

/** One poll's answers. */
export interface PollAnswers {
  /** `/discovery`, when fetched this time. */
  discovery: NeuronDiscovery | null;
  /** `/models`. */
  models: NeuronModelInfo[];
  /** `/health`. */
  health: NeuronHealth;
}

/** Mutable state of one neuron. */
export class NodeState {
  /** Node name from `cortex.toml`. */
  readonly name: string;
  /** Control-API client. */
  readonly client: NeuronClient;
  /** Receives traffic (last poll succeeded, or fewer than `unhealthy_after` polls failed since). */
  healthy = false;
  /** The neuron reports it is draining (SIGTERM): no new traffic. */
  draining = false;
  /** Polls failed in a row. */
  consecutiveFailures = 0;
  /** Last successful poll (epoch ms). */
  lastPollMs: number | null = null;
  /** Last poll or proxy failure, for status pages. */
  lastError: string | null = null;
  /** Cached `/discovery`. */
  discovery: NeuronDiscovery | null = null;
  /** Last `/health`. */
  health: NeuronHealth | null = null;
  /** Last `/models`, by neuron model id. */
  readonly models: Map<string, NeuronModelInfo> = new Map();
  /** Gateway bookkeeping, by neuron model id. */
  readonly usage: Map<string, ModelUsage> = new Map();
  /** Models the gateway is unloading now (routed around, never re-chosen as victims). */
  readonly unloading: Set<string> = new Set();
  /** Load/unload cycles since the node was last defragmented. */
  cycles = 0;
  #lost = new AbortController();
  /** Called with a model's neuron id when its last request in flight through this gateway ends. */
  onIdle: ((modelId: string) => void) | null = null;

  /** A node that has not been polled yet (unhealthy until its first answer). */
  constructor(name: string, client: NeuronClient) {
    this.name = name;
    this.client = client;
  }

  /** Records a successful poll; returns true when the node just became healthy. */
  applyPoll(answers: PollAnswers, nowMs: number): boolean {
    if (answers.discovery) this.discovery = answers.discovery;
    this.health = answers.health;
    this.draining = answers.health.status === "draining";
    const seen = new Set<string>();
    for (const info of answers.models) {
      seen.add(info.id);
      const before = this.models.get(info.id);
      this.models.set(info.id, info);
      if (info.status === "loaded" && before?.status !== "loaded") {
        // Loaded since the last poll (or found loaded at the first poll: age unknown).
        const usage = this.usageOf(info.id);
        if (usage.loadedAtMs === null && this.lastPollMs !== null) usage.loadedAtMs = nowMs;
      }
      if (info.status !== "loaded" && info.status !== "loading") this.#forgetResidency(info.id);
    }
    for (const id of [...this.models.keys()]) {
      if (!seen.has(id)) {
        this.models.delete(id);
        this.#forgetResidency(id);
      }
    }
    for (const id of [...this.unloading]) {
      if (this.models.get(id)?.status !== "loaded") this.unloading.delete(id);
    }
    const becameHealthy = !this.healthy;
    if (this.#lost.signal.aborted) this.#lost = new AbortController();
    this.healthy = true;
    this.consecutiveFailures = 0;
    this.lastPollMs = nowMs;
    this.lastError = null;
    return becameHealthy;
  }

  /** Records a failed poll; returns true when the node just became unhealthy. */
  recordFailure(message: string, unhealthyAfter: number): boolean {
    this.consecutiveFailures++;
    this.lastError = message;
    if (this.healthy && this.consecutiveFailures >= unhealthyAfter) {
      this.healthy = false;
      this.#abandon();
      return true;
    }
    return false;
  }

  /** Marks the node unhealthy at once (its endpoint refused a proxied connection). */
  markUnreachable(message: string): boolean {
    this.lastError = message;
    this.consecutiveFailures = Math.max(this.consecutiveFailures, 1);
    const was = this.healthy;
    this.healthy = false;
    this.#abandon();
    return was;
  }

  /**
   * Aborts, with a {@linkcode NodeLost} reason, when the node is marked unhealthy; calls to the
   * node listen to it so that none waits on a node the gateway has given up on. A new signal
   * starts once the node is healthy again.
   */
  get lostSignal(): AbortSignal {
    return this.#lost.signal;
  }

  #abandon(): void {
    if (!this.#lost.signal.aborted) this.#lost.abort(new NodeLost(this.name));
  }

  /** The bookkeeping entry for a model, created on first use. */
  usageOf(modelId: string): ModelUsage {
    let usage = this.usage.get(modelId);
    if (!usage) {
      usage = { lastUsedMs: null, loadedAtMs: null, inFlight: 0, keepAliveS: null };
      this.usage.set(modelId, usage);
    }
    return usage;
  }

  /** Whether requests for `modelId` may be sent here now. */
  serves(modelId: string): boolean {
    return this.healthy && !this.draining && this.models.get(modelId)?.status === "loaded" &&
      !this.unloading.has(modelId);
  }

  /** Requests running or queued on a model here: the larger of this gateway's count and the neuron's. */
  inFlight(modelId: string): number {
    const local = this.usage.get(modelId)?.inFlight ?? 0;
    const stats = this.health?.models.find((m) => m.id === modelId);
    const remote = stats ? stats.in_flight + stats.queue_depth : 0;
    return Math.max(local, remote);
  }

  /**
   * How many requests the model runs at once here (the neuron's `max_in_flight` at the last
   * poll); more wait in its queue. Null when the neuron has not reported it.
   */
  loadBound(modelId: string): number | null {
    const seats = this.health?.models.find((m) => m.id === modelId)?.max_in_flight;
    return seats !== undefined && seats > 0 ? seats : null;
  }

  /**
   * Counts a request in flight on a model from now until the returned function is called
   * (idempotent), and marks the model used.
   */
  acquire(modelId: string, nowMs: number): () => void {
    const usage = this.usageOf(modelId);
    usage.inFlight++;
    usage.lastUsedMs = nowMs;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      usage.inFlight = Math.max(0, usage.inFlight - 1);
      usage.lastUsedMs = Date.now();
      if (usage.inFlight === 0) this.onIdle?.(modelId);
    };
  }

  /** Records the keep-alive a request routed to the model asked for (null: none; see {@linkcode ModelUsage}). */
  setKeepAlive(modelId: string, seconds: number | null): void {
    this.usageOf(modelId).keepAliveS = seconds;
  }

  /** Devices with total and free memory; free falls back to total minus resident use. */
  devices(): DeviceView[] {
    const found = this.discovery?.devices ?? [];
    return found.map((d) => {
      const live = this.health?.devices.find((h) => h.index === d.index);
      if (live && live.memory_total_mb > 0) {
        return {
          index: d.index,
          totalMb: live.memory_total_mb,
          freeMb: live.poisoned ? 0 : live.memory_free_mb,
        };
      }
      const used = [...this.models.values()]
        .filter((m) => m.devices.includes(d.index) && (m.status === "loaded" || m.status === "loading"))
        .reduce((acc, m) => acc + (m.memory_used_mb ?? m.memory_required_mb ?? 0) / m.devices.length, 0);
      return { index: d.index, totalMb: d.memory_total_mb, freeMb: Math.max(0, d.memory_total_mb - used) };
    });
  }

  /** Plain-data view for placement; `priorityOf` maps a neuron model id to its residency class. */
  view(priorityOf: (neuronModelId: string) => number): NodeView {
    const residents: ResidentModel[] = [];
    for (const info of this.models.values()) {
      const status = this.#residentStatus(info);
      if (!status) continue;
      const usage = this.usage.get(info.id);
      residents.push({
        id: info.id,
        status,
        devices: [...info.devices],
        memoryMb: info.memory_used_mb ?? info.memory_required_mb ?? 0,
        inFlight: this.inFlight(info.id),
        lastUsedMs: usage?.lastUsedMs ?? null,
        loadedAtMs: usage?.loadedAtMs ?? null,
        priority: priorityOf(info.id),
      });
    }
    return {
      name: this.name,
      healthy: this.healthy && !this.draining,
      discovered: this.discovery !== null,
      devices: this.devices(),
      residents,
    };
  }

  #residentStatus(info: NeuronModelInfo): ResidentStatus | null {
    if (this.unloading.has(info.id)) return "unloading";
    switch (info.status) {
      case "loaded":
      case "loading":
      case "unloading":
        return info.status;
      default:
        return null;
    }
  }

  #forgetResidency(modelId: string): void {
    const usage = this.usage.get(modelId);
    if (!usage) return;
    usage.loadedAtMs = null;
    if (usage.inFlight === 0) this.usage.delete(modelId);
  }
}
