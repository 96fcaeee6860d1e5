/**
 * OpenAI chat completions and completions, passed through: the body goes upstream as sent,
 * with `x-include-thinking` (only an alias in `model` is replaced, and a streamed request gets
 * `stream_options.include_usage` so the gateway can count tokens — the usage chunk the
 * client did not ask for is then not forwarded). Streams are relayed event by event, never
 * buffered, through the chat stream guard (`@cortex/core/translate`), which repairs or ends a
 * stream that breaks the grammar; a non-streamed answer is relayed once complete.
 *
 * @module
 */
import type { Route } from "../fleet/route.ts";
import { encodeSse, type SseMessage } from "@cortex/core/sse";
import { ChatStreamGuard, SSE_DONE } from "@cortex/core/translate";
import type { Dialect } from "./dialect.ts";
import type { UpstreamPlan } from "./forward.ts";
import { readUpstreamBody } from "./relay.ts";
import type { RequestRecord } from "./request_record.ts";
import { relaySse, SSE_RESPONSE_HEADERS } from "./sse_relay.ts";

/** Client headers an OpenAI request carries on to the neuron (reasoning inline as `<think>…</think>`). */
export const PASSTHROUGH_HEADERS: readonly string[] = ["x-include-thinking"];

/** Builds the pass-through plan for a parsed OpenAI request body and the client's headers. */
export function openAIPassthrough(
  dialect: Extract<Dialect, "chat" | "completions">,
  path: string,
  body: { bytes: Uint8Array; json: Record<string, unknown> },
  record: RequestRecord,
  idleTimeoutMs: number,
  clientHeaders: Headers = new Headers(),
): UpstreamPlan {
  const streamed = body.json.stream === true;
  const options = body.json.stream_options;
  const clientWantsUsage = typeof options === "object" && options !== null &&
    (options as Record<string, unknown>).include_usage === true;
  const injectUsage = streamed && !clientWantsUsage;
  const headers: Record<string, string> = {};
  for (const name of PASSTHROUGH_HEADERS) {
    const value = clientHeaders.get(name);
    if (value !== null) headers[name] = value;
  }
  return {
    path,
    headers,
    streamed,
    body(route: Route): string | Uint8Array {
      if (!injectUsage && route.neuronModelId === body.json.model) return body.bytes;
      const out: Record<string, unknown> = { ...body.json, model: route.neuronModelId };
      if (injectUsage) {
        out.stream_options = {
          ...(typeof options === "object" && options !== null ? options : {}),
          include_usage: true,
        };
      }
      return JSON.stringify(out);
    },
    async respond(upstream, _route, done): Promise<Response> {
      const type = upstream.headers.get("content-type") ?? "";
      if (!upstream.body) {
        done(upstream.status);
        return new Response(null, { status: upstream.status });
      }
      if (type.includes("text/event-stream")) {
        return new Response(_relayStream(upstream.body, dialect, record, injectUsage, idleTimeoutMs, done), {
          status: upstream.status,
          headers: SSE_RESPONSE_HEADERS,
        });
      }
      const bytes = await readUpstreamBody(upstream.body, idleTimeoutMs);
      try {
        const answer = JSON.parse(new TextDecoder().decode(bytes)) as {
          usage?: Record<string, unknown>;
          choices?: unknown[];
        };
        if (answer.usage) record.usage(usageFigures(answer.usage));
        _noteFinishReason(answer.choices, record);
      } catch {
        // Not JSON: relayed as is.
      }
      done(upstream.status);
      const headers: Record<string, string> = { "content-type": type || "application/json" };
      // The neuron's timing of a whole answer (its prefill and queueing), for clients and benches.
      for (const name of ["x-cortex-prefill-ms", "x-cortex-queue-ms"]) {
        const value = upstream.headers.get(name);
        if (value !== null) headers[name] = value;
      }
      return new Response(bytes, { status: upstream.status, headers });
    },
  };
}

function _relayStream(
  body: ReadableStream<Uint8Array>,
  dialect: Extract<Dialect, "chat" | "completions">,
  record: RequestRecord,
  dropUsageChunk: boolean,
  idleTimeoutMs: number,
  done: (status: number) => void,
): ReadableStream<Uint8Array> {
  const guard = new ChatStreamGuard({ kind: dialect, onViolation: (v) => record.streamViolation(v.rule) });
  return relaySse(body, { record, idleTimeoutMs, done }, (send) => {
    let current: SseMessage | null = null;
    // A payload the guard passes unchanged goes out with the fields the neuron gave it (event, id).
    const write = (data: string): void =>
      send(encodeSse(current !== null && data === current.data ? current : { data }));
    return {
      message(message) {
        if (message.data === undefined) return send(encodeSse(message)); // keep-alive comments
        if (message.data !== SSE_DONE && !observeChatChunk(message.data, record, dropUsageChunk)) return;
        current = message;
        guard.push(message.data, write);
        current = null;
      },
      end: () => guard.end(write),
      fail: (error) => guard.fail(error, write),
      ended: () => guard.state === "cut",
    };
  });
}

/**
 * Observes one chat/completions stream chunk: notes generated tokens and usage. Returns
 * false for a usage-only chunk that should not be forwarded.
 */
export function observeChatChunk(data: string, record: RequestRecord, dropUsageChunk: boolean): boolean {
  let chunk: { choices?: unknown[]; usage?: Record<string, unknown> | null };
  try {
    chunk = JSON.parse(data);
  } catch {
    return true;
  }
  const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
  if (choices.some(_carriesToken)) record.token();
  _noteFinishReason(choices, record);
  if (chunk.usage && typeof chunk.usage === "object") {
    record.usage(usageFigures(chunk.usage));
    if (dropUsageChunk && choices.length === 0) return false;
  }
  return true;
}

/** Reads OpenAI (`prompt_tokens`…) or Responses/Anthropic (`input_tokens`…) usage keys. */
export function usageFigures(
  usage: Record<string, unknown>,
): { promptTokens: number | null; completionTokens: number | null; cachedTokens: number | null } {
  const num = (v: unknown): number | null => (typeof v === "number" ? v : null);
  const details = (usage.prompt_tokens_details ?? usage.input_tokens_details) as
    | Record<string, unknown>
    | undefined;
  return {
    promptTokens: num(usage.prompt_tokens) ?? num(usage.input_tokens),
    completionTokens: num(usage.completion_tokens) ?? num(usage.output_tokens),
    cachedTokens: num(details?.cached_tokens) ?? num(usage.cache_read_input_tokens),
  };
}

function _noteFinishReason(choices: unknown, record: RequestRecord): void {
  if (!Array.isArray(choices)) return;
  for (const choice of choices) {
    const reason = (choice as { finish_reason?: unknown } | null)?.finish_reason;
    if (typeof reason === "string") record.finishReason(reason);
  }
}

function _carriesToken(choice: unknown): boolean {
  if (typeof choice !== "object" || choice === null) return false;
  const c = choice as { delta?: Record<string, unknown>; text?: unknown };
  if (typeof c.text === "string" && c.text.length > 0) return true; // completions
  const d = c.delta;
  if (!d) return false;
  return (typeof d.content === "string" && d.content.length > 0) ||
    (typeof d.reasoning_content === "string" && d.reasoning_content.length > 0) ||
    (Array.isArray(d.tool_calls) && d.tool_calls.length > 0);
}
