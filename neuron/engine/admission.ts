/**
 * Admission control for one loaded model: a fixed number of seats (requests decoding
 * together in the batch) and a bounded FIFO queue in front of them. A full queue, or a wait
 * longer than the limit, is a 429 `rate_limit_exceeded` whose `Retry-After` is the time the
 * queue ahead takes to drain at the observed service time (how long a seat is held).
 *
 * @module
 */
import type { CortexError } from "@cortex/core/errors";
import { fleetError } from "@cortex/core/fleet";

/** Limits of one model's admission. */
export interface AdmissionLimits {
  /** Seats: requests running at once (continuous-batching slots). */
  maxInFlight: number;
  /** Requests allowed to wait for a seat beyond those. */
  maxQueue: number;
  /** Longest wait for a seat in milliseconds. */
  maxWaitMs: number;
}

/** Counters of one model's admission (cumulative since load). */
export interface AdmissionStats {
  /** Seats taken now. */
  inFlight: number;
  /** Requests waiting now. */
  queueDepth: number;
  /** Refused because the queue was full. */
  rejectedQueueFull: number;
  /** Refused because the wait exceeded the limit. */
  rejectedTimeout: number;
  /** Seats released after use. */
  completed: number;
}

/** A taken seat; `release` is idempotent. */
export interface Seat {
  /** Gives the seat back (to the next waiter, if any). */
  release(): void;
}

/** Options of {@linkcode Admission}. */
export interface AdmissionOptions {
  /** Clock in ms (default `performance.now`); tests pass their own. */
  now?: () => number;
}

interface _Waiter {
  resolve: (seat: Seat) => void;
  reject: (error: unknown) => void;
  cleanup: () => void;
}

/**
 * Seats plus a bounded queue.
 *
 * @example
 * ```ts
 * import { Admission } from "./admission.ts";
 * const admission = new Admission({ maxInFlight: 1, maxQueue: 0, maxWaitMs: 1000 });
 * const seat = await admission.acquire();
 * await admission.acquire().catch((e) => e.status); // 429: no seat and no queue room
 * seat.release();
 * ```
 */
export class Admission {
  readonly limits: AdmissionLimits;
  #inFlight = 0;
  #queue: _Waiter[] = [];
  #closed: CortexError | null = null;
  #idleWaiters: (() => void)[] = [];
  #stats = { rejectedQueueFull: 0, rejectedTimeout: 0, completed: 0 };
  readonly #now: () => number;
  /** When each taken seat was granted. */
  readonly #grantedAt = new Set<{ at: number }>();
  /** Moving average of how long a seat is held, in ms (null until one was released). */
  #serviceMs: number | null = null;

  /** Creates an admission with the given limits. */
  constructor(limits: AdmissionLimits, options: AdmissionOptions = {}) {
    this.limits = {
      ...limits,
      maxInFlight: Math.max(1, limits.maxInFlight),
      maxQueue: Math.max(0, limits.maxQueue),
    };
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * How long a seat is held, in ms: a moving average over released seats; before the first
   * release, how long the oldest seat has been held so far (at least 1 s).
   */
  get serviceMs(): number {
    if (this.#serviceMs !== null) return this.#serviceMs;
    const now = this.#now();
    let oldest = 0;
    for (const seat of this.#grantedAt) oldest = Math.max(oldest, now - seat.at);
    return Math.max(1000, oldest);
  }

  /** Current counters. */
  get stats(): AdmissionStats {
    return { inFlight: this.#inFlight, queueDepth: this.#queue.length, ...this.#stats };
  }

  /**
   * Takes a seat, waiting in the queue if needed. Rejects with a 429 when the queue is full
   * or the wait times out, with the `close` error once closed, and with the signal's reason
   * when it aborts while waiting.
   */
  acquire(signal?: AbortSignal): Promise<Seat> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#inFlight < this.limits.maxInFlight && this.#queue.length === 0) {
      this.#inFlight++;
      return Promise.resolve(this.#seat());
    }
    if (this.#queue.length >= this.limits.maxQueue) {
      this.#stats.rejectedQueueFull++;
      return Promise.reject(this.#rateLimited(
        `model is busy: ${this.#inFlight} requests running and ${this.#queue.length} queued (max_in_flight ${this.limits.maxInFlight}, max_queue ${this.limits.maxQueue})`,
      ));
    }
    return new Promise<Seat>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#remove(waiter);
        this.#stats.rejectedTimeout++;
        reject(this.#rateLimited(
          `model is busy: no seat became free within ${Math.round(this.limits.maxWaitMs / 1000)} s`,
        ));
      }, this.limits.maxWaitMs);
      const onAbort = (): void => {
        this.#remove(waiter);
        reject(signal?.reason);
      };
      const waiter: _Waiter = {
        resolve,
        reject,
        cleanup: () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  /** Refuses every waiter and every later `acquire` with `error`; seats already taken stay valid. */
  close(error: CortexError): void {
    this.#closed = error;
    const waiters = this.#queue;
    this.#queue = [];
    for (const waiter of waiters) {
      waiter.cleanup();
      waiter.reject(error);
    }
    this.#checkIdle();
  }

  /** Accepts requests again after {@linkcode close} (an unload that gave up waiting). */
  reopen(): void {
    this.#closed = null;
  }

  /** Resolves once no seat is taken and nobody waits. */
  whenIdle(): Promise<void> {
    if (this.#inFlight === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #seat(): Seat {
    let released = false;
    const granted = { at: this.#now() };
    this.#grantedAt.add(granted);
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#grantedAt.delete(granted);
        const heldMs = this.#now() - granted.at;
        this.#serviceMs = this.#serviceMs === null ? heldMs : 0.8 * this.#serviceMs + 0.2 * heldMs;
        this.#stats.completed++;
        const next = this.#queue.shift();
        if (next) {
          next.cleanup();
          next.resolve(this.#seat());
        } else {
          this.#inFlight--;
          this.#checkIdle();
        }
      },
    };
  }

  #remove(waiter: _Waiter): void {
    waiter.cleanup();
    const at = this.#queue.indexOf(waiter);
    if (at !== -1) this.#queue.splice(at, 1);
    this.#checkIdle();
  }

  #checkIdle(): void {
    if (this.#inFlight !== 0 || this.#queue.length !== 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  // Retry-After: a newcomer now would be number `queue + 1` in line, and seats free up at
  // max_in_flight per service time; whole seconds, 1–120.
  #rateLimited(message: string): CortexError {
    const ahead = this.#queue.length + 1;
    const drainS = (ahead * this.serviceMs) / this.limits.maxInFlight / 1000;
    const retryAfter = Math.min(120, Math.max(1, Math.ceil(drainS)));
    return fleetError("rate_limit_exceeded", message, { retryAfter });
  }
}
