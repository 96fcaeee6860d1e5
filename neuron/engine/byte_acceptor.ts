/**
 * The contract of the byte-level acceptors that constrained decoding walks over the vocabulary
 * (`vocab_index.ts`): an immutable state that says which next byte keeps the text a valid
 * prefix, and how to finish the text in the fewest bytes.
 *
 * @module
 */

/** One state of a byte-level acceptor. States are immutable: `step` returns a new one. */
export interface ByteAcceptor {
  /** The state after `byte`, or null when the byte cannot come next. */
  step(byte: number): ByteAcceptor | null;
  /** True once the bytes form a complete text; a done state accepts no further byte. */
  readonly done: boolean;
  /**
   * The shortest bytes that complete the text (empty when done). Consuming its first byte leads
   * to a state whose completion is the rest, so a budget that covers the completion stays enough.
   */
  completion(): number[];
  /** Identifies the state: two states with one key accept the same continuations. */
  readonly key: string;
}

/** Steps `state` over `bytes`; null as soon as one byte is refused. */
export function stepBytes(state: ByteAcceptor, bytes: ArrayLike<number>): ByteAcceptor | null {
  let at: ByteAcceptor | null = state;
  for (let i = 0; i < bytes.length && at !== null; i++) at = at.step(bytes[i]);
  return at;
}

class _Concat implements ByteAcceptor {
  readonly #first: ByteAcceptor | null;
  readonly #second: ByteAcceptor;

  constructor(first: ByteAcceptor | null, second: ByteAcceptor) {
    // A done first part accepts nothing more: the second one starts at once.
    this.#first = first?.done ? null : first;
    this.#second = second;
  }

  get done(): boolean {
    return this.#first === null && this.#second.done;
  }

  get key(): string {
    return this.#first === null ? `2:${this.#second.key}` : `1:${this.#first.key}`;
  }

  step(byte: number): ByteAcceptor | null {
    if (this.#first === null) {
      const next = this.#second.step(byte);
      return next === null ? null : new _Concat(null, next);
    }
    const next = this.#first.step(byte);
    return next === null ? null : new _Concat(next, this.#second);
  }

  completion(): number[] {
    return this.#first === null
      ? this.#second.completion()
      : [...this.#first.completion(), ...this.#second.completion()];
  }
}

/**
 * The acceptor of a text of `first` followed by a text of `second` (both start states; `first`
 * must accept nothing once done, so the boundary is never in doubt).
 *
 * @example
 * ```ts ignore
 * const call = concatAcceptors(jsonObjectAcceptor(), literalChoice(["}\n"]));
 * ```
 */
export function concatAcceptors(first: ByteAcceptor, second: ByteAcceptor): ByteAcceptor {
  return new _Concat(first, second);
}
