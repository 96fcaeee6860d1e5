/**
 * Token usage mapping: chat-completions usage (prompt tokens include cached ones) ⇄
 * Anthropic usage (input tokens exclude cache reads) and → Responses usage.
 *
 * @module
 */
import type { AnthropicUsage } from "../anthropic/response.ts";
import type { ChatUsage } from "../openai/chat_response.ts";
import type { ResponsesUsage } from "../responses/response.ts";

/** Cached prompt tokens of a chat usage block (0 when absent). */
export function cachedPromptTokens(usage: ChatUsage | null | undefined): number {
  return usage?.prompt_tokens_details?.cached_tokens ?? 0;
}

/**
 * Chat usage → Anthropic usage: `input_tokens` = prompt − cached,
 * `cache_read_input_tokens` = cached, `output_tokens` = completion.
 */
export function chatUsageToAnthropic(usage: ChatUsage | null | undefined): AnthropicUsage {
  const cached = cachedPromptTokens(usage);
  return {
    input_tokens: Math.max(0, (usage?.prompt_tokens ?? 0) - cached),
    output_tokens: usage?.completion_tokens ?? 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}

/** Anthropic usage → chat usage (cache reads are added back into prompt tokens). */
export function anthropicUsageToChat(usage: AnthropicUsage): ChatUsage {
  const cached = usage.cache_read_input_tokens ?? 0;
  const prompt = usage.input_tokens + cached + (usage.cache_creation_input_tokens ?? 0);
  return {
    prompt_tokens: prompt,
    completion_tokens: usage.output_tokens,
    total_tokens: prompt + usage.output_tokens,
    prompt_tokens_details: { cached_tokens: cached },
  };
}

/** Chat usage → Responses usage (cached and reasoning token details always present). */
export function chatUsageToResponses(usage: ChatUsage | null | undefined): ResponsesUsage {
  const input = usage?.prompt_tokens ?? 0;
  const output = usage?.completion_tokens ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: cachedPromptTokens(usage) },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: usage?.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage?.total_tokens ?? input + output,
  };
}
