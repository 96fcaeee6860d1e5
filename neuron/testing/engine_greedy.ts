/**
 * Test helpers that read the engine's own answer through FFI, to hold a neuron's HTTP answer
 * against: a greedy run with each step's log-softmax, the top ids of a step, and the legacy
 * completions log-probabilities of a stream joined into one. Not part of `mod.ts` (it loads the plugin).
 *
 * @example
 * ```ts ignore
 * import { Plugin } from "../devices/mod.ts";
 * import { engineGreedy } from "./engine_greedy.ts";
 * const plugin = Plugin.open();
 * const model = await plugin.loadModel("model-Q8_0.gguf", { contextLength: 512 });
 * const { ids, logprobs } = await engineGreedy(model, [1, 2, 3], 32, new Set([2]));
 * ```
 * @module
 */
import type { Completion, CompletionLogprobs } from "@cortex/core/openai";
import { GREEDY, type Model } from "../devices/mod.ts";
import { logSoftmax } from "../devices/_test_helpers.ts";

export { topIds } from "../devices/_test_helpers.ts";

/** A greedy run: the generated ids and each step's log-softmax (float64), stop token excluded. */
export interface GreedyRun {
  /** Generated ids, up to (not including) the first stop id. */
  ids: number[];
  /** Log-softmax of the logits each id was picked from. */
  logprobs: Float64Array[];
}

/** Runs `steps` greedy steps of `model` after `prompt` on a fresh sequence, stopping at a `stops` id. */
export async function engineGreedy(
  model: Model,
  prompt: readonly number[],
  steps: number,
  stops: ReadonlySet<number>,
): Promise<GreedyRun> {
  const sequence = await model.newSequence();
  try {
    const ids: number[] = [];
    const logprobs: Float64Array[] = [];
    let feed = [...prompt];
    for (let i = 0; i < steps; i++) {
      const [result] = await model.step([{ sequence, tokens: feed, sampling: GREEDY, wantLogits: true }]);
      if (stops.has(result.token!)) break;
      ids.push(result.token!);
      logprobs.push(logSoftmax(result.logits!));
      feed = [result.token!];
    }
    return { ids, logprobs };
  } finally {
    await sequence.free();
  }
}

/** The legacy log-probabilities of streamed completion chunks, joined in order. */
export function joinLegacy(chunks: Completion[]): CompletionLogprobs {
  const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  for (const chunk of chunks) {
    for (const choice of chunk.choices) {
      const lp = choice.logprobs;
      if (!lp) continue;
      out.tokens.push(...lp.tokens);
      out.token_logprobs.push(...lp.token_logprobs);
      out.top_logprobs.push(...lp.top_logprobs);
      out.text_offset.push(...lp.text_offset);
    }
  }
  return out;
}
