/**
 * What the gateway knows about one neuron from its answers: health (consecutive failures,
 * draining), its devices and the models it reports, as of the last poll. Everything is read-only
 * from outside; the three named transitions ({@linkcode NodeState.applyPoll},
 * {@linkcode NodeState.recordFailure}, {@linkcode NodeState.markUnreachable}) are called by the
 * fleet scheduler alone, which also keeps the gateway's own residency per model (`scheduler.ts`).
 * {@linkcode NodeState.lostSignal} aborts when the node stops receiving traffic for being
 * unreachable, which ends every call still waiting on it.
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import type { NeuronDiscovery, NeuronHealth, NeuronModelInfo } from "@cortex/core/fleet";
import type { NeuronClient } from "./neuron_client.ts";
import type { DeviceView } from "./types.ts";

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

/** What one neuron last told the gateway. */
export class NodeState {
  /** Node name from `cortex.toml`. */
  readonly name: string;
  /** Control-API client. */
  readonly client: NeuronClient;
  #healthy = false;
  #draining = false;
  #consecutiveFailures = 0;
  #lastPollMs: number | null = null;
  #lastError: string | null = null;
  #discovery: NeuronDiscovery | null = null;
  #health: NeuronHealth | null = null;
  readonly #models = new Map<string, NeuronModelInfo>();
  #lost = new AbortController();

  /** A node that has not been polled yet (unhealthy until its first answer). */
  constructor(name: string, client: NeuronClient) {
    this.name = name;
    this.client = client;
  }

  /** Receives traffic (last poll succeeded, or fewer than `unhealthy_after` polls failed since). */
  get healthy(): boolean {
    return this.#healthy;
  }

  /** The neuron reports it is draining (SIGTERM): no new traffic. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Polls failed in a row. */
  get consecutiveFailures(): number {
    return this.#consecutiveFailures;
  }

  /** Last successful poll (epoch ms). */
  get lastPollMs(): number | null {
    return this.#lastPollMs;
  }

  /** Last poll or proxy failure, for status pages. */
  get lastError(): string | null {
    return this.#lastError;
  }

  /** Cached `/discovery`. */
  get discovery(): NeuronDiscovery | null {
    return this.#discovery;
  }

  /** Last `/health`. */
  get health(): NeuronHealth | null {
    return this.#health;
  }

  /** Last `/models`, by neuron model id (what the neuron reports, not the gateway's residency). */
  get models(): ReadonlyMap<string, NeuronModelInfo> {
    return this.#models;
  }

  /** Records a successful poll; returns true when the node just became healthy. */
  applyPoll(answers: PollAnswers, nowMs: number): boolean {
    if (answers.discovery) this.#discovery = answers.discovery;
    this.#health = answers.health;
    this.#draining = answers.health.status === "draining";
    this.#models.clear();
    for (const info of answers.models) this.#models.set(info.id, info);
    const becameHealthy = !this.#healthy;
    if (this.#lost.signal.aborted) this.#lost = new AbortController();
    this.#healthy = true;
    this.#consecutiveFailures = 0;
    this.#lastPollMs = nowMs;
    this.#lastError = null;
    return becameHealthy;
  }

  /** Records a failed poll; returns true when the node just became unhealthy. */
  recordFailure(message: string, unhealthyAfter: number): boolean {
    this.#consecutiveFailures++;
    this.#lastError = message;
    if (this.#healthy && this.#consecutiveFailures >= unhealthyAfter) {
      this.#healthy = false;
      this.#abandon();
      return true;
    }
    return false;
  }

  /** Marks the node unhealthy at once (its endpoint refused a connection); true when it was healthy. */
  markUnreachable(message: string): boolean {
    this.#lastError = message;
    this.#consecutiveFailures = Math.max(this.#consecutiveFailures, 1);
    const was = this.#healthy;
    this.#healthy = false;
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

  /** Requests running or queued on a model here as the neuron last reported them (all gateways). */
  reportedInFlight(modelId: string): number {
    const stats = this.#health?.models.find((m) => m.id === modelId);
    return stats ? stats.in_flight + stats.queue_depth : 0;
  }

  /**
   * How many requests the model runs at once here (the neuron's `max_in_flight` at the last
   * poll); more wait in its queue. Null when the neuron has not reported it.
   */
  loadBound(modelId: string): number | null {
    const seats = this.#health?.models.find((m) => m.id === modelId)?.max_in_flight;
    return seats !== undefined && seats > 0 ? seats : null;
  }

  /** Devices with total and free memory; free falls back to total minus what the neuron reports resident. */
  devices(): DeviceView[] {
    const found = this.#discovery?.devices ?? [];
    return found.map((d) => {
      const live = this.#health?.devices.find((h) => h.index === d.index);
      if (live && live.memory_total_mb > 0) {
        return {
          index: d.index,
          totalMb: live.memory_total_mb,
          freeMb: live.poisoned ? 0 : live.memory_free_mb,
        };
      }
      const used = [...this.#models.values()]
        .filter((m) => m.devices.includes(d.index) && (m.status === "loaded" || m.status === "loading"))
        .reduce((acc, m) => acc + (m.memory_used_mb ?? m.memory_required_mb ?? 0) / m.devices.length, 0);
      return { index: d.index, totalMb: d.memory_total_mb, freeMb: Math.max(0, d.memory_total_mb - used) };
    });
  }
}
