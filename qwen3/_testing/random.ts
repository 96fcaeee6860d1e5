/**
 * Test support: a seeded random source, so every generated case can be replayed from its seed.
 * @module
 */

/** mulberry32: small, fast, good enough for test generation. */
export class Rng {
  #state: number;

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

  /** An integer in [min, max]. */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** A string of up to `max` pieces drawn from `alphabet` (pieces may be several characters). */
  text(alphabet: readonly string[], max: number): string {
    let out = "";
    const length = this.int(max + 1);
    for (let i = 0; i < length; i++) out += this.pick(alphabet);
    return out;
  }

  /** Splits `text` at random code-unit positions; `maxChunk` 1 gives one code unit per chunk. */
  chunks(text: string, maxChunk: number): string[] {
    const out: string[] = [];
    for (let i = 0; i < text.length;) {
      const size = maxChunk <= 1 ? 1 : 1 + this.int(maxChunk);
      out.push(text.slice(i, i + size));
      i += size;
    }
    return out;
  }
}
