/**
 * The gateway's recent activity, kept in memory for the dashboard (`/ui`): the last requests
 * answered, and per-10-second samples of output tokens per second and time to first token.
 * Both are small ring buffers; nothing here outlives the process.
 *
 * @module
 */

/** One answered request, as the dashboard lists it. */
export interface RecentRequest {
  /** When the response ended (unix ms). */
  at_ms: number;
  /** Model id (the client-facing one; "unknown" for names no one knows). */
  model: string;
  /** Node that served it; empty when it failed before routing. */
  node: string;
  /** Client dialect (`chat`, `completions`, `responses`, `messages`, `count_tokens`). */
  dialect: string;
  /** HTTP status answered. */
  status: number;
  /** Arrival to last byte, ms. */
  duration_ms: number;
  /** Arrival to first token, ms; null without tokens. */
  ttft_ms: number | null;
  /** Whether the request waited for a cold load. */
  cold: boolean;
  /** Completion tokens per second between the first and the last token; null when unmeasurable. */
  decode_tok_s: number | null;
  /** Prompt tokens, when the neuron reported them. */
  prompt_tokens: number | null;
  /** Completion tokens, when known. */
  completion_tokens: number | null;
}

/** One 10-second sample (requests are counted in the interval they ended in). */
export interface ActivitySample {
  /** Start of the interval (unix ms). */
  t_ms: number;
  /** Requests that ended in it. */
  requests: number;
  /** Completion tokens of those requests ÷ the interval's seconds. */
  tok_s: number;
  /** Mean time to first token of those that had one, ms; null when none had. */
  ttft_ms: number | null;
}

/** Options of {@linkcode Activity}. */
export interface ActivityOptions {
  /** Requests kept (default 50). */
  recent: number;
  /** Sample interval, ms (default 10 000). */
  intervalMs: number;
  /** Samples kept (default 30: five minutes). */
  samples: number;
  /** Clock (unix ms). */
  now: () => number;
}

const _defaults = {
  recent: 50,
  intervalMs: 10_000,
  samples: 30,
  now: Date.now,
} satisfies ActivityOptions;

interface _Bucket {
  index: number;
  requests: number;
  completionTokens: number;
  ttftSumMs: number;
  ttftCount: number;
}

/**
 * Recent requests and per-interval samples.
 *
 * @example
 * ```ts
 * import { Activity } from "./activity.ts";
 * const activity = new Activity();
 * activity.add({
 *   at_ms: Date.now(), model: "m", node: "a", dialect: "chat", status: 200, duration_ms: 80,
 *   ttft_ms: 20, cold: false, decode_tok_s: 50, prompt_tokens: 9, completion_tokens: 4,
 * });
 * activity.recent()[0].model; // "m"
 * activity.series().at(-1)?.requests; // 1
 * ```
 */
export class Activity {
  readonly #options: ActivityOptions;
  readonly #recent: RecentRequest[] = [];
  readonly #buckets: _Bucket[] = [];

  /** Empty buffers. */
  constructor(options: Partial<ActivityOptions> = {}) {
    this.#options = { ..._defaults, ...options };
  }

  /** The sample interval in seconds. */
  get intervalSeconds(): number {
    return this.#options.intervalMs / 1000;
  }

  /** Records an answered request (the oldest is dropped past the limit). */
  add(request: RecentRequest): void {
    this.#recent.push(request);
    if (this.#recent.length > this.#options.recent) this.#recent.shift();
    const index = Math.floor(request.at_ms / this.#options.intervalMs);
    let bucket = this.#buckets.at(-1);
    if (!bucket || bucket.index !== index) {
      bucket = { index, requests: 0, completionTokens: 0, ttftSumMs: 0, ttftCount: 0 };
      this.#buckets.push(bucket);
      if (this.#buckets.length > this.#options.samples) this.#buckets.shift();
    }
    bucket.requests++;
    bucket.completionTokens += request.completion_tokens ?? 0;
    if (request.ttft_ms !== null) {
      bucket.ttftSumMs += request.ttft_ms;
      bucket.ttftCount++;
    }
  }

  /** The kept requests, newest first. */
  recent(): RecentRequest[] {
    return this.#recent.toReversed();
  }

  /** One sample per interval, oldest first, ending with the current one; quiet intervals are zeros. */
  series(): ActivitySample[] {
    const { intervalMs, samples } = this.#options;
    const last = Math.floor(this.#options.now() / intervalMs);
    const byIndex = new Map(this.#buckets.map((b) => [b.index, b]));
    const out: ActivitySample[] = [];
    for (let index = last - samples + 1; index <= last; index++) {
      const b = byIndex.get(index);
      out.push({
        t_ms: index * intervalMs,
        requests: b?.requests ?? 0,
        tok_s: b ? b.completionTokens / (intervalMs / 1000) : 0,
        ttft_ms: b && b.ttftCount > 0 ? b.ttftSumMs / b.ttftCount : null,
      });
    }
    return out;
  }
}
