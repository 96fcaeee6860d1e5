/**
 * Which request parameters cortex serves. A parameter that is not implemented — unknown, or a
 * value that would change the output in a way cortex cannot honour (`n` > 1, `best_of`,
 * `suffix`, audio, predicted outputs, constrained JSON…) — is a 400 `unsupported_parameter`
 * naming it, never silently ignored. Harmless bookkeeping fields SDKs send (`user`, `metadata`,
 * `store`, `service_tier`, …) are accepted. `tool_choice` and `parallel_tool_calls` are accepted
 * in every form; the neuron enforces them by constrained decoding.
 *
 * @module
 */
import { CortexError } from "../errors/mod.ts";
import { parseWithSchema } from "../errors/zod_issues.ts";
import { type ChatCompletionRequest, ChatCompletionRequestSchema } from "./chat_request.ts";
import { type CompletionRequest, CompletionRequestSchema } from "./completions.ts";

/** A refusal: the parameter at fault and why. */
export interface ParameterRefusal {
  /** The parameter, e.g. `best_of` or `response_format.type`. */
  param: string;
  /** What is wrong and what to do, without the parameter name. */
  message: string;
}

/** Bookkeeping fields accepted everywhere because they do not change what is generated. */
const _HARMLESS = ["user", "metadata", "store", "service_tier", "safety_identifier", "prompt_cache_key"];

const _SAMPLING = [
  "temperature",
  "top_p",
  "top_k",
  "min_p",
  "seed",
  "presence_penalty",
  "frequency_penalty",
  "repetition_penalty",
];

/** Parameters a chat-completions request may carry. */
export const CHAT_PARAMETERS: readonly string[] = [
  "model",
  "messages",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "response_format",
  "stream",
  "stream_options",
  "max_tokens",
  "max_completion_tokens",
  "stop",
  ..._SAMPLING,
  "reasoning_effort",
  "n",
  "chat_template_kwargs",
  "logprobs",
  "top_logprobs",
  "logit_bias",
  ..._HARMLESS,
];

/** Parameters a text-completions request may carry. */
export const COMPLETION_PARAMETERS: readonly string[] = [
  "model",
  "prompt",
  "stream",
  "stream_options",
  "max_tokens",
  "stop",
  ..._SAMPLING,
  "echo",
  "n",
  "best_of",
  "suffix",
  "logprobs",
  "logit_bias",
  ..._HARMLESS,
];

/**
 * Throws 400 `unsupported_parameter` for the first refusal: a key outside `known`, else the
 * first of `refusals`.
 */
export function refuseParameters(
  body: Record<string, unknown>,
  known: readonly string[],
  refusals: ParameterRefusal[] = [],
): void {
  const unknown = Object.keys(body).find((key) => !known.includes(key));
  const refusal = unknown !== undefined
    ? { param: unknown, message: "cortex does not implement this parameter; remove it from the request" }
    : refusals[0];
  if (refusal === undefined) return;
  throw new CortexError(`${refusal.param}: ${refusal.message}`, {
    code: "unsupported_parameter",
    status: 400,
    param: refusal.param,
  });
}

const _present = (value: unknown): boolean => value !== undefined && value !== null;

/**
 * Refuses what a chat-completions request asks for and cortex does not implement.
 *
 * @example
 * ```ts
 * import { checkChatParameters } from "@cortex/core/openai";
 * checkChatParameters({ model: "m", messages: [], user: "u" }); // fine
 * // checkChatParameters({ model: "m", messages: [], audio: {} }) throws: "audio: cortex does not implement…"
 * ```
 */
export function checkChatParameters(body: Record<string, unknown>): void {
  const refusals: ParameterRefusal[] = [];
  if (_present(body.n) && body.n !== 1) {
    refusals.push({ param: "n", message: `only 1 choice per request is supported, got ${body.n}` });
  }
  const format = body.response_format as { type?: unknown } | null | undefined;
  if (_present(format) && format?.type !== "text") {
    refusals.push({
      param: "response_format",
      message: `type ${JSON.stringify(format?.type)} needs constrained decoding, which cortex does not ` +
        `implement; omit response_format or use {"type": "text"}`,
    });
  }
  if (_present(body.top_logprobs) && body.logprobs !== true) {
    refusals.push({ param: "top_logprobs", message: "needs logprobs: true" });
  }
  refuseParameters(body, CHAT_PARAMETERS, refusals);
}

/**
 * Refuses what a text-completions request asks for and cortex does not implement.
 *
 * @example
 * ```ts
 * import { checkCompletionParameters } from "@cortex/core/openai";
 * checkCompletionParameters({ model: "m", prompt: "Once", logprobs: 5 }); // fine
 * // checkCompletionParameters({ model: "m", prompt: "x", best_of: 3 }) throws naming best_of
 * ```
 */
export function checkCompletionParameters(body: Record<string, unknown>): void {
  const refusals: ParameterRefusal[] = [];
  if (_present(body.n) && body.n !== 1) {
    refusals.push({ param: "n", message: `only 1 choice per request is supported, got ${body.n}` });
  }
  if (_present(body.best_of) && body.best_of !== 1) {
    refusals.push({ param: "best_of", message: `only best_of 1 is supported, got ${body.best_of}` });
  }
  if (_present(body.suffix) && body.suffix !== "") {
    refusals.push({ param: "suffix", message: "insertion (a suffix after the completion) is not supported" });
  }
  if (body.echo === true && _present(body.logprobs)) {
    refusals.push({
      param: "echo",
      message:
        "echo with logprobs would need the prompt tokens' log-probabilities, which cortex does not return",
    });
  }
  refuseParameters(body, COMPLETION_PARAMETERS, refusals);
}

/**
 * A chat-completions body as gateway and neuron accept it: its schema (400s name the JSON path), then
 * {@linkcode checkChatParameters}.
 *
 * @example
 * ```ts
 * import { parseChatRequest } from "@cortex/core/openai";
 * parseChatRequest({ model: "m", messages: [{ role: "user", content: "hi" }] }).model; // "m"
 * ```
 */
export function parseChatRequest(json: unknown): ChatCompletionRequest {
  const parsed = parseWithSchema(ChatCompletionRequestSchema, json);
  if (!parsed.ok) throw parsed.error;
  checkChatParameters(parsed.value);
  return parsed.value;
}

/**
 * A text-completions body as gateway and neuron accept it: its schema, then
 * {@linkcode checkCompletionParameters}.
 *
 * @example
 * ```ts
 * import { parseCompletionRequest } from "@cortex/core/openai";
 * parseCompletionRequest({ model: "m", prompt: "Once" }).prompt; // "Once"
 * ```
 */
export function parseCompletionRequest(json: unknown): CompletionRequest {
  const parsed = parseWithSchema(CompletionRequestSchema, json);
  if (!parsed.ok) throw parsed.error;
  checkCompletionParameters(parsed.value);
  return parsed.value;
}
