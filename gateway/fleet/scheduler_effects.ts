/**
 * The scheduler's whole window onto the world: a clock, one timer, and three actions on a node
 * — refresh (poll it now), load a model, unload a model — each reporting back through a
 * callback, never synchronously. {@linkcode NeuronEffects} carries them out with each node's
 * {@linkcode NeuronClient} and the {@linkcode Poller}; the scheduler's tests use fakes that
 * record the calls and answer when the test says.
 *
 * @module
 */
import type { LoadModelRequest, LoadModelResult } from "@cortex/core/fleet";
import { CortexError, toCortexError } from "@cortex/core/errors";
import type { Fleet } from "./fleet.ts";
import type { NodeState } from "./node_state.ts";

/** How an action ended. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: CortexError };

/** Why the scheduler unloads a model (also the `reason` label of `cortex_evictions_total`). */
export type UnloadReason = "lru" | "priority" | "defrag" | "admin" | "idle";

/** What the scheduler may do. Every `done` is called exactly once, later (never inside the call). */
export interface SchedulerEffects {
  /** The time now (epoch ms). */
  now(): number;
  /** Calls `wake` at `atMs` or soon after; replaces the previous sleep. */
  sleep(atMs: number, wake: () => void): void;
  /** Polls the node now; `done` comes after its answers (or its failure) reached the scheduler. */
  refresh(node: string, done: () => void): void;
  /** Asks the node to load a model, within `timeoutMs`. */
  load(
    node: string,
    request: LoadModelRequest,
    timeoutMs: number,
    done: (outcome: Outcome<LoadModelResult>) => void,
  ): void;
  /** Asks the node to unload a model now (the neuron refuses with `model_busy` while it has requests). */
  unload(node: string, modelId: string, reason: UnloadReason, done: (outcome: Outcome<void>) => void): void;
}

/** What polls a node for the real effects (the {@linkcode Poller}). */
export interface NodePolling {
  /** Polls one node after any poll of it under way; its answers go to the scheduler. */
  pollNode(node: NodeState): Promise<boolean>;
}

/** The effects of a running gateway: neuron calls through each node's client, polls through the poller. */
export class NeuronEffects implements SchedulerEffects {
  readonly #fleet: Fleet;
  readonly #polling: () => NodePolling;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #stopped = false;

  /** `polling` is read when first needed (the poller is built after the scheduler). */
  constructor(fleet: Fleet, polling: () => NodePolling) {
    this.#fleet = fleet;
    this.#polling = polling;
  }

  /** `Date.now()`. */
  now(): number {
    return Date.now();
  }

  /** One `setTimeout`. */
  sleep(atMs: number, wake: () => void): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#stopped || !Number.isFinite(atMs)) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      wake();
    }, Math.max(0, atMs - Date.now()));
  }

  /** A poll through the poller. */
  refresh(node: string, done: () => void): void {
    this.#polling().pollNode(this.#node(node)).then(() => done(), () => done());
  }

  /** `POST /models/load`, abandoned when the node is taken out of rotation. */
  load(
    node: string,
    request: LoadModelRequest,
    timeoutMs: number,
    done: (outcome: Outcome<LoadModelResult>) => void,
  ): void {
    const state = this.#node(node);
    _settle(state.client.load(request, timeoutMs, state.lostSignal), done);
  }

  /** `POST /models/unload` without waiting for requests. */
  unload(node: string, modelId: string, _reason: UnloadReason, done: (outcome: Outcome<void>) => void): void {
    _settle(this.#node(node).client.unload({ model_id: modelId, wait: false }).then(() => {}), done);
  }

  /** Cancels the timer; later sleeps do nothing. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #node(name: string): NodeState {
    const node = this.#fleet.node(name);
    if (!node) throw new CortexError(`no node named '${name}'`, { code: "node_not_found", status: 404 });
    return node;
  }
}

function _settle<T>(promise: Promise<T>, done: (outcome: Outcome<T>) => void): void {
  promise.then(
    (value) => done({ ok: true, value }),
    (error) => done({ ok: false, error: toCortexError(error) }),
  );
}
