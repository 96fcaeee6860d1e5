/**
 * The one line each server writes per request, and the hook that writes it when the
 * response's last byte has gone (a stream ends long after its handler returned). Gateway and
 * neuron lines of one request share `request_id`.
 *
 * @module
 */
import type { LogFields } from "./logger.ts";

/**
 * What is known about one request by the time it ends. Fields a server does not know stay
 * null (the neuron knows no API key; the gateway no engine timings) or absent.
 */
export type RequestLine = {
  /** `x-request-id`. */
  request_id: string;
  /** HTTP method. */
  method: string;
  /** Path without the query. */
  path: string;
  /** HTTP status sent (a stream cut by the client: 499). */
  status: number | null;
  /** Arrival to last byte, ms. */
  duration_ms: number | null;
  /** The API key's name (never the key), gateway only. */
  key?: string | null;
  /** The client's dialect (`chat`, `messages`, …), gateway only. */
  dialect?: string | null;
  /** The model asked for (resolved id). */
  model: string | null;
  /** The node that served it, gateway only. */
  node?: string | null;
  /** Whether the answer was streamed. */
  stream: boolean | null;
  /** Prompt tokens. */
  prompt_tokens: number | null;
  /** Completion tokens. */
  completion_tokens: number | null;
  /** Prompt tokens served from the prefix cache. */
  cached_tokens: number | null;
  /** Arrival to first generated token, ms. */
  ttft_ms: number | null;
  /** How long the request waited for a cold load, ms (gateway only; 0 when warm). */
  cold_load_ms?: number | null;
  /** `stop`, `length`, `tool_calls`, … */
  finish_reason: string | null;
  /** The error's code when the request failed (also mid-stream). */
  error: string | null;
  /** The prompt's text, only with `[log] prompts = true`. */
  prompt?: string;
};

/** A line for a request that just arrived: every figure still null. */
export function newRequestLine(requestId: string, method: string, path: string): RequestLine {
  return {
    request_id: requestId,
    method,
    path,
    status: null,
    duration_ms: null,
    model: null,
    stream: null,
    prompt_tokens: null,
    completion_tokens: null,
    cached_tokens: null,
    ttft_ms: null,
    finish_reason: null,
    error: null,
  };
}

/** The line's fields as a {@linkcode LogFields} record. */
export function requestLineFields(line: RequestLine): LogFields {
  return { ...line };
}

/** How a response body ended. */
export type BodyOutcome = "completed" | "cancelled" | "failed";

/**
 * The same response, whose body calls `ended` once when its last byte has been read, the
 * reader cancelled it (the client went away) or it failed; a response without a body calls
 * it at once. The body is pulled, never read ahead (a pull-driven stream keeps its pace).
 */
export function onResponseEnd(response: Response, ended: (outcome: BodyOutcome) => void): Response {
  if (response.body === null) {
    ended("completed");
    return response;
  }
  let called = false;
  const once = (outcome: BodyOutcome): void => {
    if (called) return;
    called = true;
    ended(outcome);
  };
  const reader = response.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (error) {
        once("failed");
        controller.error(error);
        return;
      }
      if (result.done) {
        controller.close();
        once("completed");
      } else controller.enqueue(result.value);
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => {});
      once("cancelled");
    },
  }, { highWaterMark: 0 });
  return new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}
