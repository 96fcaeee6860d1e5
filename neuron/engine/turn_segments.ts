/**
 * Chat prompts tokenized turn by turn. An agent resends its whole conversation every turn, and
 * every turn of a ChatML prompt opens with the special token `<|im_start|>`, which the tokenizer
 * splits out before any merge — so the ids of the prompt are the ids of its turns, concatenated,
 * and the turns seen before are looked up instead of tokenized again. A tokenizer for which that
 * does not hold (an added token that strips the whitespace before it, say) is found by comparing
 * the first prompts with a whole encoding, and is then always encoded whole.
 *
 * @module
 */

/** The ChatML turn opener segments start at. */
export const TURN_OPENER = "<|im_start|>";

/** Splits `text` before every `opener` (the first segment may not start with it). */
export function splitTurns(text: string, opener: string = TURN_OPENER): string[] {
  const pieces: string[] = [];
  let start = 0;
  for (let at = text.indexOf(opener, 1); at !== -1; at = text.indexOf(opener, at + 1)) {
    pieces.push(text.slice(start, at));
    start = at;
  }
  pieces.push(text.slice(start));
  return pieces;
}

/**
 * Turn-by-turn encoding with an LRU of turns (at most `maxChars` characters of turn text).
 *
 * @example
 * ```ts
 * import { TurnEncoder } from "./turn_segments.ts";
 * const encoder = new TurnEncoder((text) => [...text].map((c) => c.charCodeAt(0)));
 * encoder.encode("<|im_start|>a<|im_start|>b").length; // 26
 * ```
 */
export class TurnEncoder {
  readonly #encodeWhole: (text: string) => number[];
  readonly #maxChars: number;
  readonly #turns = new Map<string, number[]>();
  #chars = 0;
  #checksLeft: number;
  #trusted = true;

  /** Wraps `encodeWhole` (the tokenizer's own encoding); the first `checks` split prompts are verified. */
  constructor(encodeWhole: (text: string) => number[], maxChars = 4_000_000, checks = 2) {
    this.#encodeWhole = encodeWhole;
    this.#maxChars = maxChars;
    this.#checksLeft = checks;
  }

  /** False once a verification found the split encoding different: everything is encoded whole. */
  get trusted(): boolean {
    return this.#trusted;
  }

  /** The ids of `text`, equal to `encodeWhole(text)`. */
  encode(text: string): number[] {
    if (!this.#trusted) return this.#encodeWhole(text);
    const turns = splitTurns(text);
    if (turns.length < 2) return this.#encodeWhole(text);
    const ids: number[] = [];
    for (const turn of turns) for (const id of this.#turn(turn)) ids.push(id);
    if (this.#checksLeft > 0) {
      this.#checksLeft--;
      const whole = this.#encodeWhole(text);
      if (whole.length !== ids.length || whole.some((id, i) => id !== ids[i])) {
        this.#trusted = false;
        this.#turns.clear();
        return whole;
      }
    }
    return ids;
  }

  #turn(turn: string): number[] {
    const cached = this.#turns.get(turn);
    if (cached) {
      this.#turns.delete(turn); // most recently used last
      this.#turns.set(turn, cached);
      return cached;
    }
    const ids = this.#encodeWhole(turn);
    if (turn.length > this.#maxChars) return ids;
    this.#turns.set(turn, ids);
    this.#chars += turn.length;
    for (const [old] of this.#turns) {
      if (this.#chars <= this.#maxChars) break;
      this.#turns.delete(old);
      this.#chars -= old.length;
    }
    return ids;
  }
}
