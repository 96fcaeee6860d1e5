// Test helpers: fleet state from plain data (what neurons answered), no network.
import type { NeuronDiscovery, NeuronHealth, NeuronModelInfo } from "@cortex/core/fleet";
import type { ModelsConfig } from "@cortex/core/config";
import { parseModelsConfig } from "@cortex/core/config";
import { Catalogue } from "./catalogue.ts";
import { Fleet } from "./fleet.ts";
import { NeuronClient } from "./neuron_client.ts";
import { NodeState } from "./node_state.ts";
import type { EvictionPolicy } from "./types.ts";
import { GatewayMetrics } from "../metrics/gateway_metrics.ts";
import { FakeNeurons } from "./_fake_neurons.ts";
import { Scheduler } from "./scheduler.ts";

/** A model entry as a neuron reports it. */
export function info(id: string, over: Partial<NeuronModelInfo> = {}): NeuronModelInfo {
  return {
    id,
    status: "available",
    source: null,
    devices: [],
    memory_used_mb: null,
    memory_required_mb: 100,
    capabilities: ["text"],
    tool_call: false,
    reasoning: false,
    architecture: "Qwen3ForCausalLM",
    ...over,
  };
}

/** A model's line in `/health` (no requests, four seats, unless `over` says otherwise). */
export function modelStats(
  id: string,
  over: Partial<NeuronHealth["models"][number]> = {},
): NeuronHealth["models"][number] {
  return {
    id,
    in_flight: 0,
    queue_depth: 0,
    max_in_flight: 4,
    max_queue: 16,
    rejected_queue_full: 0,
    rejected_timeout: 0,
    completed: 0,
    tok_s_prefill: 0,
    tok_s_decode: 0,
    ...over,
  };
}

/** A discovery answer with CPU devices of `totalMb` each. */
export function discovery(totals: number[]): NeuronDiscovery {
  return {
    hostname: "h",
    os: "linux",
    kernel: "k",
    devices: totals.map((t, index) => ({
      index,
      name: `cpu${index}`,
      backend: "cpu" as const,
      memory_total_mb: t,
      compute_capability: null,
      threads: 1,
    })),
    max_prompt_tokens: 0,
  };
}

/** A health answer with the given free memory per device. */
export function health(
  devices: { total: number; free: number }[],
  models: NeuronHealth["models"] = [],
): NeuronHealth {
  return {
    status: "ok",
    uptime_secs: 10,
    devices: devices.map((d, index) => ({
      index,
      memory_total_mb: d.total,
      memory_used_mb: d.total - d.free,
      memory_free_mb: d.free,
      utilization_pct: null,
      temp_c: null,
      poisoned: false,
    })),
    activation: { state: "ready", pending: [], in_progress: null, completed: [], failed: [] },
    models,
  };
}

/** A polled node. */
export function polledNode(
  name: string,
  models: NeuronModelInfo[],
  devices: { total: number; free: number }[] = [{ total: 1000, free: 1000 }],
): NodeState {
  const node = new NodeState(
    name,
    new NeuronClient({ name, endpoint: "http://127.0.0.1:9", token: null, timeoutMs: 1 }),
  );
  node.applyPoll(
    { discovery: discovery(devices.map((d) => d.total)), models, health: health(devices) },
    Date.now(),
  );
  return node;
}

/** A fleet over nodes and a `models.toml` text. */
export function fleetOf(nodes: NodeState[], modelsToml = "", policy?: EvictionPolicy): Fleet {
  const models: ModelsConfig = parseModelsConfig(modelsToml);
  return new Fleet(nodes, new Catalogue(models), policy ?? { strategy: "lru", minResidencySeconds: 0 });
}

/** A fleet whose scheduler has applied one poll of each node (`models` as the neuron reported them). */
export function polledFleet(
  entries: {
    name: string;
    models: NeuronModelInfo[];
    devices?: { total: number; free: number }[];
    healthy?: boolean;
  }[],
  modelsToml = "",
): { fleet: Fleet; scheduler: Scheduler } {
  const nodes = entries.map((e) =>
    new NodeState(
      e.name,
      new NeuronClient({ name: e.name, endpoint: "http://127.0.0.1:9", token: null, timeoutMs: 1 }),
    )
  );
  const fleet = fleetOf(nodes, modelsToml);
  const scheduler = new Scheduler(fleet, new FakeNeurons([]), {
    coldLoad: { base_s: 60, per_gb_s: 30, max_s: 1800 },
    defragAfterCycles: 0,
    maxWaitMs: 0,
    unhealthyAfter: 2,
    metrics: new GatewayMetrics(fleet),
  });
  for (const e of entries) {
    const devices = e.devices ?? [{ total: 1000, free: 1000 }];
    scheduler.pollAnswered(e.name, {
      discovery: discovery(devices.map((d) => d.total)),
      models: e.models,
      health: health(devices),
    });
    if (e.healthy === false) scheduler.nodeUnreachable(e.name, "down");
  }
  return { fleet, scheduler };
}
