/**
 * The block pool of a model's prefix cache: prompt prefixes kept outside the KV slots, in fixed
 * blocks of `blockTokens` positions, so a conversation's prefix outlives the slot that computed it
 * (more sessions than slots, a slot taken by an unrelated request). Block i of a prompt is keyed by a
 * hash chain — its tokens and the key of block i − 1 — so one block serves every prompt that starts
 * with the same tokens (concurrent sessions sharing a system prompt hold it once), and a lookup walks
 * the prompt block by block, comparing the tokens themselves, so a hash collision can only miss.
 *
 * This class is the bookkeeping: which blocks exist, their ids, the budget and the LRU order. The
 * engine holds the bytes (`Model.storePrefixBlocks`, `Model.newSequence({ blocks })`); every id this
 * pool hands out or takes back is passed on to it by the scheduler, in the order the pool decided,
 * on the model's one device queue. Dropping a block drops the blocks chained after it, which no
 * lookup could reach any more. Blocks a plan is about to load are pinned until the sequence starts.
 *
 * @module
 */

interface _Block {
  id: number;
  key: number;
  tokens: readonly number[];
  parent: _Block | null;
  children: Set<_Block>;
  depth: number;
  lastUsed: number;
  pins: number;
}

/** Cumulative figures of a {@linkcode PrefixBlockPool}. */
export interface PrefixBlockFigures {
  /** Blocks held now. */
  blocks: number;
  /** Device bytes they hold. */
  bytes: number;
  /** The most bytes held at any time. */
  peakBytes: number;
  /** The budget (bytes). */
  budgetBytes: number;
  /** Blocks stored since load. */
  stored: number;
  /** Blocks dropped to stay within the budget. */
  evicted: number;
  /** Blocks dropped to make room for a model load. */
  reclaimed: number;
  /** Stores the device refused (out of memory). */
  storeFailures: number;
}

/** What to store: blocks `first` .. `first + ids.length − 1` of a slot's tokens, under these ids. */
export interface BlockStore {
  /** The index of the first block (its first position is first × blockTokens). */
  first: number;
  /** New block ids, one per block. */
  ids: number[];
}

// A 32-bit FNV-1a-style mix of a parent key and a block's tokens.
function chainKey(parent: number, tokens: readonly number[]): number {
  let h = (parent ^ 0x811c9dc5) >>> 0;
  for (const token of tokens) {
    h = Math.imul(h ^ (token & 0xffff), 0x01000193) >>> 0;
    h = Math.imul(h ^ (token >>> 16), 0x01000193) >>> 0;
  }
  return h;
}

function sameTokens(a: readonly number[], prompt: readonly number[], start: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== prompt[start + i]) return false;
  return true;
}

/**
 * Budgeted, hash-chained prefix blocks (see the module doc). A budget smaller than one block keeps
 * nothing.
 *
 * @example
 * ```ts
 * import { PrefixBlockPool } from "./prefix_blocks.ts";
 * const pool = new PrefixBlockPool(2, 1000, 4000);
 * const tokens = [1, 2, 3, 4, 5];
 * const { store } = pool.plan(tokens); // { first: 0, ids: [1, 2] }: blocks [1, 2] and [3, 4]
 * pool.match([1, 2, 3, 4, 9]).length; // 2
 * ```
 */
export class PrefixBlockPool {
  /** Positions per block. */
  readonly blockTokens: number;
  /** Device bytes per block. */
  readonly blockBytes: number;
  /** Most bytes the pool may hold. */
  readonly budgetBytes: number;
  readonly #byKey = new Map<number, _Block>();
  readonly #byId = new Map<number, _Block>();
  #nextId = 1;
  #clock = 0;
  #peak = 0;
  #stats = { stored: 0, evicted: 0, reclaimed: 0, storeFailures: 0 };

  /** An empty pool. */
  constructor(blockTokens: number, blockBytes: number, budgetBytes: number) {
    this.blockTokens = blockTokens;
    this.blockBytes = blockBytes;
    this.budgetBytes = budgetBytes;
  }

  /** Blocks the pool may hold at once. */
  get capacity(): number {
    return this.blockBytes > 0 ? Math.floor(this.budgetBytes / this.blockBytes) : 0;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#byId.size * this.blockBytes;
  }

