/**
 * Every Prometheus series the gateway exports, on a registry of its own (prom-client):
 * request counters, token counters, TTFT split cold/warm, decode rate, end-to-end latency,
 * in-flight requests, model load duration, evictions by reason, session affinity outcomes
 * and per-node health and memory read from the fleet at scrape time. Histograms only, never summaries.
 * Beside the registry, {@linkcode Activity} keeps the last requests and short samples for `/ui`.
 *
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Fleet } from "../fleet/fleet.ts";
import type { ResidencyReader } from "../fleet/residency_book.ts";
import { Activity } from "./activity.ts";

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
  /** Recent requests and 10-second samples (not exported to Prometheus; the dashboard reads them). */
  readonly activity: Activity = new Activity();
  /** `cortex_requests_total{model,node,dialect,status}`: requests answered, by HTTP status. */
  readonly requests: Counter<"model" | "node" | "dialect" | "status">;
  /** `cortex_stream_errors_total{model,node,dialect}`: streams ended by an upstream failure. */
  readonly streamErrors: Counter<"model" | "node" | "dialect">;
  /** `cortex_stream_violations_total{dialect,rule}`: breaks of a stream's event grammar caught by the stream guard. */
  readonly streamViolations: Counter<"dialect" | "rule">;
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
  /** `cortex_evictions_total{model,node,reason}`, reason = lru | priority | defrag | admin | idle. */
  readonly evictions: Counter<"model" | "node" | "reason">;
  /** `cortex_swap_thrash_total{model,node}`: evictions of a model younger than `min_residency_s`. */
  readonly swapThrash: Counter<"model" | "node">;
  /** `cortex_idle_unloads_total{model,node}`: models unloaded after their keep-alive ran out. */
  readonly idleUnloads: Counter<"model" | "node">;
  /** `cortex_catalogue_reloads_total{outcome}`, outcome = applied | rejected: `models.toml` reloads. */
  readonly catalogueReloads: Counter<"outcome">;
  /** `cortex_defrags_total{node}`: release-and-reload passes. */
  readonly defrags: Counter<"node">;
  /**
   * `cortex_swaps_refused_total{model,reason}`: requests refused rather than swap, reason =
   * min_residency (the model in the way is inside its residency floor) | swap_budget (the key's
   * `max_swaps_per_hour` is used up).
   */
  readonly swapRefusals: Counter<"model" | "reason">;
  /** `cortex_poll_failures_total{node}`. */
  readonly pollFailures: Counter<"node">;
  /** `cortex_affinity_total{outcome}`, outcome = hit | miss | overflow: how requests with a session were placed. */
  readonly affinity: Counter<"outcome">;

  /**
   * Creates the series; `fleet` feeds the scrape-time node gauges, `residency` (the scheduler's,
   * once it exists) the per-model ones.
   */
  constructor(fleet?: Fleet, residency: () => ResidencyReader | null = () => null) {
    const r = [this.registry];
    this.requests = _counter(
      r,
      "cortex_requests_total",
      ["model", "node", "dialect", "status"],
      "Requests answered, by model, node, client dialect and HTTP status.",
    );
    this.streamErrors = _counter(
      r,
      "cortex_stream_errors_total",
      ["model", "node", "dialect"],
      "Streams ended early by an upstream failure (the client got an error event).",
    );
    this.streamViolations = _counter(
      r,
      "cortex_stream_violations_total",
      ["dialect", "rule"],
      "Outgoing stream events that broke the dialect's event grammar (repaired, or the stream was ended), by rule.",
    );
    this.promptTokens = _counter(
      r,
      "cortex_prompt_tokens_total",
      ["model", "node"],
      "Prompt tokens, from the neuron's usage.",
    );
    this.completionTokens = _counter(
      r,
      "cortex_completion_tokens_total",
      ["model", "node"],
      "Completion tokens, from the neuron's usage.",
    );
    this.cachedPromptTokens = _counter(
      r,
      "cortex_cached_prompt_tokens_total",
      ["model", "node"],
      "Prompt tokens served from the neuron's prefix cache.",
    );
    this.ttft = _histogram(
      r,
      "cortex_time_to_first_token_seconds",
      ["model", "node", "start"],
      "Request arrival to first generated token sent; start=cold includes the cold load.",
      TTFT_BUCKETS,
    );
    this.decodeRate = _histogram(
      r,
      "cortex_decode_tokens_per_second",
      ["model", "node"],
      "Completion tokens per second between the first and the last token.",
      RATE_BUCKETS,
    );
    this.duration = _histogram(
      r,
      "cortex_request_duration_seconds",
      ["model", "node", "dialect"],
      "End-to-end latency: request arrival to last byte sent.",
      LONG_BUCKETS,
    );
    this.inFlight = new Gauge({
      name: "cortex_in_flight_requests",
      help: "Requests being proxied now.",
      labelNames: ["model", "node"] as const,
      registers: r,
    });
    this.loadDuration = _histogram(
      r,
      "cortex_model_load_duration_seconds",
      ["model", "node", "outcome"],
      "Model loads through /models/load, by outcome.",
      LONG_BUCKETS,
    );
    this.evictions = _counter(
      r,
      "cortex_evictions_total",
      ["model", "node", "reason"],
      "Models unloaded by the gateway, by reason (lru, priority, defrag, admin, idle).",
    );
    this.idleUnloads = _counter(
      r,
      "cortex_idle_unloads_total",
      ["model", "node"],
      "Models unloaded because they stayed idle past their keep-alive (ttl_s or the request's keep_alive).",
    );
    this.catalogueReloads = _counter(
      r,
      "cortex_catalogue_reloads_total",
      ["outcome"],
      "Reloads of models.toml: applied, or rejected (invalid; the previous catalogue kept serving).",
    );
    this.swapThrash = _counter(
      r,
      "cortex_swap_thrash_total",
      ["model", "node"],
      "Evictions to make room of a model loaded less than min_residency_s ago (the residency floor keeps this at 0; see cortex_swaps_refused_total).",
    );
    this.defrags = _counter(
      r,
      "cortex_defrags_total",
      ["node"],
      "Release-and-reload passes after defrag_after_cycles load/unload cycles.",
    );
    this.swapRefusals = _counter(
      r,
      "cortex_swaps_refused_total",
      ["model", "reason"],
      "Requests refused rather than evict a model: reason=min_residency (inside its residency floor) or swap_budget (the key's max_swaps_per_hour is used up).",
    );
    this.pollFailures = _counter(r, "cortex_poll_failures_total", ["node"], "Failed polls of a neuron.");
    this.affinity = _counter(
      r,
      "cortex_affinity_total",
      ["outcome"],
      "Requests with a session, by placement: hit (its home replica), overflow (home saturated), miss (no warm home).",
    );
    // All three series exist from the start, so a hit rate can be read before the first overflow.
    for (const outcome of ["hit", "miss", "overflow"]) this.affinity.inc({ outcome }, 0);
    if (fleet) _fleetGauges(this.registry, fleet, residency);
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

function _counter<T extends string>(
  registers: Registry[],
  name: string,
  labelNames: readonly T[],
  help: string,
): Counter<T> {
  return new Counter({ name, help, labelNames, registers });
}

function _histogram<T extends string>(
  registers: Registry[],
  name: string,
  labelNames: readonly T[],
  help: string,
  buckets: readonly number[],
): Histogram<T> {
  return new Histogram({ name, help, labelNames, buckets: [...buckets], registers });
}

/**
 * A gauge filled at scrape time from `rows()`; with `reset` it is cleared first, so that
 * series for nodes, devices or models that went away disappear.
 */
function _scrapeGauge<T extends string>(
  registers: Registry[],
  name: string,
  labelNames: readonly T[],
  help: string,
  rows: () => Iterable<[_Labels<T>, number]>,
  reset = true,
): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers,
    collect() {
      if (reset) this.reset();
      for (const [labels, value] of rows()) this.set(labels, value);
    },
  });
}

