// Test double: a fleet of neurons as plain data behind the scheduler's effects. Every action
// the scheduler asks for is recorded and answered only when the test says (never inside the
// call), so tests and the property test decide the order of events. Loads and unloads change
// the fake neurons' memory; polls report it as a neuron would.
import { parseModelsConfig } from "@cortex/core/config";
import { CortexError } from "@cortex/core/errors";
import type { LoadModelRequest, LoadModelResult, NeuronHealth, NeuronModelInfo } from "@cortex/core/fleet";
import { GatewayMetrics } from "../metrics/gateway_metrics.ts";
import { Catalogue } from "./catalogue.ts";
import { Fleet } from "./fleet.ts";
import { NeuronClient } from "./neuron_client.ts";
import { NodeState, type PollAnswers } from "./node_state.ts";
import { Scheduler, type SchedulerOptions } from "./scheduler.ts";
import type { Outcome, SchedulerEffects, UnloadReason } from "./scheduler_effects.ts";
import type { EvictionPolicy } from "./types.ts";
import { discovery, info, modelStats } from "./_test_fleet.ts";

/** One fake neuron. */
export interface FakeNodeSpec {
  /** Node name. */
  name: string;
  /** Device memory in MB, one entry per device (default one device of 1000 MB). */
  devices?: number[];
  /** Model ids it has files for. */
  models: string[];
  /** Models resident from the start: id → devices. */
  loaded?: Record<string, number[]>;
  /** `max_in_flight` per model (default 4; null: not reported). */
  bounds?: Record<string, number | null>;
}

interface _FakeNode {
  spec: FakeNodeSpec;
  alive: boolean;
  loaded: Map<string, { devices: number[]; mb: number }>;
  reported: Map<string, number>;
}

/** A recorded load. */
export interface PendingLoad {
  /** Node. */
  node: string;
  /** The request. */
  request: LoadModelRequest;
  /** Its timeout. */
  timeoutMs: number;
  /** Answers it. */
  done: (outcome: Outcome<LoadModelResult>) => void;
}

/** A recorded unload. */
export interface PendingUnload {
  /** Node. */
  node: string;
  /** Model. */
  modelId: string;
  /** Why. */
  reason: UnloadReason;
  /** Answers it. */
  done: (outcome: Outcome<void>) => void;
}

/** The fake neurons, as the scheduler's effects. */
export class FakeNeurons implements SchedulerEffects {
  /** The fake clock (epoch ms). */
  clock = 1_000_000;
  /** Memory per model in MB (default 100). */
  readonly sizes = new Map<string, number>();
  /** Refreshes asked for and not answered. */
  refreshes: { node: string; done: () => void }[] = [];
  /** Loads asked for and not answered. */
  loads: PendingLoad[] = [];
  /** Unloads asked for and not answered. */
  unloads: PendingUnload[] = [];
  /** Every load ever asked for. */
  readonly loadLog: PendingLoad[] = [];
  /** Every unload ever asked for. */
  readonly unloadLog: PendingUnload[] = [];
  /** When the scheduler asked to be woken (epoch ms), or null. */
  wakeAt: number | null = null;
  /** The scheduler (set by {@linkcode scheduledFleet}). */
  scheduler!: Scheduler;
  readonly #nodes = new Map<string, _FakeNode>();
  #wake: (() => void) | null = null;

