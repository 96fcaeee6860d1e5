/**
 * The cap on concurrent inference calls to one neuron (`[gateway] upstream_max_connections`):
 * a counting semaphore with a FIFO of waiters. HTTP/1.1 carries one request per connection,
 * so with the neuron's keep-alive pool sized to the same number the gateway never holds
 * more connections to a neuron than this, whatever the number of clients.
 *
 * @module
 */

/** Gives a slot back (idempotent). */
export type ReleaseSlot = () => void;

interface _Waiter {
  grant: (release: ReleaseSlot) => void;
}

/**
 * Up to `max` slots; more callers wait in arrival order.
 *
 * @example
 * ```ts
 * import { ConnectionSlots } from "./connection_slots.ts";
 * const slots = new ConnectionSlots(1);
 * const release = await slots.acquire();
 * const next = slots.acquire(); // waits
 * release();
 * (await next)();
 * ```
 */
export class ConnectionSlots {
  /** Slots in all. */
  readonly max: number;
  #inUse = 0;
  readonly #waiters: _Waiter[] = [];

  /** `max` slots (Infinity: no cap). */
  constructor(max: number) {
    this.max = Math.max(1, max);
  }

  /** Slots taken now. */
  get inUse(): number {
    return this.#inUse;
  }

  /** Callers waiting for a slot now. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /**
   * Takes a slot, waiting for one when all are taken. Rejects with the signal's reason when
   * it aborts first (the caller then holds nothing).
   */
  acquire(signal?: AbortSignal): Promise<ReleaseSlot> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#inUse < this.max && this.#waiters.length === 0) {
      this.#inUse++;
      return Promise.resolve(this.#slot());
    }
    return new Promise<ReleaseSlot>((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.#waiters.indexOf(waiter);
        if (at !== -1) this.#waiters.splice(at, 1);
        reject(signal?.reason);
      };
      const waiter: _Waiter = {
        grant: (release) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(release);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  #slot(): ReleaseSlot {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next) next.grant(this.#slot());
      else this.#inUse--;
    };
  }
}
