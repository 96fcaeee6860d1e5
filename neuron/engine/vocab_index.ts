/**
 * A model's vocabulary as bytes, indexed for constrained decoding: the tokens sorted by their
 * bytes, so the tokens a {@linkcode ByteAcceptor} state accepts are found in one walk that
 * shares the work of common prefixes (a trie walk without the trie), and turned into a
 * {@linkcode TokenMask}. Masks are cached per acceptor state; token bytes are read once per model.
 *
 * @module
 */
import type { TokenMask } from "../devices/mod.ts";
import type { ByteAcceptor } from "./byte_acceptor.ts";
import type { ModelTokenizer } from "./tokenizer.ts";

interface _Accepted {
  /** Accepted token ids. */
  tokens: Int32Array;
  /** For each, the completion length (bytes) of the state it leads to. */
  costs: Int32Array;
  maxCost: number;
  /** The mask of all of them. */
  mask: TokenMask;
}

/** Acceptor states whose masks are kept (a string state of a 150k vocabulary holds ~1 MB). */
const _CACHED_STATES = 64;

/** The vocabulary index of one model; see the module doc. */
export class VocabIndex {
  /** Token ids are 0 .. vocabSize - 1. */
  readonly vocabSize: number;
  readonly #bytes: (Uint8Array | null)[];
  readonly #order: Int32Array;
  readonly #lcp: Int32Array;
  readonly #byText = new Map<string, number>();
  readonly #longest: number;
  readonly #cache = new Map<string, _Accepted>();

  /**
   * Indexes `bytes[id]` for every id below `bytes.length`; null marks a token constrained decoding
   * never picks (special and marker tokens, ids past the tokenizer's vocabulary).
   */
  constructor(bytes: (Uint8Array | null)[]) {
    this.vocabSize = bytes.length;
    this.#bytes = bytes;
    const ids: number[] = [];
    let longest = 0;
    bytes.forEach((b, id) => {
      if (b === null || b.length === 0) return;
      ids.push(id);
      longest = Math.max(longest, b.length);
      const text = _latin1(b);
      if (!this.#byText.has(text)) this.#byText.set(text, id);
    });
    this.#longest = longest;
    ids.sort((a, b) => _compare(bytes[a]!, bytes[b]!) || a - b);
    this.#order = Int32Array.from(ids);
    this.#lcp = new Int32Array(ids.length);
    for (let k = 1; k < ids.length; k++) this.#lcp[k] = _commonPrefix(bytes[ids[k - 1]]!, bytes[ids[k]]!);
  }

  /** The bytes of a token, or null when constrained decoding never picks it. */
  tokenBytes(id: number): Uint8Array | null {
    return this.#bytes[id] ?? null;
  }

  /**
   * The mask of the tokens `state` accepts whose resulting state can still be completed in
   * `budget` bytes; null when there is none.
   */
  mask(state: ByteAcceptor, budget: number): TokenMask | null {
    const accepted = this.#accepted(state);
    if (accepted.maxCost <= budget) return accepted.tokens.length > 0 ? accepted.mask : null;
    const fitting = accepted.tokens.filter((_, i) => accepted.costs[i] <= budget);
    return fitting.length > 0 ? this.#maskOf(fitting) : null;
  }

  /** `bytes` as tokens, longest match first; null when some byte has no token. */
  greedy(bytes: ArrayLike<number>): number[] | null {
    const out: number[] = [];
    const all = Array.from(bytes);
    for (let at = 0; at < all.length;) {
      let length = Math.min(this.#longest, all.length - at);
      while (length > 0 && !this.#byText.has(_latin1(all.slice(at, at + length)))) length--;
      if (length === 0) return null;
      out.push(this.#byText.get(_latin1(all.slice(at, at + length)))!);
      at += length;
    }
    return out;
  }

  #accepted(state: ByteAcceptor): _Accepted {
    const cached = this.#cache.get(state.key);
    if (cached !== undefined) {
      this.#cache.delete(state.key);
      this.#cache.set(state.key, cached);
      return cached;
    }
    const tokens: number[] = [];
    const costs: number[] = [];
    const states: ByteAcceptor[] = [state];
    let valid = 0; // states[0 .. valid] hold along the previous token's bytes
    for (let k = 0; k < this.#order.length; k++) {
      const id = this.#order[k];
      const bytes = this.#bytes[id]!;
      const shared = this.#lcp[k];
      if (shared > valid) continue; // it shares the byte the previous token was refused at
      let depth = shared;
      for (; depth < bytes.length; depth++) {
        const next = states[depth].step(bytes[depth]);
        if (next === null) break;
        states[depth + 1] = next;
      }
      valid = depth;
      if (depth === bytes.length) {
        tokens.push(id);
        costs.push(states[depth].completion().length);
      }
    }
    const accepted: _Accepted = {
      tokens: Int32Array.from(tokens),
      costs: Int32Array.from(costs),
      maxCost: costs.reduce((a, b) => Math.max(a, b), 0),
      mask: this.#maskOf(Int32Array.from(tokens)),
    };
    this.#cache.set(state.key, accepted);
    if (this.#cache.size > _CACHED_STATES) this.#cache.delete(this.#cache.keys().next().value!);
    return accepted;
  }

  // An allow list when it is the shorter, else the deny list of everything else.
  #maskOf(allowed: Int32Array): TokenMask {
    if (allowed.length * 2 <= this.vocabSize) return { allow: allowed };
    const keep = new Uint8Array(this.vocabSize);
    for (const id of allowed) keep[id] = 1;
    const deny = new Int32Array(this.vocabSize - allowed.length);
    let at = 0;
    for (let id = 0; id < this.vocabSize; id++) if (keep[id] === 0) deny[at++] = id;
    return { deny };
  }
}

const _indexes = new WeakMap<ModelTokenizer, Map<number, VocabIndex>>();

/**
 * The index of a model's vocabulary (built once per tokenizer and vocabulary size): every token's
 * bytes except added tokens (special tokens and chat markers, which constrained text never
 * holds) and ids the tokenizer lacks.
 */
export function vocabIndexOf(tokenizer: ModelTokenizer, vocabSize: number): VocabIndex {
  let bySize = _indexes.get(tokenizer);
  if (bySize === undefined) _indexes.set(tokenizer, bySize = new Map());
  const existing = bySize.get(vocabSize);
  if (existing !== undefined) return existing;
  const skip = tokenizer.addedIds;
  const bytes: (Uint8Array | null)[] = [];
  for (let id = 0; id < vocabSize; id++) {
    if (skip.has(id)) {
      bytes.push(null);
      continue;
    }
    try {
      const b = tokenizer.tokenBytes(id);
      bytes.push(b.length > 0 ? Uint8Array.from(b) : null);
    } catch {
      bytes.push(null); // an id the tokenizer does not know (a padded embedding row)
    }
  }
  const index = new VocabIndex(bytes);
  bySize.set(vocabSize, index);
  return index;
}

function _latin1(bytes: ArrayLike<number>): string {
  let text = "";
  for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
  return text;
}

function _compare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function _commonPrefix(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
