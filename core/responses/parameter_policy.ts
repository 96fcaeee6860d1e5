/**
 * Which Responses request parameters cortex serves: the ones it translates to chat completions,
 * plus bookkeeping fields clients such as Codex send (`store`, `include:
 * ["reasoning.encrypted_content"]`, `prompt_cache_key`, `client_metadata`, …). Anything else, or a value cortex
 * cannot honour (token log-probabilities, background mode, server-side truncation, constrained
 * JSON), is a 400 `unsupported_parameter` naming it. The gateway and the neuron
 * both check it, since the gateway translates Responses requests itself.
 *
 * @module
 */
import { parseWithSchema } from "../errors/zod_issues.ts";
import { type ParameterRefusal, refuseParameters } from "../openai/parameter_policy.ts";
import { type ResponsesRequest, ResponsesRequestSchema } from "./request.ts";

/** Parameters a Responses request may carry. */
export const RESPONSES_PARAMETERS: readonly string[] = [
  "model",
  "input",
  "instructions",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "stream",
  "stream_options",
  "max_output_tokens",
  "temperature",
  "top_p",
  "top_k",
  "seed",
  "reasoning",
  "previous_response_id",
  "text",
  "include",
  "truncation",
  "background",
  "top_logprobs",
  "store",
  "metadata",
  "user",
  "service_tier",
  "safety_identifier",
  "prompt_cache_key",
  "client_metadata",
];

const _present = (value: unknown): boolean => value !== undefined && value !== null;

/**
 * Refuses what a Responses request asks for and cortex does not implement.
 *
 * @example
 * ```ts
 * import { checkResponsesParameters } from "@cortex/core/responses";
 * checkResponsesParameters({ model: "m", input: "hi", store: false, include: ["reasoning.encrypted_content"] });
 * // checkResponsesParameters({ model: "m", input: "hi", top_logprobs: 5 }) throws naming top_logprobs
 * ```
 */
export function checkResponsesParameters(body: Record<string, unknown>): void {
  const refusals: ParameterRefusal[] = [];
  if (_present(body.top_logprobs) && body.top_logprobs !== 0) {
    refusals.push({
      param: "top_logprobs",
      message: "token log-probabilities are not returned by /v1/responses",
    });
  }
  const include = Array.isArray(body.include) ? body.include : [];
  if (include.includes("message.output_text.logprobs")) {
    refusals.push({
      param: "include",
      message:
        `"message.output_text.logprobs" is not supported: /v1/responses returns no token log-probabilities`,
    });
  }
  if (body.background === true) {
    refusals.push({
      param: "background",
      message: "background responses are not supported (cortex stores none)",
    });
  }
  if (_present(body.truncation) && body.truncation !== "disabled") {
    refusals.push({
      param: "truncation",
      message: `only "disabled" is supported, got ${JSON.stringify(body.truncation)}`,
    });
  }
  const format = (body.text as { format?: { type?: unknown } } | null | undefined)?.format;
  if (_present(format) && format?.type !== "text") {
    refusals.push({
      param: "text.format",
      message: `type ${
        JSON.stringify(format?.type)
      } needs constrained decoding, which cortex does not implement`,
    });
  }
  refuseParameters(body, RESPONSES_PARAMETERS, refusals);
}

/**
 * A Responses body as gateway and neuron accept it: its schema (400s name the JSON path), then
 * {@linkcode checkResponsesParameters}.
 *
 * @example
 * ```ts
 * import { parseResponsesRequest } from "@cortex/core/responses";
 * parseResponsesRequest({ model: "m", input: "hi" }).input; // "hi"
 * ```
 */
export function parseResponsesRequest(json: unknown): ResponsesRequest {
  const parsed = parseWithSchema(ResponsesRequestSchema, json);
  if (!parsed.ok) throw parsed.error;
  checkResponsesParameters(parsed.value);
  return parsed.value;
}