// The neurons report memory in MiB; Prometheus wants bytes.
const _MIB = 2 ** 20;

function _fleetGauges(registry: Registry, fleet: Fleet, residency: () => ResidencyReader | null): void {
  const r = [registry];
  _scrapeGauge(r, "cortex_node_healthy", ["node"], "1 when the node receives traffic, else 0.", function* () {
    for (const n of fleet.nodes) yield [{ node: n.name }, n.healthy && !n.draining ? 1 : 0];
  }, false);
  _scrapeGauge(r, "cortex_node_consecutive_poll_failures", ["node"], "Polls failed in a row.", function* () {
    for (const n of fleet.nodes) yield [{ node: n.name }, n.consecutiveFailures];
  }, false);
  _scrapeGauge(
    r,
    "cortex_device_memory_total_bytes",
    ["node", "device"],
    "Device memory in all (CPU devices: their budget), bytes.",
    function* () {
      for (const n of fleet.nodes) {
        for (const d of n.devices()) yield [{ node: n.name, device: d.index }, d.totalMb * _MIB];
      }
    },
  );
  _scrapeGauge(
    r,
    "cortex_device_memory_free_bytes",
    ["node", "device"],
    "Device memory free at the last poll, bytes.",
    function* () {
      for (const n of fleet.nodes) {
        for (const d of n.devices()) yield [{ node: n.name, device: d.index }, d.freeMb * _MIB];
      }
    },
  );
  _scrapeGauge(
    r,
    "cortex_model_loaded",
    ["node", "model", "class"],
    "1 for each model resident on a node (with its residency class as a label).",
    function* () {
      const book = residency();
      for (const n of fleet.nodes) {
        const loaded = book
          ? book.onNode(n.name).filter((r) => r.state === "resident").map((r) => r.model)
          : [...n.models.values()].filter((m) => m.status === "loaded").map((m) => m.id);
        for (const model of loaded) {
          const id = fleet.catalogue.publicId(model);
          yield [{ node: n.name, model: id, class: fleet.catalogue.priority(id) }, 1];
        }
      }
    },
  );
  _scrapeGauge(
    r,
    "cortex_model_queue_depth",
    ["node", "model"],
    "Requests in flight plus queued on the neuron for a model, at the last poll.",
    function* () {
      for (const n of fleet.nodes) {
        for (const m of n.health?.models ?? []) {
          yield [{ node: n.name, model: fleet.catalogue.publicId(m.id) }, m.in_flight + m.queue_depth];
        }
      }
    },
  );
  _scrapeGauge(
    r,
    "cortex_model_decode_tokens_per_second",
    ["node", "model"],
    "The neuron's moving-average decode speed for a model, at the last poll.",
    function* () {
      for (const n of fleet.nodes) {
        for (const m of n.health?.models ?? []) {
          yield [{ node: n.name, model: fleet.catalogue.publicId(m.id) }, m.tok_s_decode];
        }
      }
    },
  );
  // The neurons' prefix caches (cumulative figures as gauges: they restart with the model).
  const prefix = (
    key: "cached_tokens" | "prompt_tokens" | "held_bytes" | "evictions" | "hit_rate" | "pool_bytes",
  ) =>
    function* (): Generator<[Record<string, string>, number]> {
      for (const n of fleet.nodes) {
        for (const m of n.health?.models ?? []) {
          if (m.prefix_cache) {
            yield [{ node: n.name, model: fleet.catalogue.publicId(m.id) }, m.prefix_cache[key] ?? 0];
          }
        }
      }
    };
  _scrapeGauge(
    r,
    "cortex_prefix_cache_hit_rate",
    ["node", "model"],
    "Prompt tokens served from the prefix cache ÷ prompt tokens, since the model loaded.",
    prefix("hit_rate"),
  );
  _scrapeGauge(
    r,
    "cortex_prefix_cache_cached_tokens",
    ["node", "model"],
    "Prompt tokens served from the prefix cache since the model loaded.",
    prefix("cached_tokens"),
  );
  _scrapeGauge(
    r,
    "cortex_prefix_cache_prompt_tokens",
    ["node", "model"],
    "Prompt tokens looked up in the prefix cache since the model loaded.",
    prefix("prompt_tokens"),
  );
  _scrapeGauge(
    r,
    "cortex_prefix_cache_bytes",
    ["node", "model"],
    "KV-cache bytes holding cached prefixes now.",
    prefix("held_bytes"),
  );
  _scrapeGauge(
    r,
    "cortex_prefix_cache_evictions",
    ["node", "model"],
    "Cached prefixes overwritten by unrelated requests since the model loaded.",
    prefix("evictions"),
  );
  _scrapeGauge(
    r,
    "cortex_prefix_cache_pool_bytes",
    ["node", "model"],
    "Device bytes the prefix cache's block pool holds now (within the neuron's prefix-cache budget).",
    prefix("pool_bytes"),
  );
}
