/**
 * Chat-completions stream → Anthropic Messages event stream. Every content block is
 * opened and closed exactly once with increasing indices; reasoning becomes thinking
 * blocks; tool calls become tool_use blocks (`toolu_…` ids) whose `input_json_delta` pieces
 * are never empty and concatenate to the original arguments; `message_start` reports the
 * prompt tokens when the first chunk carries usage; `stop_reason` is `tool_use` exactly
 * when a complete tool call was made. Parallel tool calls whose fragments interleave are
 * serialised (a later call is held until the open one is complete JSON).
 *
 * @module
 */
import type { AnthropicStreamBlockStart, AnthropicStreamEvent } from "../anthropic/stream_events.ts";
import { toAnthropicErrorBody } from "../errors/envelopes.ts";
import { CortexError } from "../errors/cortex_error.ts";
import type { ChatCompletionChunk, ChatToolCallDelta } from "../openai/chat_chunk.ts";
import type { ChatFinishReason, ChatUsage } from "../openai/chat_response.ts";
import { _deltaReasoning, _fallbackToolCallId, _matchedStop, _parseToolArguments } from "./_delta.ts";
import { _collectEvents, _translatorTransformer } from "./_run_translator.ts";
import { anthropicMessageId, anthropicToolUseId } from "./anthropic_response.ts";
import { chatFinishToAnthropicStop } from "./stop_reason.ts";
import { type ChatStreamInput, isChatStreamFailure } from "./stream_input.ts";
import { chatUsageToAnthropic } from "./usage.ts";

/** Options of the Anthropic stream translator. */
export interface AnthropicStreamOptions {
  /** Model name to report (default: the upstream's). */
  model?: string;
  /** Emit a `ping` right after `message_start`, as Anthropic does (default true). */
  ping?: boolean;
}

interface _Tool {
  index: number;
  id: string | null;
  name: string;
  args: string;
  block: number | null;
  closed: boolean;
}

type _Open = { kind: "text" | "thinking"; index: number } | { kind: "tool"; index: number; tool: _Tool };

/** A callback receiving translated events. */
export type AnthropicStreamEventSink = (event: AnthropicStreamEvent) => void;
type _Emit = AnthropicStreamEventSink;

/**
 * The translation state machine. Feed it with {@linkcode push} and end it with
 * {@linkcode finish}; {@linkcode ChatToAnthropicStream} wraps it as a `TransformStream`.
 */
export class AnthropicStreamTranslator {
  #options: AnthropicStreamOptions;
  #started = false;
  #done = false;
  #responseId = "";
  #nextBlock = 0;
  #open: _Open | null = null;
  // Text or thinking that arrived while a tool call's JSON was still incomplete: blocks
  // cannot interleave, so it waits until the call is complete.
  #held: { kind: "text" | "thinking"; text: string }[] = [];
  #tools = new Map<number, _Tool>();
  #finish: ChatFinishReason | null = null;
  #sawFinish = false;
  #matchedStop: string | null = null;
  #usage: ChatUsage | null = null;

  /** Creates a translator for one stream. */
  constructor(options: AnthropicStreamOptions = {}) {
    this.#options = options;
  }

