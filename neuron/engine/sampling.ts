/**
 * Sampling parameters of one request, resolved field by field: the request, then the
 * model's `generation_config.json`, then neuron defaults. Out-of-range values are 400
 * errors naming the field.
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import type { SamplingFields } from "@cortex/core/openai";
import type { SamplingParams } from "../devices/mod.ts";

/** Sampling fields a request may set (OpenAI names, plus the open-model extensions); core's shared definition. */
export type SamplingRequest = SamplingFields;

/** The sampling defaults a model folder's `generation_config.json` carries. */
export interface GenerationConfig {
  /** Sampling at all; false makes greedy the default. */
  do_sample?: boolean;
  /** Default temperature. */
  temperature?: number;
  /** Default top-p. */
  top_p?: number;
  /** Default top-k. */
  top_k?: number;
  /** Default min-p. */
  min_p?: number;
  /** Default repetition penalty. */
  repetition_penalty?: number;
  /** End-of-sequence ids (one or several). */
  eos_token_id?: number | number[];
}

/** Resolved parameters: exactly the engine's `neuron/devices` {@linkcode SamplingParams}. */
export type ResolvedSampling = SamplingParams;

/** Neuron defaults when neither the request nor the model says (temperature as in the original: 0.7). */
export const SAMPLING_DEFAULTS: Readonly<Omit<ResolvedSampling, "seed">> = Object.freeze({
  temperature: 0.7,
  topK: 0,
  topP: 1,
  minP: 0,
  presencePenalty: 0,
  frequencyPenalty: 0,
  repetitionPenalty: 1,
});

const _SEED_SPACE = 2 ** 53;

/**
 * Reads `generation_config.json` from a model folder; a missing or unreadable file gives
 * `{}` (the defaults apply), as in the original.
 */
export async function readGenerationConfig(folder: string): Promise<GenerationConfig> {
  try {
    const raw = JSON.parse(await Deno.readTextFile(`${folder}/generation_config.json`));
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return {};
    const out: GenerationConfig = {};
    const num = (key: keyof GenerationConfig): void => {
      if (typeof raw[key] === "number" && Number.isFinite(raw[key])) {
        (out as Record<string, unknown>)[key] = raw[key];
      }
    };
    num("temperature");
    num("top_p");
    num("top_k");
    num("min_p");
    num("repetition_penalty");
    if (typeof raw.do_sample === "boolean") out.do_sample = raw.do_sample;
    if (typeof raw.eos_token_id === "number") out.eos_token_id = raw.eos_token_id;
    else if (Array.isArray(raw.eos_token_id)) {
      out.eos_token_id = raw.eos_token_id.filter((id: unknown) => typeof id === "number");
    }
    return out;
  } catch {
    return {};
  }
}

/**
 * Resolves one request's sampling parameters. `randomSeed` supplies the seed when the
 * request has none (a fresh random one by default).
 *
 * @example
 * ```ts
 * import { resolveSampling } from "./sampling.ts";
 * const params = resolveSampling({ temperature: 0, seed: 7 }, { temperature: 0.6, top_k: 20 });
 * params.temperature; // 0 (the request wins)
 * params.topK; // 20 (from generation_config.json)
 * ```
 */
export function resolveSampling(
  request: SamplingRequest,
  model: GenerationConfig,
  randomSeed: () => number = _randomSeed,
): ResolvedSampling {
  const greedyByDefault = model.do_sample === false;
  const temperature = _pick(
    request.temperature,
    greedyByDefault ? 0 : model.temperature,
    SAMPLING_DEFAULTS.temperature,
  );
  const params: ResolvedSampling = {
    temperature,
    topK: _pick(request.top_k, model.top_k, SAMPLING_DEFAULTS.topK),
    topP: _pick(request.top_p, model.top_p, SAMPLING_DEFAULTS.topP),
    minP: _pick(request.min_p, model.min_p, SAMPLING_DEFAULTS.minP),
    seed: request.seed === null || request.seed === undefined ? randomSeed() : _normaliseSeed(request.seed),
    presencePenalty: request.presence_penalty ?? SAMPLING_DEFAULTS.presencePenalty,
    frequencyPenalty: request.frequency_penalty ?? SAMPLING_DEFAULTS.frequencyPenalty,
    repetitionPenalty: _pick(
      request.repetition_penalty,
      model.repetition_penalty,
      SAMPLING_DEFAULTS.repetitionPenalty,
    ),
  };
  _check(
    params.temperature >= 0 && params.temperature <= 100,
    "temperature",
    "a number from 0 to 100",
    temperature,
  );
  _check(Number.isInteger(params.topK) && params.topK >= 0, "top_k", "an integer >= 0", params.topK);
  _check(params.topP > 0 && params.topP <= 1, "top_p", "a number in (0, 1]", params.topP);
  _check(params.minP >= 0 && params.minP <= 1, "min_p", "a number in [0, 1]", params.minP);
  _check(
    params.presencePenalty >= -2 && params.presencePenalty <= 2,
    "presence_penalty",
    "a number from -2 to 2",
    params.presencePenalty,
  );
  _check(
    params.frequencyPenalty >= -2 && params.frequencyPenalty <= 2,
    "frequency_penalty",
    "a number from -2 to 2",
    params.frequencyPenalty,
  );
  _check(params.repetitionPenalty > 0, "repetition_penalty", "a number > 0", params.repetitionPenalty);
  return params;
}

function _pick(request: number | null | undefined, model: number | undefined, fallback: number): number {
  if (request !== null && request !== undefined) return request;
  return model ?? fallback;
}

// Any integer seed maps into the engine's [0, 2^53) space; distinct small seeds stay distinct.
function _normaliseSeed(seed: number): number {
  const rest = Math.trunc(seed) % _SEED_SPACE;
  return rest >= 0 ? rest : rest + _SEED_SPACE;
}

function _randomSeed(): number {
  const words = crypto.getRandomValues(new Uint32Array(2));
  return (words[0] & 0x1fffff) * 2 ** 32 + words[1];
}

function _check(ok: boolean, field: string, expected: string, got: number): void {
  if (ok && Number.isFinite(got)) return;
  throw new CortexError(`${field}: expected ${expected}, got ${got}`, {
    code: "invalid_request_body",
    status: 400,
    param: field,
  });
}
