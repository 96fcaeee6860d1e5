/**
 * Every Prometheus series the gateway exports, on a registry of its own (prom-client):
 * request counters, token counters, TTFT split cold/warm, decode rate, end-to-end latency,
 * in-flight requests, model load duration, evictions by reason and per-node health and
 * memory read from the fleet at scrape time. Histograms only, never summaries.
 *
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Fleet } from "../fleet/fleet.ts";

/** Seconds buckets for TTFT (50 ms – 2 min). */
export const TTFT_BUCKETS: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2,
  5,
  10,
  20,
  30,
  60,
  120,
];
/** Seconds buckets for whole requests and loads (up to 20 min). */
export const LONG_BUCKETS: readonly number[] = [
  0.01,
  0.05,
  0.1,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  120,
  300,
  600,
  1200,
];
/** Tokens-per-second buckets. */
export const RATE_BUCKETS: readonly number[] = [1, 2.5, 5, 10, 15, 20, 30, 40, 60, 80, 120, 200, 400, 800];

type _Labels<T extends string> = Partial<Record<T, string | number>>;

/** The gateway's metrics. One instance per gateway; `registry.metrics()` is the exposition. */
export class GatewayMetrics {
  /** The registry `/metrics` serves. */
  readonly registry: Registry = new Registry();
  /** `cortex_requests_total{model,node,dialect,status}`: requests answered, by HTTP status. */
  readonly requests: Counter<"model" | "node" | "dialect" | "status">;
  /** `cortex_stream_errors_total{model,node,dialect}`: streams ended by an upstream failure. */
  readonly streamErrors: Counter<"model" | "node" | "dialect">;
  /** `cortex_prompt_tokens_total{model,node}`. */
  readonly promptTokens: Counter<"model" | "node">;
  /** `cortex_completion_tokens_total{model,node}`. */
  readonly completionTokens: Counter<"model" | "node">;
  /** `cortex_cached_prompt_tokens_total{model,node}`. */
  readonly cachedPromptTokens: Counter<"model" | "node">;
  /** `cortex_time_to_first_token_seconds{model,node,start}`, start = cold | warm; cold includes the load. */
  readonly ttft: Histogram<"model" | "node" | "start">;
  /** `cortex_decode_tokens_per_second{model,node}`: completion tokens over first → last token. */
  readonly decodeRate: Histogram<"model" | "node">;
  /** `cortex_request_duration_seconds{model,node,dialect}`: request arrival → last byte sent. */
  readonly duration: Histogram<"model" | "node" | "dialect">;
  /** `cortex_in_flight_requests{model,node}`: requests being proxied now. */
  readonly inFlight: Gauge<"model" | "node">;
  /** `cortex_model_load_duration_seconds{model,node,outcome}`, outcome = loaded | failed. */
  readonly loadDuration: Histogram<"model" | "node" | "outcome">;
  /** `cortex_evictions_total{model,node,reason}`, reason = lru | priority | defrag | admin. */
  readonly evictions: Counter<"model" | "node" | "reason">;
  /** `cortex_swap_thrash_total{model,node}`: evictions of a model younger than `min_residency_s`. */
  readonly swapThrash: Counter<"model" | "node">;
  /** `cortex_defrags_total{node}`: release-and-reload passes. */
  readonly defrags: Counter<"node">;
  /** `cortex_poll_failures_total{node}`. */
  readonly pollFailures: Counter<"node">;