  /** Translates one input item, emitting zero or more events. */
  push(item: ChatStreamInput, emit: AnthropicStreamEventSink): void {
    if (this.#done) return;
    if (isChatStreamFailure(item)) {
      this.#fail(item.error, emit);
      return;
    }
    const chunk: ChatCompletionChunk = item;
    if (!this.#started) this.#start(chunk, emit);
    if (chunk.usage) this.#usage = chunk.usage;
    for (const choice of chunk.choices) {
      if (choice.index !== 0) continue;
      const delta = choice.delta ?? {};
      const reasoning = _deltaReasoning(delta);
      if (reasoning.length > 0) this.#content("thinking", reasoning, emit);
      if (typeof delta.content === "string" && delta.content.length > 0) {
        this.#content("text", delta.content, emit);
      }
      for (const fragment of delta.tool_calls ?? []) this.#toolFragment(fragment, emit);
      if (choice.finish_reason) {
        this.#finish = choice.finish_reason;
        this.#sawFinish = true;
      }
      this.#matchedStop = _matchedStop(choice) ?? this.#matchedStop;
    }
  }

  /** Ends the stream: closes blocks and emits `message_delta` + `message_stop` (or an error). */
  finish(emit: AnthropicStreamEventSink): void {
    if (this.#done) return;
    if (!this.#started) {
      this.#fail(
        new CortexError("upstream closed the stream before sending any data", {
          code: "upstream_error",
          status: 502,
        }),
        emit,
      );
      return;
    }
    if (!this.#sawFinish) {
      this.#fail(
        new CortexError("upstream stream ended before the model finished", {
          code: "upstream_error",
          status: 502,
        }),
        emit,
      );
      return;
    }
    this.#closeOpen(emit);
    this.#flushHeld(emit);
    this.#closeOpen(emit);
    for (;;) {
      const next = this.#nextPendingTool();
      if (!next) break;
      this.#openTool(next, emit);
      this.#closeOpen(emit);
    }
    const toolBlocks = [...this.#tools.values()].filter((t) => t.block !== null);
    const complete = toolBlocks.length > 0 && toolBlocks.every((t) => _parseToolArguments(t.args) !== null);
    const stopReason = chatFinishToAnthropicStop(this.#finish, {
      hasToolCalls: complete,
      matchedStopSequence: this.#matchedStop,
    });
    const usage = chatUsageToAnthropic(this.#usage);
    emit({
      type: "message_delta",
      delta: {
        stop_reason: stopReason,
        stop_sequence: stopReason === "stop_sequence" ? this.#matchedStop : null,
      },
      usage: {
        output_tokens: usage.output_tokens,
        input_tokens: usage.input_tokens,
        cache_read_input_tokens: usage.cache_read_input_tokens,
        cache_creation_input_tokens: usage.cache_creation_input_tokens,
      },
    });
    emit({ type: "message_stop" });
    this.#done = true;
  }

  #start(chunk: ChatCompletionChunk, emit: _Emit): void {
    this.#started = true;
    this.#responseId = chunk.id;
    emit({
      type: "message_start",
      message: {
        id: anthropicMessageId(chunk.id),
        type: "message",
        role: "assistant",
        content: [],
        model: this.#options.model ?? chunk.model,
        stop_reason: null,
        stop_sequence: null,
        // The prompt count, when the upstream reports it in its first chunk (the neuron does
        // when asked with `stream_options.include_prompt_usage`); cached tokens are known only
        // at the end, so they show in `message_delta`.
        usage: { input_tokens: chunk.usage?.prompt_tokens ?? 0, output_tokens: 0 },
      },
    });
    if (this.#options.ping ?? true) emit({ type: "ping" });
  }

  #fail(error: CortexError, emit: _Emit): void {
    this.#closeOpen(emit);
    this.#flushHeld(emit);
    this.#closeOpen(emit);
    const body = toAnthropicErrorBody(error);
    emit({ type: "error", error: body.error });
    this.#done = true;
  }

  #openBlock(block: AnthropicStreamBlockStart, emit: _Emit): number {
    const index = this.#nextBlock++;
    emit({ type: "content_block_start", index, content_block: block });
    return index;
  }

