/**
 * User stop strings matched on generated text as it streams, across token boundaries: text
 * that could still be the start of a stop string is held back, and nothing from the first
 * completed stop string on is ever emitted.
 *
 * @module
 */

/** What one {@linkcode StopMatcher.push} produces. */
export interface StopMatch {
  /** Text safe to emit now (possibly empty). */
  text: string;
  /** True once a stop string completed; generation should end. */
  stopped: boolean;
  /** The stop string that matched, when `stopped`. */
  matched: string | null;
}

/**
 * Matches stop strings over a stream of text pieces. The match that ends first in the
 * whole text wins (ties: the one that starts first), so the result does not depend on how
 * the text was split into pieces.
 *
 * @example
 * ```ts
 * import { StopMatcher } from "./stop_matcher.ts";
 * const matcher = new StopMatcher(["\n\n"]);
 * matcher.push("one\n"); // {text: "one", stopped: false, matched: null}
 * matcher.push("\ntwo"); // {text: "", stopped: true, matched: "\n\n"}
 * ```
 */
export class StopMatcher {
  readonly #stops: readonly string[];
  #held = "";
  #stopped = false;

  /** Creates a matcher; empty strings are ignored. */
  constructor(stops: readonly string[]) {
    this.#stops = [...new Set(stops.filter((s) => s.length > 0))];
  }

  /** Whether a stop string has matched. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Feeds the next piece of generated text. After a match every push returns nothing. */
  push(piece: string): StopMatch {
    if (this.#stopped) return { text: "", stopped: true, matched: null };
    if (this.#stops.length === 0) return { text: piece, stopped: false, matched: null };
    const buffer = this.#held + piece;
    let bestStart = -1;
    let bestEnd = Infinity;
    let matched: string | null = null;
    for (const stop of this.#stops) {
      const at = buffer.indexOf(stop);
      if (at === -1) continue;
      const end = at + stop.length;
      if (end < bestEnd || (end === bestEnd && at < bestStart)) {
        bestStart = at;
        bestEnd = end;
        matched = stop;
      }
    }
    if (matched !== null) {
      this.#stopped = true;
      this.#held = "";
      return { text: buffer.slice(0, bestStart), stopped: true, matched };
    }
    const keep = this.#partialLength(buffer);
    this.#held = buffer.slice(buffer.length - keep);
    return { text: buffer.slice(0, buffer.length - keep), stopped: false, matched: null };
  }

  /** Ends the stream: returns the held-back text (it cannot start a stop string any more). */
  flush(): string {
    const held = this.#stopped ? "" : this.#held;
    this.#held = "";
    return held;
  }

  // Length of the longest suffix of `buffer` that is a proper prefix of some stop string.
  #partialLength(buffer: string): number {
    let longest = 0;
    for (const stop of this.#stops) {
      const max = Math.min(stop.length - 1, buffer.length);
      for (let n = max; n > longest; n--) {
        if (buffer.endsWith(stop.slice(0, n))) {
          longest = n;
          break;
        }
      }
    }
    return longest;
  }
}
