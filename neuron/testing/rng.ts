/**
 * Test and bench support: a seeded random source (mulberry32), so a failing generated case can be
 * replayed from its seed and a bench sends the same bytes every run. Used by the neuron's and the
 * gateway's property tests and by `bench:agent`.
 * @module
 */

import { mulberry32 } from "../../core/translate/_test_gen.ts";

/** Deterministic random numbers from a seed. */
export class Rng {
  /** A float in [0, 1). */
  readonly next: () => number;

  /** Starts the sequence at `seed`. */
  constructor(seed: number) {
    this.next = mulberry32(seed);
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
  return mulberry32(seed);
}