  /** The pool's blocks that start `tokens`, in order (verified token by token), at most `limit` tokens' worth. */
  #chain(tokens: readonly number[], limit: number): _Block[] {
    const chain: _Block[] = [];
    let parent: _Block | null = null;
    for (let start = 0; start + this.blockTokens <= limit; start += this.blockTokens) {
      const block = this.#byKey.get(
        chainKey(parent?.key ?? 0, tokens.slice(start, start + this.blockTokens)),
      );
      if (!block || block.parent !== parent || !sameTokens(block.tokens, tokens, start)) break;
      chain.push(block);
      parent = block;
    }
    return chain;
  }

  /**
   * The ids of the longest run of blocks holding `prompt`'s first tokens, never all of it (a request
   * feeds at least one token); marks them used and pins them until {@linkcode unpin}.
   */
  match(prompt: readonly number[]): number[] {
    const chain = this.#chain(prompt, prompt.length - 1);
    const now = ++this.#clock;
    for (const block of chain) {
      block.lastUsed = now;
      block.pins++;
    }
    return chain.map((block) => block.id);
  }

  /** Releases the pins {@linkcode match} took. */
  unpin(ids: readonly number[]): void {
    for (const id of ids) {
      const block = this.#byId.get(id);
      if (block && block.pins > 0) block.pins--;
    }
  }

  /**
   * Plans keeping `tokens` (a slot's contents, about to be overwritten): the whole blocks not yet in
   * the pool get new ids (as many as the budget allows, evicting least recently used unpinned blocks
   * first). Returns what to store and what to drop first (null / empty when nothing).
   */
  plan(tokens: readonly number[]): { store: BlockStore | null; drop: number[] } {
    const whole = Math.floor(tokens.length / this.blockTokens);
    const chain = this.#chain(tokens, whole * this.blockTokens);
    const now = ++this.#clock;
    for (const block of chain) block.lastUsed = now;
    const missing = whole - chain.length;
    if (missing === 0 || this.capacity === 0) return { store: null, drop: [] };
    const keep = new Set(chain);
    const drop = this.#evict(this.#byId.size + Math.min(missing, this.capacity) - this.capacity, keep);
    this.#stats.evicted += drop.length;
    const count = Math.min(missing, this.capacity - this.#byId.size);
    if (count <= 0) return { store: null, drop };
    const ids: number[] = [];
    let parent = chain.at(-1) ?? null;
    for (let b = chain.length; b < chain.length + count; b++) {
      const blockTokens = tokens.slice(b * this.blockTokens, (b + 1) * this.blockTokens);
      const key = chainKey(parent?.key ?? 0, blockTokens);
      if (this.#byKey.has(key)) break; // a collision with another chain: keep what is there
      const block: _Block = {
        id: this.#nextId++,
        key,
        tokens: blockTokens,
        parent,
        children: new Set(),
        depth: b,
        lastUsed: now,
        pins: 0,
      };
      parent?.children.add(block);
      this.#byKey.set(key, block);
      this.#byId.set(block.id, block);
      ids.push(block.id);
      parent = block;
    }
    this.#stats.stored += ids.length;
    this.#peak = Math.max(this.#peak, this.bytes);
    return { store: ids.length > 0 ? { first: chain.length, ids } : null, drop };
  }

  /** The device refused a store: its blocks (and any chained after them) are forgotten. */
  storeFailed(ids: readonly number[]): number[] {
    this.#stats.storeFailures++;
    const dropped: number[] = [];
    for (const id of ids) {
      const block = this.#byId.get(id);
      if (block) dropped.push(...this.#remove(block));
    }
    this.#stats.stored -= ids.length;
    return dropped;
  }

  /**
   * Frees at least `bytes` (or all it can) for a model load, least recently used unpinned blocks
   * first; returns the ids to drop on the device.
   */
  reclaim(bytes: number): number[] {
    const drop = this.#evict(Math.ceil(bytes / this.blockBytes), new Set());
    this.#stats.reclaimed += drop.length;
    return drop;
  }

  /** Cumulative figures and what the pool holds now. */
  get stats(): PrefixBlockFigures {
    return {
      blocks: this.#byId.size,
      bytes: this.bytes,
      peakBytes: this.#peak,
      budgetBytes: this.budgetBytes,
      ...this.#stats,
    };
  }

  // Forgets at least `count` blocks outside `keep` whose chains hold no pin, least recently used first
  // and, among equals, the deepest (a chain goes from its end); returns the ids forgotten.
  #evict(count: number, keep: ReadonlySet<_Block>): number[] {
    if (count <= 0) return [];
    const order = [...this.#byId.values()].filter((block) => !keep.has(block))
      .sort((a, b) => a.lastUsed - b.lastUsed || b.depth - a.depth);
    const drop: number[] = [];
    for (const block of order) {
      if (drop.length >= count) break;
      if (!this.#byId.has(block.id) || this.#pinned(block)) continue;
      drop.push(...this.#remove(block));
    }
    return drop;
  }

  #pinned(block: _Block): boolean {
    if (block.pins > 0) return true;
    for (const child of block.children) if (this.#pinned(child)) return true;
    return false;
  }

  // Forgets `block` and every block chained after it; returns their ids.
  #remove(block: _Block): number[] {
    const ids: number[] = [];
    for (const child of block.children) ids.push(...this.#remove(child));
    block.parent?.children.delete(block);
    this.#byKey.delete(block.key);
    this.#byId.delete(block.id);
    ids.push(block.id);
    return ids;
  }
}
