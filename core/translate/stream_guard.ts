/**
 * What the three stream-conformance guards share: a violation (a broken rule of the dialect's
 * event grammar, by short stable name, and what the guard did about it), the guard's state,
 * and the interface {@linkcode AnthropicStreamGuard}, {@linkcode ResponsesStreamGuard} and
 * {@linkcode ChatStreamGuard} implement. A guard sits between a stream's producer and the
 * client: every event goes through `push`, the producer's end through `end` (or `fail`), and
 * what comes out is a stream that keeps the grammar — repaired where that is safe, otherwise
 * ended with the dialect's error event.
 *
 * @module
 */
import { CortexError } from "../errors/cortex_error.ts";

/** What a guard did about a violation: fixed it and went on, or ended the stream with an error event. */
export type StreamViolationAction = "repaired" | "ended";

/** One broken rule of a stream's grammar. */
export interface StreamViolation {
  /** The rule's short stable name, e.g. `block_not_closed` (see each guard's rule list). */
  rule: string;
  /** What was seen, for logs and test messages. */
  detail: string;
  /** What the guard did. */
  action: StreamViolationAction;
}

/**
 * Where a guarded stream stands: `open` (events still expected), `closed` (the stream reached
 * its terminal event, or the producer's failure was reported in the dialect), `cut` (the guard
 * ended it with the dialect's error event because of a violation it could not repair).
 */
export type StreamGuardState = "open" | "closed" | "cut";

/** Options every guard takes. */
export interface StreamGuardOptions {
  /** Called for every violation, as it happens (e.g. to count it in a metric). */
  onViolation?: (violation: StreamViolation) => void;
}

/**
 * An incremental checker of one stream of events of type `E`. Events come out through the
 * `emit` callback passed to each call (unchanged, repaired, dropped, or with events inserted).
 */
export interface StreamGuard<E> {
  /** Checks one event from the producer and emits what the client should get for it. */
  push(event: E, emit: (event: E) => void): void;
  /**
   * The producer ended normally: emits what a well-formed end still needs (a missing terminal
   * event after a clean finish), or the dialect's error event when the stream is cut short.
   */
  end(emit: (event: E) => void): void;
  /** The producer failed: emits the dialect's error event for `error` unless the stream is over. */
  fail(error: CortexError, emit: (event: E) => void): void;
  /** Where the stream stands. */
  readonly state: StreamGuardState;
  /** Every violation seen so far, in order. */
  readonly violations: readonly StreamViolation[];
}

/** Runs `events` through a guard and lists its violations as `rule: detail` (empty when well-formed). */
export function guardViolations<E>(guard: StreamGuard<E>, events: readonly E[]): string[] {
  const discard = (): void => {};
  for (const event of events) guard.push(event, discard);
  guard.end(discard);
  return guard.violations.map((v) => `${v.rule}: ${v.detail}`);
}

/** The error a guard ends a stream with, naming the broken rule. */
export function streamViolationError(
  dialect: string,
  violation: Pick<StreamViolation, "rule" | "detail">,
): CortexError {
  return new CortexError(
    `the ${dialect} stream broke its event grammar (${violation.rule}: ${violation.detail}); stream ended`,
    { code: "stream_violation", status: 502 },
  );
}
