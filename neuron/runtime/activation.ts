/**
 * Loading `default_models` at start: in the background once the listener is up, one at a
 * time, with progress reported in `/health` (`pending` → `in_progress` → `completed` or
 * `failed`). A hub that cannot be reached is retried a few times with backoff; any other
 * failure is final.
 *
 * @module
 */
import type { NeuronDefaultModel } from "@cortex/core/config";
import { CortexError } from "@cortex/core/errors";
import type { ActivationState, LoadModelRequest, LoadModelResult } from "@cortex/core/fleet";

/** Backoff before each retry of an unreachable hub, in ms. */
export const ACTIVATION_RETRY_MS: readonly number[] = [5_000, 10_000, 20_000];

/** Tracks and runs the start-up loads. */
export class Activation {
  readonly #models: readonly NeuronDefaultModel[];
  #state: ActivationState;

  /** Starts in `pre_warming` with every default model pending (`ready` at once when none). */
  constructor(models: readonly NeuronDefaultModel[]) {
    this.#models = models;
    this.#state = {
      state: models.length === 0 ? "ready" : "pre_warming",
      pending: models.map((m) => m.model_id),
      in_progress: null,
      completed: [],
      failed: [],
    };
  }

  /** A snapshot for `/health`. */
  get state(): ActivationState {
    return structuredClone(this.#state);
  }

  /**
   * Loads every default model in order through `load`; never throws. `retryDelays` sets the
   * backoff for an unreachable hub (default {@linkcode ACTIVATION_RETRY_MS}).
   */
  async run(
    load: (request: LoadModelRequest) => Promise<LoadModelResult>,
    retryDelays: readonly number[] = ACTIVATION_RETRY_MS,
  ): Promise<void> {
    for (const model of this.#models) {
      this.#state.pending = this.#state.pending.filter((id) => id !== model.model_id);
      this.#state.in_progress = model.model_id;
      for (let attempt = 0;; attempt++) {
        try {
          await load({ ...model });
          this.#state.completed.push(model.model_id);
          break;
        } catch (error) {
          const transient = error instanceof CortexError && error.code === "hub_unreachable";
          if (transient && attempt < retryDelays.length) {
            await new Promise((resolve) => setTimeout(resolve, retryDelays[attempt]));
            continue;
          }
          this.#state.failed.push({
            model_id: model.model_id,
            error: (error as Error).message ?? String(error),
          });
          break;
        }
      }
    }
    this.#state.in_progress = null;
    this.#state.state = "ready";
  }
}
