/**
 * Signal listeners that count one keypress once. A terminal's Ctrl-C sends SIGINT to the
 * whole foreground process group, and launchers such as `deno task` forward it to their
 * child as well, so the CLI can receive the same interrupt twice within milliseconds.
 * Repeats inside a short window are dropped; a second, deliberate Ctrl-C still counts.
 *
 * @module
 */

/** Signals closer together than this (ms) are one event. */
export const SIGNAL_DEDUP_MS = 250;

/**
 * Adds a listener for `signal` that ignores repeats within `windowMs` of the last accepted
 * one; returns a function that removes it.
 *
 * @example
 * ```ts ignore
 * const remove = listenSignal("SIGINT", () => controller.abort());
 * // …
 * remove();
 * ```
 */
export function listenSignal(
  signal: Deno.Signal,
  handler: () => void,
  windowMs = SIGNAL_DEDUP_MS,
): () => void {
  let last = -Infinity;
  const listener = (): void => {
    const now = performance.now();
    if (now - last < windowMs) return;
    last = now;
    handler();
  };
  Deno.addSignalListener(signal, listener);
  return () => Deno.removeSignalListener(signal, listener);
}
