/**
 * One streamed chat reply: posts a chat-completions request with `stream: true`, decodes
 * the SSE chunks and renders them as they arrive — reasoning dimmed, then the answer —
 * and returns what was said. Aborting the signal stops the reply and keeps what arrived.
 *
 * @module
 */
import type { ChatCompletionChunk, ChatUsage } from "@cortex/core/openai";
import { ChatCompletionChunkSchema } from "@cortex/core/openai";
import { SseDecoderStream } from "@cortex/core/sse";
import { CliError, CONTEXT_HINT } from "./cli_error.ts";
import type { GatewayClient } from "./client.ts";
import type { Output } from "./terminal.ts";

/** A chat message as the CLI keeps it in its history. */
export interface ChatTurn {
  /** `system`, `user` or `assistant`. */
  role: "system" | "user" | "assistant";
  /** Its text. */
  content: string;
}

/** Sampling settings sent with every request. */
export interface ChatSettings {
  /** Model id or alias. */
  model: string;
  /** `max_tokens`, when set. */
  maxTokens?: number;
  /** `temperature`, when set. */
  temperature?: number;
  /** `seed`, when set (reproducible sampling). */
  seed?: number;
  /** Ask the model to think first (`reasoning_effort: "medium"`); its reasoning is shown dimmed. */
  think?: boolean;
}

/** What a reply said. */
export interface ChatReply {
  /** The answer text (leading blank lines dropped). */
  content: string;
  /** The reasoning text. */
  reasoning: string;
  /** Why generation ended (null when stopped by the user). */
  finishReason: string | null;
  /** Token counts when the gateway sent them. */
  usage: ChatUsage | null;
  /** The user stopped it. */
  stopped: boolean;
}

/** Renders deltas: reasoning dimmed, a line break before the answer, answer as is. */
export class ReplyRenderer {
  readonly #out: Output;
  #inReasoning = false;
  #contentStarted = false;
  #wroteAnything = false;
  #endsWithNewline = true;
  /** Accumulated answer. */
  content = "";
  /** Accumulated reasoning. */
  reasoning = "";

  /** Renders onto `out`. */
  constructor(out: Output) {
    this.#out = out;
  }

  /** Adds a piece of reasoning. */
  reasoningDelta(text: string): void {
    if (!text || this.#contentStarted) return;
    if (!this.#inReasoning) text = text.replace(/^\s+/, "");
    if (!text) return;
    this.#inReasoning = true;
    this.reasoning += text;
    this.#emit(this.#out.style.dim(text), text);
  }

  /** Adds a piece of the answer. */
  contentDelta(text: string): void {
    if (!this.#contentStarted) text = text.replace(/^\s+/, "");
    if (!text) return;
    if (!this.#contentStarted && this.#inReasoning) this.#emit("\n", "\n");
    this.#contentStarted = true;
    this.#inReasoning = false;
    this.content += text;
    this.#emit(text, text);
  }

  /** Writes a dimmed note after the text (e.g. `[stopped]`); only on a terminal, so piped output is the reply alone. */
  note(text: string): void {
    if (!this.#out.isTerminal) return;
    this.#emit(
      `${this.#wroteAnything && !this.#endsWithNewline ? " " : ""}${this.#out.style.dim(text)}`,
      text,
    );
  }

  /** Ends the reply with a newline. */
  end(): void {
    if (!this.#endsWithNewline || !this.#wroteAnything) this.#out.write("\n");
    this.#endsWithNewline = true;
  }

  #emit(rendered: string, plain: string): void {
    this.#out.write(rendered);
    this.#wroteAnything = true;
    this.#endsWithNewline = plain.endsWith("\n");
  }
}

/**
 * Streams one reply for `history` and renders it on `out`.
 *
 * @example
 * ```ts ignore
 * const reply = await streamReply(client, { model: "tiny" }, [{ role: "user", content: "hi" }], out, signal);
 * ```
 */
export async function streamReply(
  client: GatewayClient,
  settings: ChatSettings,
  history: readonly ChatTurn[],
  out: Output,
  signal: AbortSignal,
): Promise<ChatReply> {
  const renderer = new ReplyRenderer(out);
  let finishReason: string | null = null;
  let usage: ChatUsage | null = null;
  const body = {
    model: settings.model,
    messages: history,
    stream: true,
    stream_options: { include_usage: true },
    ...(settings.maxTokens === undefined ? {} : { max_tokens: settings.maxTokens }),
    ...(settings.temperature === undefined ? {} : { temperature: settings.temperature }),
    ...(settings.seed === undefined ? {} : { seed: settings.seed }),
    ...(settings.think ? { reasoning_effort: "medium" } : {}),
  };
  try {
    const response = await client.request("POST", "/v1/chat/completions", body, signal);
    for await (const message of response.body!.pipeThrough(new SseDecoderStream())) {
      if (message.data === undefined) continue;
      if (message.data.trim() === "[DONE]") break;
      const chunk = _parseChunk(message.data);
      for (const choice of chunk.choices) {
        renderer.reasoningDelta(choice.delta.reasoning_content ?? "");
        renderer.contentDelta(choice.delta.content ?? "");
        for (const call of choice.delta.tool_calls ?? []) {
          if (call.function?.name) renderer.note(`[tool call: ${call.function.name}]`);
        }
        if (choice.finish_reason) finishReason = choice.finish_reason;
      }
      if (chunk.usage) usage = chunk.usage;
    }
  } catch (error) {
    if (!signal.aborted) {
      renderer.end();
      throw error;
    }
    renderer.note("[stopped]");
    renderer.end();
    return {
      content: renderer.content,
      reasoning: renderer.reasoning,
      finishReason: null,
      usage,
      stopped: true,
    };
  }
  if (finishReason === "length") renderer.note("[max tokens reached]");
  renderer.end();
  return { content: renderer.content, reasoning: renderer.reasoning, finishReason, usage, stopped: false };
}

function _parseChunk(data: string): ChatCompletionChunk {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    throw new CliError(
      "gateway_error",
      `the gateway sent a stream frame that is not JSON: ${data.slice(0, 120)}`,
    );
  }
  const error = (json as { error?: { message?: string; code?: string } })?.error;
  if (error) {
    throw new CliError(
      "gateway_error",
      `the reply failed: ${error.code ? `${error.code}: ` : ""}${error.message ?? "unknown error"}`,
      error.code === "context_length_exceeded" ? CONTEXT_HINT : "see the gateway's log for details",
    );
  }
  const parsed = ChatCompletionChunkSchema.safeParse(json);
  if (!parsed.success) {
    throw new CliError("gateway_error", `the gateway sent an invalid chunk: ${data.slice(0, 120)}`);
  }
  return parsed.data;
}
