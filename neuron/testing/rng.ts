/**
 * Test and bench support: a seeded random source (mulberry32), so a failing generated case can be
 * replayed from its seed and a bench sends the same bytes every run. Used by the neuron's and the
 * gateway's property tests and by `bench:agent`.
 * @module
 */

/** Deterministic random numbers from a seed. */
export class Rng {
  #state: number;

  /** Starts the sequence at `seed`. */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** A short lowercase word. */
  word(): string {
    let out = "";
    for (let i = 1 + this.int(8); i > 0; i--) out += String.fromCharCode(97 + this.int(26));
    return out;
  }
}

/** The `Rng` sequence of `seed` as a bare function returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}
