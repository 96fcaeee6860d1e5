/**
 * A neuron's SSE stream relayed to the client message by message (`@cortex/core/sse` reads
 * it, {@linkcode relay} paces it): the dialect's hooks get each upstream message and write
 * what the client should see; the relay sends it, counts an upstream failure mid-stream and
 * releases the route when the stream is over.
 *
 * @module
 */
import type { CortexError } from "@cortex/core/errors";
import { type SseMessage, SseParser } from "@cortex/core/sse";
import { relay } from "./relay.ts";
import type { RequestRecord } from "./request_record.ts";

/** Headers of every stream the gateway answers with (no proxy buffering, no caching). */
export const SSE_RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
};

/** What a dialect does with the upstream's messages; it writes client text through `send`. */
export interface SseRelayHooks {
  /** One upstream message. */
  message(message: SseMessage): void;
  /** The upstream ended normally, after its last message. */
  end(): void;
  /** The upstream failed mid-stream (already counted): end the client's stream with the error. */
  fail(error: CortexError): void;
  /** True once the client's stream is over before the upstream's (the stream guard cut it). */
  ended(): boolean;
}

/** Options of {@linkcode relaySse}. */
export interface SseRelayOptions {
  /** The request's measurements (an upstream failure is counted on them). */
  record: RequestRecord;
  /** Longest silence between two upstream chunks, in ms. */
  idleTimeoutMs: number;
  /** Called once with the client-facing status when the stream is over (499: the client left). */
  done(status: number): void;
}

/**
 * Relays `body`: `hooksFor(send)` builds the dialect's hooks over the function that queues
 * text for the client; what they queued while one upstream chunk was handled goes out with it.
 */
export function relaySse(
  body: ReadableStream<Uint8Array>,
  options: SseRelayOptions,
  hooksFor: (send: (text: string) => void) => SseRelayHooks,
): ReadableStream<Uint8Array> {
  const parser = new SseParser();
  let out = "";
  const hooks = hooksFor((text) => {
    out += text;
  });
  const take = (): string => {
    const text = out;
    out = "";
    return text;
  };
  return relay(body, {
    transform(chunk) {
      for (const message of parser.push(chunk)) hooks.message(message);
      return take();
    },
    flush() {
      for (const message of parser.end()) hooks.message(message);
      hooks.end();
      return take();
    },
    fail(error) {
      options.record.streamError(String(error.code));
      hooks.fail(error);
      return take();
    },
    close(outcome) {
      options.done(outcome === "client_cancelled" ? 499 : 200);
    },
    ended: () => hooks.ended(),
  }, options.idleTimeoutMs);
}
