/**
 * The one error type of the engine surface: a code a caller can branch on plus a message that
 * names the tensor, token, sequence or numbers at fault.
 * @module
 */

/** Error codes, one per native status. */
export type PluginErrorCode =
  | "bad_model"
  | "unsupported_architecture"
  | "out_of_memory"
  | "invalid_argument"
  | "context_overflow"
  | "device_poisoned"
  | "not_found"
  | "internal";

/** An error from the native plugin or its wrapper. */
export class PluginError extends Error {
  /** What kind of failure this is. */
  readonly code: PluginErrorCode;

  /** Creates an error with a code and a message. */
  constructor(code: PluginErrorCode, message: string) {
    super(message);
    this.name = "PluginError";
    this.code = code;
  }
}

const STATUS_CODES: Record<number, PluginErrorCode> = {
  2: "bad_model",
  3: "unsupported_architecture",
  4: "out_of_memory",
  5: "invalid_argument",
  6: "context_overflow",
  7: "device_poisoned",
  8: "not_found",
  9: "internal",
};

/** Maps a native cx_status (non-zero, not pending) to an error code. */
export function codeForStatus(status: number): PluginErrorCode {
  return STATUS_CODES[status] ?? "internal";
}
