/**
 * The poller: asks every neuron for `/models` and `/health` (and `/discovery` at first
 * contact and after a restart) on an interval, all nodes concurrently, and hands each answer
 * (or failure) to the scheduler, which applies it (a node failing `unhealthy_after` polls in a
 * row receives no traffic until it answers again). Proxied calls that find a node dead or
 * silent report it here too, so every health change passes through one place.
 *
 * @module
 */
import type { Fleet } from "./fleet.ts";
import type { NodeState, PollAnswers } from "./node_state.ts";

/** Where poll results go (the scheduler). */
export interface PollSink {
  /** A node answered (`restarted`: its uptime went back since the last answer). */
  pollAnswered(node: string, answers: PollAnswers, restarted: boolean): void;
  /** A poll of the node failed. */
  pollFailed(node: string, message: string): void;
  /** A proxied call found the node refusing connections; true when it was in rotation. */
  nodeUnreachable(node: string, message: string): boolean;
}

/** Poller timing from `[poller]`. */
export interface PollerOptions {
  /** Milliseconds between polls of each node. */
  intervalMs: number;
  /** Called on every failed poll. */
  onFailure?: (node: NodeState, message: string) => void;
}

/** Polls the fleet until stopped. */
export class Poller {
  readonly #fleet: Fleet;
  readonly #sink: () => PollSink;
  readonly #options: PollerOptions;
  readonly #chains = new Map<string, Promise<boolean>>();
  readonly #running = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | null = null;
  #stopped = false;

  /** Binds the poller to a fleet and the sink of its results; call {@linkcode Poller.start}. */
  constructor(fleet: Fleet, sink: () => PollSink, options: PollerOptions) {
    this.#fleet = fleet;
    this.#sink = sink;
    this.#options = options;
  }

  /** Polls every node now, then every interval. Resolves after the first sweep. */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.pollAll();
    this.#schedule();
  }

  /** Stops polling and waits for polls under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await Promise.allSettled([...this.#chains.values()]);
  }

  /** One sweep over all nodes (a node whose previous poll is still running is skipped). */
  async pollAll(): Promise<void> {
    await Promise.all(
      this.#fleet.nodes.filter((n) => !this.#running.has(n.name)).map((n) => this.pollNode(n)),
    );
  }

  /**
   * Polls one node, starting after any poll of it already under way (so the answer is
   * newer than the caller's last action). Resolves true when the node answered.
   */
  pollNode(node: NodeState): Promise<boolean> {
    const previous = this.#chains.get(node.name) ?? Promise.resolve(true);
    const next = previous.catch(() => false).then(() => this.#pollOnce(node));
    this.#chains.set(node.name, next);
    void next.finally(() => {
      if (this.#chains.get(node.name) === next) this.#chains.delete(node.name);
    });
    return next;
  }

  /**
   * A proxied call found the node refusing connections: out of rotation at once (every call
   * waiting on it ends), the change reported like a poll's, and a poll started to confirm.
   */
  reportUnreachable(node: NodeState, message: string): void {
    this.#sink().nodeUnreachable(node.name, message);
    void this.pollNode(node);
  }

  /**
   * A proxied call waited too long for the node's answer: polled at once rather than at the
   * next interval, so that a hung node is found within its poll timeout.
   */
  reportSilent(node: NodeState): void {
    if (!this.#running.has(node.name)) void this.pollNode(node);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(async () => {
      this.#timer = null;
      await this.pollAll();
      this.#schedule();
    }, this.#options.intervalMs);
  }

  async #pollOnce(node: NodeState): Promise<boolean> {
    this.#running.add(node.name);
    try {
      const [models, health] = await Promise.all([node.client.models(), node.client.health()]);
      const restarted = node.health !== null && health.uptime_secs < node.health.uptime_secs;
      const discovery = node.discovery === null || restarted ? await node.client.discovery() : null;
      this.#sink().pollAnswered(node.name, { discovery, models, health }, restarted);
      return true;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.#options.onFailure?.(node, message);
      this.#sink().pollFailed(node.name, message);
      return false;
    } finally {
      this.#running.delete(node.name);
    }
  }
}
