// Private: request parameters that name token ids — `logit_bias` keys and a token-id `prompt` —
// checked against the model's vocabulary, each error naming the exact field.
import { CortexError } from "@cortex/core/errors";
import type { CompletionRequest } from "@cortex/core/openai";

function _invalid(param: string, message: string): CortexError {
  return new CortexError(`${param}: ${message}`, { code: "invalid_request_body", status: 400, param });
}

/**
 * `logit_bias` (token id as a decimal string → number in [-100, 100]) as a map; 400 naming
 * `logit_bias.<key>` for a key that is not a token id of the vocabulary or a bad value.
 */
export function parseLogitBias(
  raw: Record<string, unknown> | null | undefined,
  vocab: number,
): Map<number, number> {
  const bias = new Map<number, number>();
  for (const [key, value] of Object.entries(raw ?? {})) {
    const param = `logit_bias.${key}`;
    const id = /^(0|[1-9]\d*)$/.test(key) ? Number(key) : NaN;
    if (!(id < vocab)) {
      throw _invalid(param, `expected a token id (a decimal integer from 0 to ${vocab - 1}) as the key`);
    }
    if (typeof value !== "number" || !Number.isFinite(value) || value < -100 || value > 100) {
      throw _invalid(param, `expected a number from -100 to 100, got ${JSON.stringify(value)}`);
    }
    if (value !== 0) bias.set(id, value);
  }
  return bias;
}

/**
 * The one prompt of a text-completions request: its text, or its token ids (each checked against
 * the vocabulary, 400 naming `prompt[i]`). A batch of several prompts is refused; a batch of one
 * is that prompt. An empty prompt is a 400.
 */
export function completionPrompt(
  prompt: CompletionRequest["prompt"],
  vocab: number,
): { text: string } | { ids: number[] } {
  if (typeof prompt === "string") return { text: prompt };
  if (prompt.length === 0) {
    throw _invalid("prompt", "expected a string or a non-empty array of token ids, got []");
  }
  const first = prompt[0];
  if (typeof first === "string" || Array.isArray(first)) {
    if (prompt.length > 1) {
      throw new CortexError(
        `prompt: a batch of ${prompt.length} prompts is not supported; send one request per prompt`,
        { code: "unsupported_parameter", status: 400, param: "prompt" },
      );
    }
    if (typeof first === "string") return { text: first };
    return { ids: _tokenIds(first, vocab, "prompt[0]") };
  }
  return { ids: _tokenIds(prompt as number[], vocab, "prompt") };
}

function _tokenIds(ids: number[], vocab: number, at: string): number[] {
  if (ids.length === 0) throw _invalid(at, "expected a non-empty array of token ids, got []");
  ids.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocab) {
      throw _invalid(`${at}[${i}]`, `expected a token id from 0 to ${vocab - 1}, got ${id}`);
    }
  });
  return ids;
}
