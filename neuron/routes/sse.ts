/**
 * Server-sent events for the streaming inference routes: `data:` frames (optionally named
 * with `event:`), and a `: keep-alive` comment after every second of silence so that
 * clients with short idle timeouts survive a long prefill. When the client goes away the
 * stream's signal aborts, which cancels the generation feeding it.
 *
 * @module
 */
import { encodeSse } from "@cortex/core/sse";

/** What a producer writes to. */
export interface SseSink {
  /** Sends one event; objects are JSON-encoded, strings (e.g. `[DONE]`) are sent as is. */
  send(data: unknown, event?: string): void;
  /** Aborts when the client disconnects (or the stream is otherwise cancelled). */
  readonly signal: AbortSignal;
}

/** Options of {@linkcode sseResponse}. */
export interface SseOptions {
  /** Silence after which a keep-alive comment is sent, in ms (default 1000, as in the original). */
  keepAliveMs?: number;
  /** Extra response headers. */
  headers?: Record<string, string>;
}

const _encoder = new TextEncoder();

/**
 * Builds a `text/event-stream` response whose body is written by `produce`. The stream
 * closes when `produce` settles; an exception thrown by it closes the stream too (the
 * producer is expected to have sent its own error event first).
 *
 * @example
 * ```ts
 * import { sseResponse } from "./sse.ts";
 * const response = sseResponse(async (sink) => {
 *   sink.send({ hello: "world" });
 *   sink.send("[DONE]");
 * });
 * response.headers.get("content-type"); // "text/event-stream; charset=utf-8"
 * ```
 */
export function sseResponse(produce: (sink: SseSink) => Promise<void>, options: SseOptions = {}): Response {
  const keepAliveMs = options.keepAliveMs ?? 1000;
  const abort = new AbortController();
  let timer: ReturnType<typeof setInterval> | undefined;
  let closed = false;
  let lastWrite = Date.now();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const write = (text: string): void => {
        if (closed) return;
        try {
          controller.enqueue(_encoder.encode(text));
          lastWrite = Date.now();
        } catch {
          closed = true;
        }
      };
      const finish = (): void => {
        if (timer !== undefined) clearInterval(timer);
        if (closed) return;
        closed = true;
        try {
          controller.close();
        } catch {
          // already cancelled by the client
        }
      };
      timer = setInterval(() => {
        if (Date.now() - lastWrite >= keepAliveMs) write(encodeSse({ comment: "keep-alive" }));
      }, Math.max(10, Math.floor(keepAliveMs / 4)));
      const sink: SseSink = {
        signal: abort.signal,
        send(data: unknown, event?: string): void {
          write(encodeSse({ event, data: typeof data === "string" ? data : JSON.stringify(data) }));
        },
      };
      produce(sink).then(finish, (error) => {
        console.error(`neuron: stream producer failed: ${error instanceof Error ? error.message : error}`);
        finish();
      });
    },
    cancel(reason) {
      closed = true;
      if (timer !== undefined) clearInterval(timer);
      abort.abort(reason ?? new Error("client disconnected"));
    },
  });
  return new Response(body, {
    status: 200,
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
      ...options.headers,
    },
  });
}
