/**
 * The streaming relay between a neuron's response body and the client: pull-driven (the
 * client's pace is the upstream's pace, nothing is read ahead), an idle timeout reset by
 * every chunk, a hook to rewrite each chunk (and to end the client's stream early), an error
 * event in the client's dialect when the upstream fails mid-stream followed by a clean end,
 * and cancellation of the upstream when the client goes away.
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import { transportDetail } from "../fleet/neuron_client.ts";

/** How a relayed stream ended. */
export type RelayOutcome = "completed" | "upstream_error" | "client_cancelled";

/** Hooks of {@linkcode relay}. */
export interface RelayHooks {
  /** Bytes to send for one upstream chunk (empty or null: nothing yet). */
  transform(chunk: Uint8Array): Uint8Array | string | null;
  /** Bytes to send after the upstream ended normally. */
  flush(): Uint8Array | string | null;
  /** Bytes to send when the upstream failed mid-stream (the dialect's error event). */
  fail(error: CortexError): Uint8Array | string | null;
  /** Called once when the relay is over. */
  close(outcome: RelayOutcome): void;
  /**
   * True once the client's stream is over before the upstream's (the stream guard ended it):
   * the relay then closes it and cancels the upstream. Asked after every transformed chunk.
   */
  ended?(): boolean;
}

const _encoder = new TextEncoder();

/**
 * Relays `upstream` to a new stream through `hooks`. `idleTimeoutMs` bounds the silence
 * between two upstream chunks.
 */
export function relay(
  upstream: ReadableStream<Uint8Array>,
  hooks: RelayHooks,
  idleTimeoutMs: number,
): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  let finished = false;
  const finish = (outcome: RelayOutcome): void => {
    if (finished) return;
    finished = true;
    hooks.close(outcome);
  };
  const toBytes = (out: Uint8Array | string | null): Uint8Array | null => {
    if (out === null) return null;
    const bytes = typeof out === "string" ? _encoder.encode(out) : out;
    return bytes.byteLength > 0 ? bytes : null;
  };
  // One watchdog per stream (not a timer per chunk): when the upstream has been silent for
  // the idle timeout while a read is pending, the read is cancelled and reported as a timeout.
  let lastActivity = Date.now();
  let timedOut = false;
  let reading = false; // a slow client is not a silent upstream: only pending reads time out
  const watchdog = setInterval(() => {
    if (!reading || Date.now() - lastActivity < idleTimeoutMs) return;
    timedOut = true;
    clearInterval(watchdog);
    reader.cancel(new _IdleTimeout()).catch(() => {});
  }, Math.max(10, Math.min(idleTimeoutMs, 1000)));
  const stop = (): void => clearInterval(watchdog);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (true) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          lastActivity = Date.now();
          reading = true;
          result = await reader.read();
          reading = false;
          if (timedOut) throw new _IdleTimeout();
        } catch (error) {
          stop();
          if (finished) return;
          const bytes = toBytes(hooks.fail(upstreamFailure(error, idleTimeoutMs)));
          if (bytes) controller.enqueue(bytes);
          finish("upstream_error");
          controller.close();
          reader.cancel().catch(() => {});
          return;
        }
        if (result.done) {
          stop();
          const bytes = toBytes(hooks.flush());
          if (bytes) controller.enqueue(bytes);
          finish("completed");
          controller.close();
          return;
        }
        const bytes = toBytes(hooks.transform(result.value));
        if (bytes) controller.enqueue(bytes);
        if (hooks.ended?.()) {
          stop();
          finish("completed");
          controller.close();
          reader.cancel().catch(() => {});
          return;
        }
        if (bytes) return;
      }
    },
    async cancel(reason) {
      stop();
      finish("client_cancelled");
      await reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
}

/**
 * Reads a non-streamed upstream body completely, with the idle timeout between chunks; a
 * body cut short or too slow becomes an error (so a client never gets truncated JSON).
 */
export async function readUpstreamBody(
  body: ReadableStream<Uint8Array>,
  idleTimeoutMs: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      reader.cancel(new _IdleTimeout()).catch(() => {});
    }, idleTimeoutMs);
  };
  try {
    for (arm();; arm()) {
      const { done, value } = await reader.read();
      if (timedOut) throw new _IdleTimeout();
      if (done) break;
      parts.push(value);
    }
  } catch (error) {
    throw upstreamFailure(error, idleTimeoutMs);
  } finally {
    clearTimeout(timer);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

class _IdleTimeout extends Error {}

/** The error for an upstream stream that broke off or went silent for `idleTimeoutMs`. */
export function upstreamFailure(error: unknown, idleTimeoutMs: number): CortexError {
  if (error instanceof CortexError) return error;
  if (error instanceof _IdleTimeout) {
    return new CortexError(
      `the neuron sent nothing for ${Math.round(idleTimeoutMs / 1000)} s; stream abandoned`,
      { code: "upstream_timeout", status: 504 },
    );
  }
  return new CortexError(`the neuron's stream broke off: ${transportDetail(error)}`, {
    code: "upstream_connection_error",
    status: 502,
    cause: error,
  });
}
