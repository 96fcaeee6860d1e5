/**
 * Chat-completions stream → OpenAI Responses event stream, in the original's order:
 * `response.created`, `response.in_progress`, a reasoning item (summary part and text
 * deltas) while the model thinks, the message item (opened on the first text; a turn of
 * function calls alone has none), one function_call item per tool call with argument
 * deltas (a namespace function's item names its `namespace`), and
 * exactly one terminal event — `response.completed`, `response.incomplete` (length,
 * content filter) or `response.failed` (upstream failure, never `completed`). Every
 * event carries a strictly increasing `sequence_number`; every item added is done.
 *
 * @module
 */
import { CortexError } from "../errors/cortex_error.ts";
import type { ChatCompletionChunk, ChatToolCallDelta } from "../openai/chat_chunk.ts";
import type { ChatFinishReason, ChatUsage } from "../openai/chat_response.ts";
import type {
  ResponsesOutputFunctionCall,
  ResponsesOutputItem,
  ResponsesOutputMessage,
  ResponsesOutputReasoning,
  ResponsesResponse,
} from "../responses/response.ts";
import type { ResponsesStreamEvent } from "../responses/stream_events.ts";
import { _deltaReasoning, _fallbackToolCallId, _parseToolArguments } from "./_delta.ts";
import { _collectEvents, _translatorTransformer } from "./_run_translator.ts";
import {
  responsesFunctionCallItem,
  type ResponsesItemIds,
  responsesItemIds,
  responsesShell,
  type ResponsesTranslationOptions,
} from "./responses_response.ts";
import { ResponsesToolNames } from "./responses_tools.ts";
import { chatFinishToResponsesStatus } from "./stop_reason.ts";
import { type ChatStreamInput, isChatStreamFailure } from "./stream_input.ts";
import { chatUsageToResponses } from "./usage.ts";

/** A callback receiving translated events. */
export type ResponsesStreamEventSink = (event: ResponsesStreamEvent) => void;
type _Emit = ResponsesStreamEventSink;
// Events are built without their sequence number; #emit stamps it.
type _Unnumbered = ResponsesStreamEvent extends infer E
  ? E extends unknown ? Omit<E, "sequence_number"> : never
  : never;

interface _Tool {
  index: number;
  id: string | null;
  name: string;
  args: string;
  outputIndex: number | null;
  itemId: string;
  done: boolean;
}

/**
 * The translation state machine. Feed it with {@linkcode push} and end it with
 * {@linkcode finish}; {@linkcode ChatToResponsesStream} wraps it as a `TransformStream`.
 */
