/**
 * Reassembles a chat-completions stream (its chunks) into the equivalent non-streamed
 * `chat.completion`: text, reasoning and tool-call fragments concatenated, log-probability
 * entries concatenated (when the chunks carry them), last finish reason, usage from the usage chunk.
 *
 * @module
 */
import type { ChatCompletionChunk } from "../openai/chat_chunk.ts";
import type { ChatTokenLogprob } from "../openai/logprobs.ts";
import type { ChatToolCall } from "../openai/chat_message.ts";
import type { ChatCompletion, ChatFinishReason, ChatUsage } from "../openai/chat_response.ts";
import { _deltaReasoning, _fallbackToolCallId, _matchedStop } from "./_delta.ts";

interface _ChoiceState {
  text: string;
  reasoning: string;
  refusal: string;
  tools: Map<number, { id: string | null; name: string; arguments: string }>;
  finish: ChatFinishReason | null;
  matchedStop: string | null;
  logprobs: ChatTokenLogprob[] | null;
}

/**
 * Collects chunks and produces the `chat.completion` they add up to.
 *
 * @example
 * ```ts
 * import { ChatCompletionAccumulator } from "@cortex/core/translate";
 * const acc = new ChatCompletionAccumulator();
 * acc.push({ id: "c1", object: "chat.completion.chunk", created: 0, model: "m",
 *   choices: [{ index: 0, delta: { content: "Hel" }, finish_reason: null }] });
 * acc.push({ id: "c1", object: "chat.completion.chunk", created: 0, model: "m",
 *   choices: [{ index: 0, delta: { content: "lo" }, finish_reason: "stop" }] });
 * acc.result().choices[0].message.content; // "Hello"
 * ```
 */
export class ChatCompletionAccumulator {
  #id: string | null = null;
  #model = "";
  #created = 0;
  #usage: ChatUsage | null = null;
  #choices = new Map<number, _ChoiceState>();

  /** Number of chunks seen. */
  chunks = 0;

  /** Adds one chunk. */
  push(chunk: ChatCompletionChunk): void {
    this.chunks++;
    if (this.#id === null) {
      this.#id = chunk.id;
      this.#model = chunk.model;
      this.#created = chunk.created;
    }
    if (chunk.usage) this.#usage = chunk.usage;
    for (const choice of chunk.choices) {
      let state = this.#choices.get(choice.index);
      if (!state) {
        state = {
          text: "",
          reasoning: "",
          refusal: "",
          tools: new Map(),
          finish: null,
          matchedStop: null,
          logprobs: null,
        };
        this.#choices.set(choice.index, state);
      }
      const delta = choice.delta ?? {};
      if (typeof delta.content === "string") state.text += delta.content;
      if (typeof delta.refusal === "string") state.refusal += delta.refusal;
      state.reasoning += _deltaReasoning(delta);
      for (const fragment of delta.tool_calls ?? []) {
        let tool = state.tools.get(fragment.index);
        if (!tool) {
          tool = { id: null, name: "", arguments: "" };
          state.tools.set(fragment.index, tool);
        }
        if (fragment.id && tool.id === null) tool.id = fragment.id;
        if (fragment.function?.name && tool.name === "") tool.name = fragment.function.name;
        if (fragment.function?.arguments) tool.arguments += fragment.function.arguments;
      }
      if (choice.logprobs) state.logprobs = [...(state.logprobs ?? []), ...(choice.logprobs.content ?? [])];
      if (choice.finish_reason) state.finish = choice.finish_reason;
      state.matchedStop = _matchedStop(choice) ?? state.matchedStop;
    }
  }

  /** The completion the chunks add up to (a choice 0 exists even for an empty stream). */
  result(): ChatCompletion {
    const id = this.#id ?? "chatcmpl-empty";
    const indexes = [...this.#choices.keys()].sort((a, b) => a - b);
    if (indexes.length === 0) indexes.push(0);
    const choices = indexes.map((index) => {
      const state = this.#choices.get(index);
      const toolCalls: ChatToolCall[] = state
        ? [...state.tools.entries()]
          .sort(([a], [b]) => a - b)
          .filter(([, t]) => t.name !== "")
          .map(([i, t]) => ({
            id: t.id ?? _fallbackToolCallId(id, i),
            type: "function" as const,
            function: { name: t.name, arguments: t.arguments },
          }))
        : [];
      const text = state?.text ?? "";
      const message: ChatCompletion["choices"][number]["message"] = {
        role: "assistant",
        content: text.length > 0 || toolCalls.length === 0 ? text : null,
      };
      if (state && state.reasoning.length > 0) message.reasoning_content = state.reasoning;
      if (state && state.refusal.length > 0) message.refusal = state.refusal;
      if (toolCalls.length > 0) message.tool_calls = toolCalls;
      const choice: ChatCompletion["choices"][number] = {
        index,
        message,
        finish_reason: state?.finish ?? null,
      };
      if (state?.matchedStop) choice.stop_reason = state.matchedStop;
      if (state?.logprobs) choice.logprobs = { content: state.logprobs, refusal: null };
      return choice;
    });
    const completion: ChatCompletion = {
      id,
      object: "chat.completion",
      created: this.#created,
      model: this.#model,
      choices,
    };
    if (this.#usage) completion.usage = this.#usage;
    return completion;
  }
}
