// The sampling fields that chat-completions and text-completions requests share (and the
// neuron resolves): one TypeScript shape and one zod shape, so the dialects cannot drift.
import { z } from "zod";
import { _optCount, _optNumber } from "../_open_union.ts";

/** Sampling fields a request may set: OpenAI names, plus the open-model extensions. */
export interface SamplingFields {
  /** Sampling temperature; 0 is greedy. */
  temperature?: number | null;
  /** Nucleus sampling mass in (0, 1]. */
  top_p?: number | null;
  /** Top-k sampling (extension); 0 = off. */
  top_k?: number | null;
  /** Min-p sampling in [0, 1] (extension). */
  min_p?: number | null;
  /** Seed for reproducible sampling; the same seed gives the same output. */
  seed?: number | null;
  /** Presence penalty in [-2, 2]. */
  presence_penalty?: number | null;
  /** Frequency penalty in [-2, 2]. */
  frequency_penalty?: number | null;
  /** Multiplicative repetition penalty (extension; > 0, 1 = off). */
  repetition_penalty?: number | null;
}

type _Opt = z.ZodOptional<z.ZodNullable<z.ZodNumber>>;

/** The zod shape of {@linkcode SamplingFields}, spread into each request schema. */
export const _SAMPLING_SHAPE: Readonly<Record<keyof SamplingFields, _Opt>> = {
  temperature: _optNumber,
  top_p: _optNumber,
  top_k: _optCount,
  min_p: _optNumber,
  seed: z.number().int().nullish(),
  presence_penalty: _optNumber,
  frequency_penalty: _optNumber,
  repetition_penalty: _optNumber,
};
