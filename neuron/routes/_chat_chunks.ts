// Private: generation deltas → OpenAI chat-completions chunks. Both the streamed and the
// non-streamed chat answer (and the Responses route) are built from this one sequence.
import type { ChatCompletionChunk, ChatDelta, ChatTokenLogprob, ChatUsage } from "@cortex/core/openai";
import type { FinishDelta, GenerationDelta, TokenAlternative, TokenLogprobs } from "../engine/generation.ts";

/** Identity of the chunks of one completion. */
export interface ChatChunkOptions {
  /** `chatcmpl-…`. */
  id: string;
  /** Unix seconds. */
  created: number;
  /** Model id. */
  model: string;
  /** Reasoning as inline `<think>…</think>` content (header `x-include-thinking`) instead of `reasoning_content`. */
  inlineThinking: boolean;
  /** The request asked for log-probabilities (`logprobs: true`): every chunk carries `logprobs`. */
  logprobs?: boolean;
  /**
   * The prompt's token count, to report on the first chunk as `usage` (completion 0), asked for
   * with `stream_options.include_prompt_usage`; absent: the first chunk has no usage.
   */
  promptUsage?: number;
}

function _alternative(alternative: TokenAlternative): Omit<ChatTokenLogprob, "top_logprobs"> {
  return { token: alternative.text, logprob: alternative.logprob, bytes: alternative.bytes };
}

/** Generated tokens' log-probabilities in the chat shape. */
export function chatLogprobEntries(entries: readonly TokenLogprobs[]): ChatTokenLogprob[] {
  return entries.map((entry) => ({ ..._alternative(entry), top_logprobs: entry.top.map(_alternative) }));
}

/** The usage block of a finished generation. */
export function usageOf(finish: FinishDelta): ChatUsage {
  return {
    prompt_tokens: finish.promptTokens,
    completion_tokens: finish.completionTokens,
    total_tokens: finish.promptTokens + finish.completionTokens,
    prompt_tokens_details: { cached_tokens: finish.cachedTokens },
    completion_tokens_details: { reasoning_tokens: finish.reasoningTokens },
  };
}

/**
 * The chunks of one completion: the role chunk (with the prompt's usage when
 * `options.promptUsage` is set), one chunk per delta, the finish chunk and a final usage-only
 * chunk (`choices: []`).
 */
export async function* chatChunks(
  deltas: AsyncIterable<GenerationDelta>,
  options: ChatChunkOptions,
): AsyncGenerator<ChatCompletionChunk, void, undefined> {
  const chunk = (
    delta: ChatDelta,
    finish: FinishDelta | null = null,
    entries: readonly TokenLogprobs[] | undefined = undefined,
  ): ChatCompletionChunk => {
    const choice: ChatCompletionChunk["choices"][number] = {
      index: 0,
      delta,
      finish_reason: finish ? finish.finishReason : null,
    };
    if (options.logprobs) {
      choice.logprobs = entries?.length ? { content: chatLogprobEntries(entries), refusal: null } : null;
    }
    if (finish?.matchedStop) (choice as unknown as Record<string, unknown>).stop_reason = finish.matchedStop;
    return {
      id: options.id,
      object: "chat.completion.chunk",
      created: options.created,
      model: options.model,
      choices: [choice],
    };
  };
  const first = chunk({ role: "assistant", content: "" });
  if (options.promptUsage !== undefined) {
    first.usage = {
      prompt_tokens: options.promptUsage,
      completion_tokens: 0,
      total_tokens: options.promptUsage,
    };
  }
  yield first;
  let thinking = false;
  for await (const delta of deltas) {
    if (options.inlineThinking && thinking && delta.type !== "reasoning") {
      thinking = false;
      yield chunk({ content: "</think>" });
    }
    switch (delta.type) {
      case "text":
        yield chunk({ content: delta.text }, null, delta.logprobs);
        break;
      case "reasoning":
        if (!options.inlineThinking) {
          yield chunk({ reasoning_content: delta.text }, null, delta.logprobs);
          break;
        }
        if (!thinking) {
          thinking = true;
          yield chunk({ content: "<think>" });
        }
        yield chunk({ content: delta.text }, null, delta.logprobs);
        break;
      case "tool_call":
        yield chunk(
          {
            tool_calls: [{
              index: delta.index,
              id: delta.id,
              type: "function",
              function: { name: delta.name, arguments: "" },
            }],
          },
          null,
          delta.logprobs,
        );
        yield chunk({ tool_calls: [{ index: delta.index, function: { arguments: delta.arguments } }] });
        break;
      case "finish":
        yield chunk({}, delta, delta.logprobs);
        yield {
          id: options.id,
          object: "chat.completion.chunk",
          created: options.created,
          model: options.model,
          choices: [],
          usage: usageOf(delta),
        };
        break;
    }
  }
}