  #closeOpen(emit: _Emit): void {
    if (!this.#open) return;
    emit({ type: "content_block_stop", index: this.#open.index });
    if (this.#open.kind === "tool") this.#open.tool.closed = true;
    this.#open = null;
  }

  #content(kind: "text" | "thinking", text: string, emit: _Emit): void {
    if (this.#open?.kind === "tool" && !_isCompleteCall(this.#open.tool)) {
      const last = this.#held[this.#held.length - 1];
      if (last?.kind === kind) last.text += text;
      else this.#held.push({ kind, text });
      return;
    }
    this.#flushHeld(emit);
    this.#ensureBlock(kind, emit);
    const delta = kind === "text"
      ? { type: "text_delta" as const, text }
      : { type: "thinking_delta" as const, thinking: text };
    emit({ type: "content_block_delta", index: this.#open!.index, delta });
  }

  #flushHeld(emit: _Emit): void {
    const held = this.#held;
    this.#held = [];
    for (const segment of held) this.#content(segment.kind, segment.text, emit);
  }

  #ensureBlock(kind: "text" | "thinking", emit: _Emit): void {
    if (this.#open?.kind === kind) return;
    this.#closeOpen(emit);
    const start: AnthropicStreamBlockStart = kind === "text"
      ? { type: "text", text: "" }
      : { type: "thinking", thinking: "", signature: "" };
    this.#open = { kind, index: this.#openBlock(start, emit) };
  }

  #toolFragment(fragment: ChatToolCallDelta, emit: _Emit): void {
    let tool = this.#tools.get(fragment.index);
    if (!tool) {
      tool = { index: fragment.index, id: null, name: "", args: "", block: null, closed: false };
      this.#tools.set(fragment.index, tool);
    }
    if (fragment.id && tool.id === null) tool.id = fragment.id;
    if (fragment.function?.name && tool.name === "") tool.name = fragment.function.name;
    const piece = fragment.function?.arguments ?? "";
    if (tool.closed) {
      // Fragments after the call's JSON was complete cannot belong to a valid call; keep
      // them for the stop-reason check but they cannot be sent.
      tool.args += piece;
      return;
    }
    tool.args += piece;
    if (tool.block !== null && piece.length > 0) {
      emit({
        type: "content_block_delta",
        index: tool.block,
        delta: { type: "input_json_delta", partial_json: piece },
      });
    }
    this.#schedule(emit);
  }

  #nextPendingTool(): _Tool | undefined {
    let best: _Tool | undefined;
    for (const tool of this.#tools.values()) {
      if (tool.block === null && !tool.closed && tool.name !== "" && (!best || tool.index < best.index)) {
        best = tool;
      }
    }
    return best;
  }

  #openTool(tool: _Tool, emit: _Emit): void {
    this.#closeOpen(emit);
    tool.block = this.#openBlock({
      type: "tool_use",
      id: anthropicToolUseId(tool.id ?? _fallbackToolCallId(this.#responseId, tool.index)),
      name: tool.name,
      input: {},
    }, emit);
    this.#open = { kind: "tool", index: tool.block, tool };
    if (tool.args.length > 0) {
      emit({
        type: "content_block_delta",
        index: tool.block,
        delta: { type: "input_json_delta", partial_json: tool.args },
      });
    }
  }

  #schedule(emit: _Emit): void {
    const open = this.#open;
    // Switch away from a tool block only once its arguments are a complete JSON object.
    if (open?.kind === "tool" && !_isCompleteCall(open.tool)) return;
    if (this.#held.length > 0) this.#flushHeld(emit);
    for (;;) {
      const next = this.#nextPendingTool();
      if (!next) return;
      this.#openTool(next, emit);
      if (!_isCompleteCall(next)) return;
    }
  }
}

function _isCompleteCall(tool: _Tool): boolean {
  return tool.args.trim() !== "" && _parseToolArguments(tool.args) !== null;
}

/**
 * Translates a whole chat-completions stream (already collected) into Anthropic events.
 * Pure and synchronous; the same state machine as {@linkcode ChatToAnthropicStream}.
 */
export function chatChunksToAnthropicEvents(
  items: Iterable<ChatStreamInput>,
  options: AnthropicStreamOptions = {},
): AnthropicStreamEvent[] {
  return _collectEvents(new AnthropicStreamTranslator(options), items);
}

/**
 * A `TransformStream` from chat-completions chunks (and failure markers) to Anthropic
 * stream events. When the input ends without a finish reason, an `error` event is sent.
 *
 * @example
 * ```ts
 * import { ChatToAnthropicStream } from "@cortex/core/translate";
 * import type { ChatCompletionChunk } from "@cortex/core/openai";
 * declare const chunks: ReadableStream<ChatCompletionChunk>;
 * for await (const event of chunks.pipeThrough(new ChatToAnthropicStream())) {
 *   console.log(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n`);
 * }
 * ```
 */
export class ChatToAnthropicStream extends TransformStream<ChatStreamInput, AnthropicStreamEvent> {
  /** Creates the stream. */
  constructor(options: AnthropicStreamOptions = {}) {
    super(_translatorTransformer(new AnthropicStreamTranslator(options)));
  }
}
