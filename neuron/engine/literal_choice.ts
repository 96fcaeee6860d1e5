/**
 * A {@linkcode ByteAcceptor} for one of a set of fixed texts: a trie over their UTF-8 bytes.
 * Constrained decoding uses it for a forced tool call's name (each offered name followed by the
 * text that opens the arguments), so the model may pick any offered tool and nothing else.
 *
 * @module
 */
import type { ByteAcceptor } from "./byte_acceptor.ts";

interface _Node {
  id: number;
  children: Map<number, _Node>;
  /** Shortest bytes from here to the end of a text. */
  shortest: number[];
  end: boolean;
}

class _LiteralState implements LiteralChoiceState {
  readonly #node: _Node;
  readonly #set: string;

  // `set` names the set of texts: keys must differ between tries (masks are cached by key).
  constructor(node: _Node, set: string) {
    this.#node = node;
    this.#set = set;
  }

  get done(): boolean {
    return this.#node.end;
  }

  get key(): string {
    return `lit:${this.#node.id}:${this.#set}`;
  }

  /** True when only one text is still possible. */
  get determined(): boolean {
    let node = this.#node;
    while (!node.end) {
      if (node.children.size !== 1) return false;
      node = node.children.values().next().value!;
    }
    return true;
  }

  step(byte: number): LiteralChoiceState | null {
    const child = this.#node.children.get(byte);
    return child === undefined ? null : new _LiteralState(child, this.#set);
  }

  completion(): number[] {
    return [...this.#node.shortest];
  }
}

/** The acceptor of `literalChoice`, with what a caller needs beyond {@linkcode ByteAcceptor}. */
export interface LiteralChoiceState extends ByteAcceptor {
  /** The state after `byte`, or null when no text goes on with it. */
  step(byte: number): LiteralChoiceState | null;
  /** True when only one text is still possible: `completion()` is then its rest. */
  readonly determined: boolean;
}

/**
 * The start state of the acceptor of exactly one of `texts` (non-empty, none a prefix of another:
 * the acceptor is done at the end of a text and accepts nothing after it).
 *
 * @example
 * ```ts
 * import { literalChoice } from "./literal_choice.ts";
 * import { stepBytes } from "./byte_acceptor.ts";
 * const start = literalChoice(['get_weather"', 'get_time"']);
 * const state = stepBytes(start, new TextEncoder().encode("get_t"));
 * new TextDecoder().decode(new Uint8Array(state!.completion())); // 'ime"'
 * ```
 */
export function literalChoice(texts: readonly string[]): LiteralChoiceState {
  if (texts.length === 0) throw new Error("literalChoice needs at least one text");
  let ids = 0;
  const node = (): _Node => ({ id: ids++, children: new Map(), shortest: [], end: false });
  const root = node();
  const encoder = new TextEncoder();
  const sorted = [...texts].sort(); // node ids, part of the keys, must not depend on the order given
  for (const text of sorted) {
    const bytes = encoder.encode(text);
    let at = root;
    for (const byte of bytes) {
      if (at.end) throw new Error(`literalChoice: a text is a prefix of ${JSON.stringify(text)}`);
      let child = at.children.get(byte);
      if (child === undefined) at.children.set(byte, child = node());
      at = child;
    }
    if (at.end || at.children.size > 0 || bytes.length === 0) {
      throw new Error(
        `literalChoice: ${JSON.stringify(text)} is empty, repeated or a prefix of another text`,
      );
    }
    at.end = true;
  }
  const fill = (at: _Node): number[] => {
    let best: number[] | null = null;
    for (const [byte, child] of at.children) {
      const rest = [byte, ...fill(child)];
      if (best === null || rest.length < best.length) best = rest;
    }
    at.shortest = best ?? [];
    return at.shortest;
  };
  fill(root);
  return new _LiteralState(root, JSON.stringify(sorted));
}
