/**
 * One request's measurements, recorded into the gateway metrics exactly once when the
 * response is over: status, end-to-end latency, TTFT (cold or warm), decode rate from the
 * first to the last token, token usage, and the in-flight gauge — and kept among the recent
 * requests the dashboard shows.
 *
 * @module
 */
import { GatewayMetrics } from "../metrics/gateway_metrics.ts";
import type { Dialect } from "./dialect.ts";

/** Token usage as reported by the neuron. */
export interface UsageFigures {
  /** Prompt tokens. */
  promptTokens: number | null;
  /** Completion tokens. */
  completionTokens: number | null;
  /** Prompt tokens served from cache. */
  cachedTokens: number | null;
}

/** Measures one request. */
export class RequestRecord {
  readonly #metrics: GatewayMetrics;
  readonly #dialect: Dialect;
  readonly #startedAt: number;
  #model = "";
  #node = "";
  #cold = false;
  #bound = false;
  #finished = false;
  #firstTokenAt: number | null = null;
  #lastTokenAt: number | null = null;
  #tokenEvents = 0;
  #usage: UsageFigures = { promptTokens: null, completionTokens: null, cachedTokens: null };

  /** Starts measuring at `startedAt` (a `performance.now()` reading taken when the request arrived). */
  constructor(metrics: GatewayMetrics, dialect: Dialect, startedAt: number) {
    this.#metrics = metrics;
    this.#dialect = dialect;
    this.#startedAt = startedAt;
  }

  /** Names the model before routing (for errors that happen before a node is chosen). */
  model(model: string): void {
    this.#model = model;
  }

  /** Binds the request to its node once routed; counts it in flight. */
  bind(model: string, node: string, cold: boolean): void {
    if (this.#bound) this.#metrics.inFlight.dec({ model: this.#model, node: this.#node });
    this.#model = model;
    this.#node = node;
    this.#cold = cold || this.#cold;
    this.#bound = true;
    this.#metrics.inFlight.inc({ model, node });
  }

  /** Notes that a generated token (text, reasoning or tool-call piece) was sent now. */
  token(): void {
    const now = performance.now();
    this.#firstTokenAt ??= now;
    this.#lastTokenAt = now;
    this.#tokenEvents++;
  }

  /** Stores the usage the neuron reported (later calls overwrite non-null fields). */
  usage(figures: Partial<UsageFigures>): void {
    for (const key of ["promptTokens", "completionTokens", "cachedTokens"] as const) {
      const value = figures[key];
      if (typeof value === "number") this.#usage[key] = value;
    }
  }

  /** Counts a stream that ended in an upstream failure. */
  streamError(): void {
    this.#metrics.streamErrors.inc({ model: this.#model, node: this.#node, dialect: this.#dialect });
  }

  /** Counts a break of the stream's event grammar (`rule`: the stream guard's rule name). */
  streamViolation(rule: string): void {
    this.#metrics.streamViolations.inc({ dialect: this.#dialect, rule });
  }

  /** Records everything once; later calls do nothing. */
  finish(status: number): void {
    if (this.#finished) return;
    this.#finished = true;
    const m = this.#metrics;
    const labels = { model: this.#model, node: this.#node };
    m.requests.inc({ ...labels, dialect: this.#dialect, status: String(status) });
    m.duration.observe({ ...labels, dialect: this.#dialect }, (performance.now() - this.#startedAt) / 1000);
    if (this.#bound) m.inFlight.dec(labels);
    if (this.#firstTokenAt !== null) {
      m.ttft.observe(
        { ...labels, start: this.#cold ? "cold" : "warm" },
        (this.#firstTokenAt - this.#startedAt) / 1000,
      );
    }
    const completion = this.#usage.completionTokens ?? (this.#tokenEvents > 0 ? this.#tokenEvents : null);
    const window = this.#firstTokenAt !== null && this.#lastTokenAt !== null
      ? (this.#lastTokenAt - this.#firstTokenAt) / 1000
      : 0;
    const decodeRate = completion !== null && completion > 1 && window > 0 ? (completion - 1) / window : null;
    if (decodeRate !== null) m.decodeRate.observe(labels, decodeRate);
    GatewayMetrics.addPositive(m.promptTokens, labels, this.#usage.promptTokens);
    GatewayMetrics.addPositive(m.completionTokens, labels, this.#usage.completionTokens);
    GatewayMetrics.addPositive(m.cachedPromptTokens, labels, this.#usage.cachedTokens);
    m.activity.add({
      at_ms: Date.now(),
      model: this.#model,
      node: this.#node,
      dialect: this.#dialect,
      status,
      duration_ms: Math.round(performance.now() - this.#startedAt),
      ttft_ms: this.#firstTokenAt === null ? null : Math.round(this.#firstTokenAt - this.#startedAt),
      cold: this.#cold,
      decode_tok_s: decodeRate === null ? null : Math.round(decodeRate * 10) / 10,
      prompt_tokens: this.#usage.promptTokens,
      completion_tokens: completion,
    });
  }
}
