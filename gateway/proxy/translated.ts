/**
 * Anthropic Messages and OpenAI Responses requests, translated at the edge with
 * `@cortex/core`: the client's request becomes a chat-completions request to the neuron,
 * and the answer — a stream event by event, or a whole completion — is translated back.
 * An upstream failure mid-stream is written into the translator, which ends the client's
 * stream with the dialect's error (`error` / `response.failed`). Every translated event passes
 * the dialect's stream guard (`@cortex/core/translate`), which repairs or ends a stream that
 * breaks the event grammar and counts each violation.
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import {
  type ChatCompletionChunk,
  ChatCompletionChunkSchema,
  type ChatCompletionRequest,
  ChatCompletionSchema,
} from "@cortex/core/openai";
import type { ResponsesRequest } from "@cortex/core/responses";
import { encodeSse } from "@cortex/core/sse";
import {
  AnthropicStreamGuard,
  AnthropicStreamTranslator,
  chatErrorToResponses,
  type ChatStreamInput,
  chatToAnthropicResponse,
  chatToResponsesResponse,
  ResponsesStreamGuard,
  ResponsesStreamTranslator,
  SSE_DONE,
  type StreamGuard,
  type StreamViolation,
} from "@cortex/core/translate";
import type { Route } from "../fleet/route.ts";
import type { UpstreamPlan } from "./forward.ts";
import { observeChatChunk } from "./openai_passthrough.ts";
import { readUpstreamBody } from "./relay.ts";
import type { RequestRecord } from "./request_record.ts";
import { relaySse, SSE_RESPONSE_HEADERS } from "./sse_relay.ts";

/** The client dialect of a translated request, with what its translation back needs. */
export type TranslatedDialect =
  | { kind: "messages" }
  | { kind: "responses"; request: ResponsesRequest };

// A stream translator and the guard its events pass through on their way to the client.
interface _Pipeline<E extends { type: string }> {
  translator: {
    push(item: ChatStreamInput, emit: (event: E) => void): void;
    finish(emit: (event: E) => void): void;
  };
  guard: StreamGuard<E>;
}

/** Builds the plan for a request already translated to chat completions (`chat`). */
export function translatedPlan(
  dialect: TranslatedDialect,
  chat: ChatCompletionRequest,
  record: RequestRecord,
  idleTimeoutMs: number,
): UpstreamPlan {
  return {
    path: "/v1/chat/completions",
    streamed: chat.stream === true,
    body: (route: Route) => JSON.stringify({ ...chat, model: route.neuronModelId }),
    // The neuron checks the chat request; a Responses client should hear of `input`, not `messages`.
    upstreamError: dialect.kind === "responses" ? chatErrorToResponses : undefined,
    async respond(upstream, route, done): Promise<Response> {
      if (!upstream.body) {
        throw new CortexError("the neuron sent no body", { code: "upstream_error", status: 502 });
      }
      const streamed = (upstream.headers.get("content-type") ?? "").includes("text/event-stream");
      if (streamed) {
        const onViolation = (v: StreamViolation): void => record.streamViolation(v.rule);
        const stream = dialect.kind === "messages"
          ? _translateStream(
            upstream.body,
            {
              translator: new AnthropicStreamTranslator({ model: route.modelId }),
              guard: new AnthropicStreamGuard({ onViolation }),
            },
            record,
            idleTimeoutMs,
            done,
          )
          : _translateStream(
            upstream.body,
            {
              translator: new ResponsesStreamTranslator({ model: route.modelId, request: dialect.request }),
              guard: new ResponsesStreamGuard({ model: route.modelId, onViolation }),
            },
            record,
            idleTimeoutMs,
            done,
          );
        return new Response(stream, { status: 200, headers: SSE_RESPONSE_HEADERS });
      }
      const bytes = await readUpstreamBody(upstream.body, idleTimeoutMs);
      let payload: unknown;
      try {
        payload = JSON.parse(new TextDecoder().decode(bytes));
      } catch (cause) {
        throw new CortexError("the neuron's answer is not JSON", {
          code: "upstream_malformed_response",
          status: 502,
          cause,
        });
      }
      const parsed = ChatCompletionSchema.safeParse(payload);
      if (!parsed.success) {
        throw new CortexError("the neuron's answer is not a chat completion", {
          code: "upstream_malformed_response",
          status: 502,
        });
      }
      const completion = parsed.data;
      const reason = completion.choices[0]?.finish_reason;
      if (typeof reason === "string") record.finishReason(reason);
      if (completion.usage) {
        record.usage({
          promptTokens: completion.usage.prompt_tokens,
          completionTokens: completion.usage.completion_tokens,
          cachedTokens: completion.usage.prompt_tokens_details?.cached_tokens ?? null,
        });
      }
      const body = dialect.kind === "messages"
        ? chatToAnthropicResponse(completion, { model: route.modelId })
        : chatToResponsesResponse(completion, { model: route.modelId, request: dialect.request });
      done(200);
      return new Response(JSON.stringify(body), {
        status: 200,
        headers: { "content-type": "application/json" },
      });
    },
  };
}

function _translateStream<E extends { type: string }>(
  body: ReadableStream<Uint8Array>,
  { translator, guard }: _Pipeline<E>,
  record: RequestRecord,
  idleTimeoutMs: number,
  done: (status: number) => void,
): ReadableStream<Uint8Array> {
  return relaySse(body, { record, idleTimeoutMs, done }, (send) => {
    const write = (event: E): void => send(encodeSse({ event: event.type, data: JSON.stringify(event) }));
    // Every translated event passes the stream guard before it is written.
    const emit = (event: E): void => guard.push(event, write);
    return {
      message(message) {
        if (message.data === undefined) {
          // Keep-alive comments travel on, so clients with short idle timeouts stay connected.
          if (message.comment !== undefined) send(encodeSse({ comment: message.comment }));
          return;
        }
        if (message.data.trim() === SSE_DONE) return;
        let json: unknown;
        try {
          json = JSON.parse(message.data);
        } catch {
          return;
        }
        if (typeof json === "object" && json !== null && "error" in json && !("choices" in json)) {
          // The neuron reported a failure inside its stream.
          const error = (json as { error: { message?: string; code?: string } }).error;
          record.streamError(error?.code ?? "upstream_error");
          translator.push({
            type: "error",
            error: new CortexError(error?.message ?? "the neuron failed mid-stream", {
              code: error?.code ?? "upstream_error",
              status: 502,
            }),
          }, emit);
          return;
        }
        observeChatChunk(message.data, record, false);
        const parsed = ChatCompletionChunkSchema.safeParse(json);
        if (parsed.success) translator.push(parsed.data as ChatCompletionChunk, emit);
      },
      end() {
        translator.finish(emit);
        guard.end(write);
      },
      fail(error) {
        translator.push({ type: "error", error }, emit);
        translator.finish(emit);
        guard.fail(error, write);
      },
      ended: () => guard.state === "cut",
    };
  });
}
