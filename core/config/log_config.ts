/**
 * The `[log]` section shared by `cortex.toml` and `neuron.toml`: the format of log lines
 * (one JSON object or one `key=value` text line each), the least severe level written, and
 * whether request lines may carry prompt text.
 *
 * @module
 */
/** Log line format: one JSON object per line, or `time LEVEL component event key=value …`. */
export type LogFormat = "json" | "text";

/** Severity, least severe first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** `[log]`. */
export interface LogSection {
  /** `json` or `text` (default `text`). */
  format: LogFormat;
  /** The least severe level written (default `info`; request lines are `info`). */
  level: LogLevel;
  /** Put the prompt's text on request lines (default false: never logged). */
  prompts: boolean;
}