  /** The fake neurons. */
  constructor(specs: FakeNodeSpec[], sizes: Record<string, number> = {}) {
    for (const spec of specs) {
      const loaded = new Map<string, { devices: number[]; mb: number }>();
      for (const [id, devices] of Object.entries(spec.loaded ?? {})) loaded.set(id, { devices, mb: 0 });
      this.#nodes.set(spec.name, { spec, alive: true, loaded, reported: new Map() });
    }
    for (const [id, mb] of Object.entries(sizes)) this.sizes.set(id, mb);
    for (const node of this.#nodes.values()) for (const [id, m] of node.loaded) m.mb = this.size(id);
  }

  /** A model's size in MB. */
  size(id: string): number {
    return this.sizes.get(id) ?? 100;
  }

  now(): number {
    return this.clock;
  }

  sleep(atMs: number, wake: () => void): void {
    this.wakeAt = atMs;
    this.#wake = wake;
  }

  refresh(node: string, done: () => void): void {
    this.refreshes.push({ node, done });
  }

  load(
    node: string,
    request: LoadModelRequest,
    timeoutMs: number,
    done: (o: Outcome<LoadModelResult>) => void,
  ): void {
    const pending = { node, request, timeoutMs, done };
    this.loads.push(pending);
    this.loadLog.push(pending);
  }

  unload(node: string, modelId: string, reason: UnloadReason, done: (o: Outcome<void>) => void): void {
    const pending = { node, modelId, reason, done };
    this.unloads.push(pending);
    this.unloadLog.push(pending);
  }

  // ---- the world ----------------------------------------------------------------------------

  /** Whether the node answers. */
  alive(node: string): boolean {
    return this.#nodes.get(node)!.alive;
  }

  /** Stops (false) or restarts (true) answering. */
  setAlive(node: string, alive: boolean): void {
    this.#nodes.get(node)!.alive = alive;
  }

  /** Models resident on the fake neuron now. */
  loadedOn(node: string): string[] {
    return [...this.#nodes.get(node)!.loaded.keys()].sort();
  }

  /** Free memory per device on the fake neuron now. */
  freeOn(node: string): number[] {
    const n = this.#nodes.get(node)!;
    return (n.spec.devices ?? [1000]).map((total, index) => {
      let used = 0;
      for (const m of n.loaded.values()) if (m.devices.includes(index)) used += m.mb / m.devices.length;
      return total - used;
    });
  }

  /** What the neuron reports as in flight for a model (requests from other gateways). */
  setReportedInFlight(node: string, model: string, count: number): void {
    this.#nodes.get(node)!.reported.set(model, count);
  }

  /** The node's poll answers now. */
  answers(name: string): PollAnswers {
    const n = this.#nodes.get(name)!;
    const devices = n.spec.devices ?? [1000];
    const free = this.freeOn(name);
    const models: NeuronModelInfo[] = n.spec.models.map((id) => {
      const m = n.loaded.get(id);
      return info(id, {
        status: m ? "loaded" : "available",
        devices: m ? m.devices : [],
        memory_used_mb: m ? m.mb : null,
        memory_required_mb: this.size(id),
      });
    });
    const stats: NeuronHealth["models"] = [...n.loaded.keys()]
      .filter((id) => n.spec.bounds?.[id] !== null)
      .map((id) =>
        modelStats(id, { in_flight: n.reported.get(id) ?? 0, max_in_flight: n.spec.bounds?.[id] ?? 4 })
      );
    return {
      discovery: discovery(devices),
      models,
      health: {
        status: "ok",
        uptime_secs: 10,
        devices: devices.map((total, index) => ({
          index,
          memory_total_mb: total,
          memory_used_mb: total - free[index],
          memory_free_mb: free[index],
          utilization_pct: null,
          temp_c: null,
          poisoned: false,
        })),
        activation: { state: "ready", pending: [], in_progress: null, completed: [], failed: [] },
        models: stats,
      },
    };
  }

  /** Polls one node (a failed poll when it is not alive). */
  poll(name: string): void {
    if (this.alive(name)) this.scheduler.pollAnswered(name, this.answers(name));
    else this.scheduler.pollFailed(name, `neuron '${name}' is unreachable`);
  }

  /** Polls every node. */
  pollAll(): void {
    for (const name of this.#nodes.keys()) this.poll(name);
  }

  /** Answers every pending refresh with a poll. */
  answerRefreshes(): void {
    const pending = this.refreshes;
    this.refreshes = [];
    for (const r of pending) {
      this.poll(r.node);
      r.done();
    }
  }

  /** Answers a pending load: done on the fake neuron (default), or the given error. */
  finishLoad(index = 0, error?: CortexError): PendingLoad {
    const [pending] = this.loads.splice(index, 1);
    const n = this.#nodes.get(pending.node)!;
    if (error || !n.alive) {
      pending.done({ ok: false, error: error ?? _unreachable(pending.node) });
      return pending;
    }
    const already = n.loaded.get(pending.request.model_id);
    const devices = already?.devices ?? pending.request.devices ??
      this.#firstFit(pending.node, pending.request.model_id);
    if (!already) {
      n.loaded.set(pending.request.model_id, { devices, mb: this.size(pending.request.model_id) });
    }
    pending.done({
      ok: true,
      value: {
        status: "loaded",
        model_id: pending.request.model_id,
        already_loaded: already !== undefined,
        devices,
        memory_used_mb: this.size(pending.request.model_id),
        load_ms: 5,
      },
    });
    return pending;
  }

  /** Answers a pending unload: done on the fake neuron (default), or the given error. */
  finishUnload(index = 0, error?: CortexError): PendingUnload {
    const [pending] = this.unloads.splice(index, 1);
    const n = this.#nodes.get(pending.node)!;
    if (error || !n.alive) {
      pending.done({ ok: false, error: error ?? _unreachable(pending.node) });
      return pending;
    }
    n.loaded.delete(pending.modelId);
    pending.done({ ok: true, value: undefined });
    return pending;
  }

  /** Answers everything pending, refreshes first, until nothing is left. */
  settle(): void {
    for (let i = 0; i < 1000; i++) {
      if (this.refreshes.length > 0) this.answerRefreshes();
      else if (this.unloads.length > 0) this.finishUnload();
      else if (this.loads.length > 0) this.finishLoad();
      else return;
    }
    throw new Error("the scheduler never stopped asking");
  }

  /** Moves the clock on, firing the scheduler's timer when it is due. */
  advance(ms: number): void {
    this.clock += ms;
    if (this.wakeAt !== null && this.wakeAt <= this.clock && this.#wake) {
      this.wakeAt = null;
      this.#wake();
    }
  }

  #firstFit(node: string, model: string): number[] {
    const free = this.freeOn(node);
    const index = free.findIndex((f) => f >= this.size(model));
    return [Math.max(0, index)];
  }
}

function _unreachable(node: string): CortexError {
  return new CortexError(`neuron '${node}' is unreachable`, {
    code: "upstream_connection_error",
    status: 502,
    retryAfter: 1,
  });
}

/** A scheduler over fake neurons, every node polled once. */
export function scheduledFleet(
  specs: FakeNodeSpec[],
  options: {
    modelsToml?: string;
    sizes?: Record<string, number>;
    policy?: EvictionPolicy;
    scheduler?: Partial<SchedulerOptions>;
    neurons?: FakeNeurons;
  } = {},
): { s: Scheduler; fx: FakeNeurons; fleet: Fleet; metrics: GatewayMetrics } {
  const fx = options.neurons ?? new FakeNeurons(specs, options.sizes);
  const nodes = specs.map((spec) =>
    new NodeState(
      spec.name,
      new NeuronClient({ name: spec.name, endpoint: "http://127.0.0.1:9", token: null, timeoutMs: 1 }),
    )
  );
  const fleet = new Fleet(
    nodes,
    new Catalogue(parseModelsConfig(options.modelsToml ?? "")),
    options.policy ?? { strategy: "lru", minResidencySeconds: 0 },
  );
  const metrics = new GatewayMetrics(fleet);
  const s = new Scheduler(fleet, fx, {
    coldLoad: { base_s: 60, per_gb_s: 30, max_s: 1800 },
    defragAfterCycles: 0,
    maxWaitMs: 30_000,
    unhealthyAfter: 2,
    metrics,
    ...options.scheduler,
  });
  fx.scheduler = s;
  fx.pollAll();
  return { s, fx, fleet, metrics };
}