  /** Creates the series; `fleet` feeds the scrape-time node gauges. */
  constructor(fleet?: Fleet) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: "cortex_requests_total",
      help: "Requests answered, by model, node, client dialect and HTTP status.",
      labelNames: ["model", "node", "dialect", "status"] as const,
      registers,
    });
    this.streamErrors = new Counter({
      name: "cortex_stream_errors_total",
      help: "Streams ended early by an upstream failure (the client got an error event).",
      labelNames: ["model", "node", "dialect"] as const,
      registers,
    });
    this.promptTokens = new Counter({
      name: "cortex_prompt_tokens_total",
      help: "Prompt tokens, from the neuron's usage.",
      labelNames: ["model", "node"] as const,
      registers,
    });
    this.completionTokens = new Counter({
      name: "cortex_completion_tokens_total",
      help: "Completion tokens, from the neuron's usage.",
      labelNames: ["model", "node"] as const,
      registers,
    });
    this.cachedPromptTokens = new Counter({
      name: "cortex_cached_prompt_tokens_total",
      help: "Prompt tokens served from the neuron's prefix cache.",
      labelNames: ["model", "node"] as const,
      registers,
    });
    this.ttft = new Histogram({
      name: "cortex_time_to_first_token_seconds",
      help: "Request arrival to first generated token sent; start=cold includes the cold load.",
      labelNames: ["model", "node", "start"] as const,
      buckets: [...TTFT_BUCKETS],
      registers,
    });
    this.decodeRate = new Histogram({
      name: "cortex_decode_tokens_per_second",
      help: "Completion tokens per second between the first and the last token.",
      labelNames: ["model", "node"] as const,
      buckets: [...RATE_BUCKETS],
      registers,
    });
    this.duration = new Histogram({
      name: "cortex_request_duration_seconds",
      help: "End-to-end latency: request arrival to last byte sent.",
      labelNames: ["model", "node", "dialect"] as const,
      buckets: [...LONG_BUCKETS],
      registers,
    });
    this.inFlight = new Gauge({
      name: "cortex_in_flight_requests",
      help: "Requests being proxied now.",
      labelNames: ["model", "node"] as const,
      registers,
    });
    this.loadDuration = new Histogram({
      name: "cortex_model_load_duration_seconds",
      help: "Model loads through /models/load, by outcome.",
      labelNames: ["model", "node", "outcome"] as const,
      buckets: [...LONG_BUCKETS],
      registers,
    });
    this.evictions = new Counter({
      name: "cortex_evictions_total",
      help: "Models unloaded by the gateway, by reason (lru, priority, defrag, admin).",
      labelNames: ["model", "node", "reason"] as const,
      registers,
    });
    this.swapThrash = new Counter({
      name: "cortex_swap_thrash_total",
      help: "Evictions of a model loaded less than min_residency_s ago (nothing else could make room).",
      labelNames: ["model", "node"] as const,
      registers,
    });
    this.defrags = new Counter({
      name: "cortex_defrags_total",
      help: "Release-and-reload passes after defrag_after_cycles load/unload cycles.",
      labelNames: ["node"] as const,
      registers,
    });
    this.pollFailures = new Counter({
      name: "cortex_poll_failures_total",
      help: "Failed polls of a neuron.",
      labelNames: ["node"] as const,
      registers,
    });
    if (fleet) _fleetGauges(this.registry, fleet);
  }

  /** Adds to a counter only when `value` is a positive number. */
  static addPositive<T extends string>(
    counter: Counter<T>,
    labels: _Labels<T>,
    value: number | null | undefined,
  ): void {
    if (typeof value === "number" && value > 0) counter.inc(labels, value);
  }
}

function _fleetGauges(registry: Registry, fleet: Fleet): void {
  const registers = [registry];
  new Gauge({
    name: "cortex_node_healthy",
    help: "1 when the node receives traffic, else 0.",
    labelNames: ["node"] as const,
    registers,
    collect() {
      for (const n of fleet.nodes) this.set({ node: n.name }, n.healthy && !n.draining ? 1 : 0);
    },
  });
  new Gauge({
    name: "cortex_node_consecutive_poll_failures",
    help: "Polls failed in a row.",
    labelNames: ["node"] as const,
    registers,
    collect() {
      for (const n of fleet.nodes) this.set({ node: n.name }, n.consecutiveFailures);
    },
  });
  new Gauge({
    name: "cortex_device_memory_total_mb",
    help: "Device memory in all (CPU devices: their budget), MB.",
    labelNames: ["node", "device"] as const,
    registers,
    collect() {
      this.reset();
      for (const n of fleet.nodes) {
        for (const d of n.devices()) this.set({ node: n.name, device: d.index }, d.totalMb);
      }
    },
  });
  new Gauge({
    name: "cortex_device_memory_free_mb",
    help: "Device memory free at the last poll, MB.",
    labelNames: ["node", "device"] as const,
    registers,
    collect() {
      this.reset();
      for (const n of fleet.nodes) {
        for (const d of n.devices()) this.set({ node: n.name, device: d.index }, d.freeMb);
      }
    },
  });
  new Gauge({
    name: "cortex_model_loaded",
    help: "1 for each model resident on a node (with its residency class as a label).",
    labelNames: ["node", "model", "class"] as const,
    registers,
    collect() {
      this.reset();
      for (const n of fleet.nodes) {
        for (const m of n.models.values()) {
          if (m.status !== "loaded") continue;
          const id = fleet.catalogue.publicId(m.id);
          this.set({ node: n.name, model: id, class: fleet.catalogue.priority(id) }, 1);
        }
      }
    },
  });
  new Gauge({
    name: "cortex_model_queue_depth",
    help: "Requests in flight plus queued on the neuron for a model, at the last poll.",
    labelNames: ["node", "model"] as const,
    registers,
    collect() {
      this.reset();
      for (const n of fleet.nodes) {
        for (const m of n.health?.models ?? []) {
          this.set({ node: n.name, model: fleet.catalogue.publicId(m.id) }, m.in_flight + m.queue_depth);
        }
      }
    },
  });
  new Gauge({
    name: "cortex_model_decode_tokens_per_second",
    help: "The neuron's moving-average decode speed for a model, at the last poll.",
    labelNames: ["node", "model"] as const,
    registers,
    collect() {
      this.reset();
      for (const n of fleet.nodes) {
        for (const m of n.health?.models ?? []) {
          this.set({ node: n.name, model: fleet.catalogue.publicId(m.id) }, m.tok_s_decode);
        }
      }
    },
  });
}
