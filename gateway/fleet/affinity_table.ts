/**
 * The affinity table: which node each session of each model was last served by, bounded in
 * size with the least recently used session dropped first. Keys are per model, since one
 * client session may use several models (Claude Code's small fast model shares its id).
 *
 * @module
 */

/** Sessions kept by default. */
export const DEFAULT_AFFINITY_CAPACITY = 4096;

/** Session → node, least recently used first out. */
export class AffinityTable {
  /** Most sessions kept; the least recently used goes first past it. */
  readonly capacity: number;
  // Map order is recency order: every read or write moves an entry to the end.
  readonly #homes = new Map<string, string>();

  /** An empty table holding at most `capacity` sessions. */
  constructor(capacity: number = DEFAULT_AFFINITY_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`affinity capacity must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  /** Sessions held now. */
  get size(): number {
    return this.#homes.size;
  }

  /** The session's node, marking the session used; undefined when unknown. */
  get(modelId: string, session: string): string | undefined {
    const key = _key(modelId, session);
    const node = this.#homes.get(key);
    if (node !== undefined) {
      this.#homes.delete(key);
      this.#homes.set(key, node);
    }
    return node;
  }

  /** Records the session's node (most recently used), dropping the least recently used past capacity. */
  set(modelId: string, session: string, node: string): void {
    const key = _key(modelId, session);
    this.#homes.delete(key);
    this.#homes.set(key, node);
    if (this.#homes.size > this.capacity) this.#homes.delete(this.#homes.keys().next().value!);
  }

  /** Forgets one session of a model. */
  delete(modelId: string, session: string): void {
    this.#homes.delete(_key(modelId, session));
  }

  /** Forgets every session homed on `node` (it went unhealthy); returns how many. */
  forgetNode(node: string): number {
    let dropped = 0;
    for (const [key, home] of this.#homes) {
      if (home === node) {
        this.#homes.delete(key);
        dropped++;
      }
    }
    return dropped;
  }
}

function _key(modelId: string, session: string): string {
  return `${modelId}\n${session}`;
}
