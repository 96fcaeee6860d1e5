/**
 * The CLI's error value: a stable code, a one-line message saying what went wrong, and a
 * hint saying what to do about it. `main` prints it on stderr as one line and exits with
 * its exit code (2 for usage errors, 1 otherwise).
 *
 * @module
 */

/** What went wrong, for scripts that match on it. */
export type CliErrorCode =
  | "usage"
  | "gateway_unreachable"
  | "gateway_error"
  | "unauthorized"
  | "forbidden"
  | "model_not_found"
  | "config_error"
  | "child_failed"
  | "timeout";

/** An error the CLI reports to the user (never a stack trace). */
export class CliError extends Error {
  /** Stable code. */
  readonly code: CliErrorCode;
  /** What to do about it (may be empty). */
  readonly hint: string;
  /** Process exit code. */
  readonly exitCode: number;

  /** Creates an error; usage and config errors exit with 2 (as the neuron and gateway do), the rest with 1. */
  constructor(code: CliErrorCode, message: string, hint = "") {
    super(message);
    this.name = "CliError";
    this.code = code;
    this.hint = hint;
    this.exitCode = code === "usage" || code === "config_error" ? 2 : 1;
  }

  /** The single line printed on stderr (newlines in the message are flattened). */
  line(): string {
    const text = this.hint ? `${this.message} — ${this.hint}` : this.message;
    return text.replace(/\s*\n\s*/g, " ");
  }
}

/** What the CLI suggests when a conversation outgrew the model's context (`cortex chat`'s `/reset`). */
export const CONTEXT_HINT =
  "the conversation no longer fits the model's context: in `cortex chat`, /reset starts a new one";
