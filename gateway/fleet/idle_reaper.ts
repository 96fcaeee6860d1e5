/**
 * The idle reaper unloads models that stayed idle past their keep-alive: it sleeps until the
 * next model expires (at most a second, so that models the poller finds are seen), or until
 * a model's last request ends, then asks the policy in `idle.ts` which residents are due and
 * unloads them through the {@linkcode Evictor} (reason `idle`), counting each in
 * `cortex_idle_unloads_total` and logging one line. A model that turned busy in between is
 * refused by the evictor or the neuron and stays; it is looked at again on the next sweep.
 *
 * @module
 */
import { Logger } from "@cortex/core/log";
import { toCortexError } from "@cortex/core/errors";
import type { GatewayMetrics } from "../metrics/gateway_metrics.ts";
import type { Evictor } from "./evictor.ts";
import type { Fleet } from "./fleet.ts";
import { effectiveTtlS, idleDecision, type IdleResident } from "./idle.ts";
import type { NodeState } from "./node_state.ts";

/** Idle-reaper settings. */
export interface IdleReaperOptions {
  /** `[eviction] ttl_s`: the time to live of models whose profile sets none (null: never). */
  defaultTtlS: number | null;
  /** Where the line per idle unload goes (default: nowhere). */
  log?: Logger;
  /** Longest sleep between sweeps, in ms (default 1000). */
  maxSleepMs?: number;
}

/** Unloads idle models after their time to live. */
export class IdleReaper {
  readonly #fleet: Fleet;
  readonly #evictor: Evictor;
  readonly #metrics: GatewayMetrics;
  readonly #options: Required<IdleReaperOptions>;
  // node\0model → when the reaper last saw it busy, or first saw it (the start of its idleness
  // when the gateway saw neither its load nor a request, e.g. a neuron's default model).
  readonly #seen = new Map<string, number>();
  #timer: ReturnType<typeof setTimeout> | null = null;
  #running = false;

  /** Binds the reaper to the fleet, the evictor and metrics. */
  constructor(fleet: Fleet, evictor: Evictor, metrics: GatewayMetrics, options: IdleReaperOptions) {
    this.#fleet = fleet;
    this.#evictor = evictor;
    this.#metrics = metrics;
    this.#options = { log: Logger.silent("gateway"), maxSleepMs: 1000, ...options };
  }

  /** Starts sweeping; a model's last request ending wakes the reaper at once. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    for (const node of this.#fleet.nodes) node.onIdle = () => this.#wake(0);
    this.#wake(0);
  }

  /** Stops sweeping (unloads already sent finish on their own). */
  stop(): void {
    this.#running = false;
    for (const node of this.#fleet.nodes) node.onIdle = null;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /**
   * One sweep at `nowMs`: starts the idle unloads that are due and returns their promises
   * (each resolves true when the model was unloaded) with the next deadline.
   */
  sweep(nowMs: number = Date.now()): { unloads: Promise<boolean>[]; nextDeadlineMs: number } {
    const residents: IdleResident[] = [];
    const live = new Set<string>();
    for (const node of this.#fleet.nodes) {
      if (!node.healthy) continue;
      for (const info of node.models.values()) {
        if (info.status !== "loaded" || node.unloading.has(info.id)) continue;
        residents.push(this.#resident(node, info.id, nowMs, live));
      }
    }
    for (const key of [...this.#seen.keys()]) if (!live.has(key)) this.#seen.delete(key);
    const decision = idleDecision(residents, nowMs);
    const unloads = decision.due.map((r) => this.#unload(this.#fleet.node(r.node)!, r, nowMs));
    return { unloads, nextDeadlineMs: decision.nextDeadlineMs };
  }

  #resident(node: NodeState, modelId: string, nowMs: number, live: Set<string>): IdleResident {
    const key = `${node.name}\u0000${modelId}`;
    live.add(key);
    const inFlight = node.inFlight(modelId);
    if (inFlight > 0 || !this.#seen.has(key)) this.#seen.set(key, nowMs);
    const usage = node.usage.get(modelId);
    return {
      node: node.name,
      modelId,
      inFlight,
      // Found loaded and never used: idle since first seen; else since its last use or load.
      idleSinceMs: Math.max(usage?.lastUsedMs ?? 0, usage?.loadedAtMs ?? 0) ||
        (this.#seen.get(key) as number),
      ttlS: this.ttlS(node, modelId),
    };
  }

  /** The keep-alive of a model (neuron id) on a node now, in seconds (`Infinity`: never unloaded for idleness). */
  ttlS(node: NodeState, modelId: string): number {
    const catalogue = this.#fleet.catalogue;
    const profile = catalogue.profile(catalogue.publicId(modelId));
    return effectiveTtlS({
      keepAliveS: node.usage.get(modelId)?.keepAliveS ?? null,
      profileTtlS: profile?.ttl_s ?? null,
      defaultTtlS: this.#options.defaultTtlS,
      pinned: (profile?.pinned_on.length ?? 0) > 0,
    });
  }

  async #unload(node: NodeState, resident: IdleResident, nowMs: number): Promise<boolean> {
    const publicId = this.#fleet.catalogue.publicId(resident.modelId);
    try {
      const unloaded = await this.#evictor.unload(node, resident.modelId, "idle");
      if (!unloaded) return false;
      this.#metrics.idleUnloads.inc({ model: publicId, node: node.name });
      this.#options.log.always("info", "idle_unload", {
        model: publicId,
        node: node.name,
        idle_s: Math.round((nowMs - resident.idleSinceMs) / 100) / 10,
        keep_alive_s: resident.ttlS,
      });
      return true;
    } catch (error) {
      const e = toCortexError(error);
      // Busy again (a request arrived in between): it stays, and its idleness starts over later.
      if (e.code !== "model_busy") {
        this.#options.log.warn("idle_unload_failed", { model: publicId, node: node.name, error: e.message });
      }
      return false;
    }
  }

  #wake(delayMs: number): void {
    if (!this.#running) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (!this.#running) return;
      const now = Date.now();
      const { nextDeadlineMs } = this.sweep(now);
      this.#wake(Math.max(0, Math.min(this.#options.maxSleepMs, nextDeadlineMs - now)));
    }, delayMs);
  }
}
