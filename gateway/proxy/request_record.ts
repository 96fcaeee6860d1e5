/**
 * One request's measurements, recorded into the gateway metrics exactly once when the
 * response is over: status, end-to-end latency, TTFT (cold or warm), decode rate from the
 * first to the last token, token usage, and the in-flight gauge — and kept among the recent
 * requests the dashboard shows. The same figures (with the finish reason and the error code) go
 * on the request's log line.
 *
 * @module
 */
import { newRequestLine, type RequestLine } from "@cortex/core/log";
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
  readonly #line: RequestLine;

  /**
   * Starts measuring at `startedAt` (a `performance.now()` reading taken when the request
   * arrived); `line` is the request's log line (a detached one when not given).
   */
  constructor(metrics: GatewayMetrics, dialect: Dialect, startedAt: number, line?: RequestLine) {
    this.#metrics = metrics;
    this.#dialect = dialect;
    this.#startedAt = startedAt;
    this.#line = line ?? newRequestLine("", "", "");
    this.#line.dialect = dialect;
  }

  /** Names the model before routing (for errors that happen before a node is chosen). */
  model(model: string): void {
    this.#model = model;
    this.#line.model = model;
  }

  /**
   * Binds the request to its node once routed; counts it in flight. `coldLoadMs` is how long
   * it waited for a cold load (0: warm).
   */
  bind(model: string, node: string, coldLoadMs: number): void {
    if (this.#bound) this.#metrics.inFlight.dec({ model: this.#model, node: this.#node });
    this.#model = model;
    this.#node = node;
    this.#cold = coldLoadMs > 0 || this.#cold;
    this.#bound = true;
    this.#metrics.inFlight.inc({ model, node });
    Object.assign(this.#line, { model, node, cold_load_ms: coldLoadMs });
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

  /** Notes the generation's finish reason (`stop`, `length`, `tool_calls`, …). */
  finishReason(reason: string): void {
    this.#line.finish_reason = reason;
  }

  /** Counts a break of the stream's event grammar (`rule`: the stream guard's rule name). */
  streamViolation(rule: string): void {
    this.#metrics.streamViolations.inc({ dialect: this.#dialect, rule });
  }

  /** Counts a stream that ended in an upstream failure; `code` is the error's. */
  streamError(code: string = "upstream_error"): void {
    this.#metrics.streamErrors.inc({ model: this.#model, node: this.#node, dialect: this.#dialect });
    this.#line.error ??= code;
  }

  /** Records everything once (`errorCode`: why it failed); later calls do nothing. */
  finish(status: number, errorCode: string | null = null): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#line.status = status;
    if (errorCode !== null) this.#line.error ??= errorCode;
    if (status === 499) this.#line.error ??= "client_closed_request";
    this.#line.prompt_tokens = this.#usage.promptTokens;
    this.#line.completion_tokens = this.#usage.completionTokens;
    this.#line.cached_tokens = this.#usage.cachedTokens;
    if (this.#firstTokenAt !== null) this.#line.ttft_ms = Math.round(this.#firstTokenAt - this.#startedAt);
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