export class ResponsesStreamTranslator {
  #options: ResponsesTranslationOptions;
  #names: ResponsesToolNames;
  #seq = 0;
  #started = false;
  #done = false;
  #ids: ResponsesItemIds = responsesItemIds("0");
  #base = { id: "", createdAt: 0, model: "" } as {
    id: string;
    createdAt: number;
    model: string;
    request?: ResponsesTranslationOptions["request"];
  };
  #output: ResponsesOutputItem[] = [];
  #reasoning: { outputIndex: number; text: string } | null = null;
  #reasoningCount = 0;
  #message: { outputIndex: number; text: string } | null = null;
  #tools = new Map<number, _Tool>();
  #toolCount = 0;
  #finish: ChatFinishReason | null = null;
  #sawFinish = false;
  #usage: ChatUsage | null = null;

  /** Creates a translator for one stream. */
  constructor(options: ResponsesTranslationOptions = {}) {
    this.#options = options;
    this.#names = new ResponsesToolNames(options.request?.tools);
  }

  /** Translates one input item, emitting zero or more events. */
  push(item: ChatStreamInput, emit: ResponsesStreamEventSink): void {
    if (this.#done) return;
    if (isChatStreamFailure(item)) {
      this.#fail(item.error, emit);
      return;
    }
    const chunk: ChatCompletionChunk = item;
    if (!this.#started) this.#start(chunk.id, chunk.created, chunk.model, emit);
    if (chunk.usage) this.#usage = chunk.usage;
    for (const choice of chunk.choices) {
      if (choice.index !== 0) continue;
      const delta = choice.delta ?? {};
      const reasoning = _deltaReasoning(delta);
      if (reasoning.length > 0) this.#reasoningDelta(reasoning, emit);
      if (typeof delta.content === "string" && delta.content.length > 0) {
        this.#closeReasoning(emit, "completed");
        const message = this.#openMessage(emit);
        message.text += delta.content;
        this.#emit(emit, {
          type: "response.output_text.delta",
          item_id: this.#ids.message,
          output_index: message.outputIndex,
          content_index: 0,
          delta: delta.content,
          logprobs: [],
        });
      }
      for (const fragment of delta.tool_calls ?? []) this.#toolFragment(fragment, emit);
      if (choice.finish_reason) {
        this.#finish = choice.finish_reason;
        this.#sawFinish = true;
      }
    }
  }

  /** Ends the stream with exactly one terminal event. */
  finish(emit: ResponsesStreamEventSink): void {
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
    const { status, incomplete_details } = chatFinishToResponsesStatus(this.#finish);
    const itemStatus = status === "completed" ? "completed" : "incomplete";
    this.#closeReasoning(emit, "completed");
    for (const tool of [...this.#tools.values()].sort((a, b) => a.index - b.index)) {
      if (tool.outputIndex === null && tool.name !== "") this.#openTool(tool, emit);
    }
    // A turn with neither text nor calls still answers with an (empty) message.
    if (this.#toolCount === 0) this.#openMessage(emit);
    this.#closeTools(emit, () => true, "completed");
    this.#closeMessage(emit, itemStatus);
    const response = this.#response(status);
    response.usage = this.#usage ? chatUsageToResponses(this.#usage) : null;
    response.incomplete_details = incomplete_details;
    this.#emit(emit, {
      type: status === "completed" ? "response.completed" : "response.incomplete",
      response,
    });
    this.#done = true;
  }

  #emit(emit: _Emit, event: _Unnumbered): void {
    emit({ ...event, sequence_number: this.#seq++ } as ResponsesStreamEvent);
  }

  #response(status: ResponsesResponse["status"]): ResponsesResponse {
    return responsesShell(this.#base, status, this.#output.map((item) => structuredClone(item)));
  }

  #start(chatId: string, created: number, model: string, emit: _Emit): void {
    this.#started = true;
    this.#ids = responsesItemIds(chatId, this.#options.responseId);
    this.#base = {
      id: this.#ids.response,
      createdAt: this.#options.createdAt ?? created,
      model: this.#options.model ?? model,
      request: this.#options.request,
    };
    this.#emit(emit, { type: "response.created", response: this.#response("in_progress") });
    this.#emit(emit, { type: "response.in_progress", response: this.#response("in_progress") });
  }

  #fail(error: CortexError, emit: _Emit): void {
    if (!this.#started) {
      this.#start(
        this.#options.responseId ?? "failed",
        this.#options.createdAt ?? 0,
        this.#options.model ?? "",
        emit,
      );
    }
    this.#closeReasoning(emit, "incomplete");
    this.#closeTools(emit, () => true, "incomplete");
    if (this.#message) this.#closeMessage(emit, "incomplete");
    const response = this.#response("failed");
    response.error = { code: String(error.code), message: error.message };
    response.usage = this.#usage ? chatUsageToResponses(this.#usage) : null;
    this.#emit(emit, { type: "response.failed", response });
    this.#done = true;
  }

  #reasoningDelta(text: string, emit: _Emit): void {
    if (!this.#reasoning) {
      const outputIndex = this.#output.length;
      const item: ResponsesOutputReasoning = {
        type: "reasoning",
        id: this.#ids.reasoning(this.#reasoningCount++),
        summary: [],
        status: "in_progress",
      };
      this.#output.push(item);
      this.#reasoning = { outputIndex, text: "" };
      this.#emit(emit, {
        type: "response.output_item.added",
        output_index: outputIndex,
        item: structuredClone(item),
      });
      this.#emit(emit, {
        type: "response.reasoning_summary_part.added",
        item_id: item.id,
        output_index: outputIndex,
        summary_index: 0,
        part: { type: "summary_text", text: "" },
      });
    }
    const open = this.#reasoning;
    open.text += text;
    this.#emit(emit, {
      type: "response.reasoning_summary_text.delta",
      item_id: this.#output[open.outputIndex].id,
      output_index: open.outputIndex,
      summary_index: 0,
      delta: text,
    });
  }

  #closeReasoning(emit: _Emit, status: "completed" | "incomplete"): void {
    const open = this.#reasoning;
    if (!open) return;
    const item = this.#output[open.outputIndex] as ResponsesOutputReasoning;
    const part = { type: "summary_text" as const, text: open.text };
    const base = { item_id: item.id, output_index: open.outputIndex, summary_index: 0 };
    this.#emit(emit, { type: "response.reasoning_summary_text.done", ...base, text: open.text });
    this.#emit(emit, { type: "response.reasoning_summary_part.done", ...base, part });
    item.summary = [part];
    item.status = status;
    this.#emit(emit, {
      type: "response.output_item.done",
      output_index: open.outputIndex,
      item: structuredClone(item),
    });
    this.#reasoning = null;
  }

  #openMessage(emit: _Emit): { outputIndex: number; text: string } {
    if (this.#message) return this.#message;
    const outputIndex = this.#output.length;
    const item: ResponsesOutputMessage = {
      type: "message",
      id: this.#ids.message,
      role: "assistant",
      status: "in_progress",
      content: [],
    };
    this.#output.push(item);
    this.#message = { outputIndex, text: "" };
    this.#emit(emit, {
      type: "response.output_item.added",
      output_index: outputIndex,
      item: structuredClone(item),
    });
    this.#emit(emit, {
      type: "response.content_part.added",
      item_id: item.id,
      output_index: outputIndex,
      content_index: 0,
      part: { type: "output_text", text: "", annotations: [] },
    });
    return this.#message;
  }

  #closeMessage(emit: _Emit, status: "completed" | "incomplete"): void {
    const open = this.#message;
    if (!open) return;
    const item = this.#output[open.outputIndex] as ResponsesOutputMessage;
    const part = { type: "output_text" as const, text: open.text, annotations: [] };
    const base = { item_id: item.id, output_index: open.outputIndex, content_index: 0 };
    this.#emit(emit, { type: "response.output_text.done", ...base, text: open.text, logprobs: [] });
    this.#emit(emit, { type: "response.content_part.done", ...base, part });
    item.content = [part];
    item.status = status;
    this.#emit(emit, {
      type: "response.output_item.done",
      output_index: open.outputIndex,
      item: structuredClone(item),
    });
  }

  #toolFragment(fragment: ChatToolCallDelta, emit: _Emit): void {
    let tool = this.#tools.get(fragment.index);
    if (!tool) {
      tool = {
        index: fragment.index,
        id: null,
        name: "",
        args: "",
        outputIndex: null,
        itemId: "",
        done: false,
      };
      this.#tools.set(fragment.index, tool);
    }
    if (fragment.id && tool.id === null) tool.id = fragment.id;
    if (fragment.function?.name && tool.name === "") tool.name = fragment.function.name;
    const piece = fragment.function?.arguments ?? "";
    tool.args += piece;
    if (tool.done) return;
    this.#closeReasoning(emit, "completed");
    if (tool.outputIndex === null) {
      if (tool.name === "") return;
      // A new call starting means earlier calls whose arguments are complete JSON are done.
      this.#closeTools(
        emit,
        (t) => t.args.trim() !== "" && _parseToolArguments(t.args) !== null,
        "completed",
      );
      this.#openTool(tool, emit);
    } else if (piece.length > 0) {
      this.#emit(emit, {
        type: "response.function_call_arguments.delta",
        item_id: tool.itemId,
        output_index: tool.outputIndex,
        delta: piece,
      });
    }
  }

  #openTool(tool: _Tool, emit: _Emit): void {
    const outputIndex = this.#output.length;
    tool.outputIndex = outputIndex;
    tool.itemId = this.#ids.functionCall(this.#toolCount++);
    const item = responsesFunctionCallItem(this.#names, {
      id: tool.itemId,
      callId: tool.id ?? _fallbackToolCallId(this.#base.id, tool.index),
      modelName: tool.name,
      args: "",
      status: "in_progress",
    });
    this.#output.push(item);
    this.#emit(emit, {
      type: "response.output_item.added",
      output_index: outputIndex,
      item: structuredClone(item),
    });
    if (tool.args.length > 0) {
      this.#emit(emit, {
        type: "response.function_call_arguments.delta",
        item_id: tool.itemId,
        output_index: outputIndex,
        delta: tool.args,
      });
    }
  }

  #closeTools(emit: _Emit, which: (tool: _Tool) => boolean, status: "completed" | "incomplete"): void {
    const open = [...this.#tools.values()]
      .filter((t) => t.outputIndex !== null && !t.done && which(t))
      .sort((a, b) => a.outputIndex! - b.outputIndex!);
    for (const tool of open) {
      const item = this.#output[tool.outputIndex!] as ResponsesOutputFunctionCall;
      item.arguments = tool.args;
      item.status = status;
      this.#emit(emit, {
        type: "response.function_call_arguments.done",
        item_id: tool.itemId,
        output_index: tool.outputIndex!,
        name: item.name,
        arguments: tool.args,
      });
      this.#emit(emit, {
        type: "response.output_item.done",
        output_index: tool.outputIndex!,
        item: structuredClone(item),
      });
      tool.done = true;
    }
  }
}

/**
 * Translates a whole chat-completions stream (already collected) into Responses events.
 * Pure and synchronous; the same state machine as {@linkcode ChatToResponsesStream}.
 */
export function chatChunksToResponsesEvents(
  items: Iterable<ChatStreamInput>,
  options: ResponsesTranslationOptions = {},
): ResponsesStreamEvent[] {
  return _collectEvents(new ResponsesStreamTranslator(options), items);
}

/**
 * A `TransformStream` from chat-completions chunks (and failure markers) to Responses
 * stream events.
 *
 * @example
 * ```ts
 * import { ChatToResponsesStream } from "@cortex/core/translate";
 * import type { ChatCompletionChunk } from "@cortex/core/openai";
 * declare const chunks: ReadableStream<ChatCompletionChunk>;
 * for await (const event of chunks.pipeThrough(new ChatToResponsesStream())) {
 *   console.log(event.sequence_number, event.type);
 * }
 * ```
 */
export class ChatToResponsesStream extends TransformStream<ChatStreamInput, ResponsesStreamEvent> {
  /** Creates the stream. */
  constructor(options: ResponsesTranslationOptions = {}) {
    super(_translatorTransformer(new ResponsesStreamTranslator(options)));
  }
}
