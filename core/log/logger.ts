/**
 * Structured log lines for the gateway and the neuron: one line per event, either a JSON
 * object or `time LEVEL component event key=value …` text, filtered by level, written to
 * stderr (or to a sink of the caller's, as tests do).
 *
 * @module
 */
import type { LogFormat, LogLevel } from "../config/log_config.ts";

/** Field values a log line carries; `undefined` fields are left out. */
export type LogValue = string | number | boolean | null | undefined;

/** The fields of one log line, in the order they are written. */
export type LogFields = Record<string, LogValue>;

/** Options of {@linkcode Logger}. */
export interface LoggerOptions {
  /** `json` or `text`. */
  format: LogFormat;
  /** Least severe level written. */
  level: LogLevel;
  /** Who logs (`gateway`, `neuron`): every line names it. */
  component: string;
  /** Where a finished line goes (default: stderr). Null: nowhere. */
  write?: ((line: string) => void) | null;
}

const _RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * Writes structured lines.
 *
 * @example
 * ```ts
 * import { Logger } from "@cortex/core/log";
 * const lines: string[] = [];
 * const log = new Logger({ format: "json", level: "info", component: "gateway", write: (l) => lines.push(l) });
 * log.info("request", { request_id: "r1", status: 200 });
 * log.debug("ignored");
 * JSON.parse(lines[0]).request_id; // "r1"
 * ```
 */
export class Logger {
  readonly #format: LogFormat;
  readonly #rank: number;
  readonly #component: string;
  readonly #write: ((line: string) => void) | null;

  /** A logger writing lines at `level` and above. */
  constructor(options: LoggerOptions) {
    this.#format = options.format;
    this.#rank = _RANK[options.level];
    this.#component = options.component;
    this.#write = options.write === undefined ? (line) => console.error(line) : options.write;
  }

  /** A logger that writes nothing (library use and tests that do not look at logs). */
  static silent(component = "cortex"): Logger {
    return new Logger({ format: "text", level: "error", component, write: null });
  }

  /** Whether lines at `level` are written. */
  enabled(level: LogLevel): boolean {
    return this.#write !== null && _RANK[level] >= this.#rank;
  }

  /** Writes one line at `level`. */
  log(level: LogLevel, event: string, fields: LogFields = {}): void {
    if (this.enabled(level)) this.#line(level, event, fields);
  }

  /**
   * Writes one line marked `level` whatever the configured level (only a silent logger drops
   * it): for events an operator must always see, such as a node changing health.
   */
  always(level: LogLevel, event: string, fields: LogFields = {}): void {
    if (this.#write !== null) this.#line(level, event, fields);
  }

  #line(level: LogLevel, event: string, fields: LogFields): void {
    const time = new Date().toISOString();
    this.#write!(formatLogLine(this.#format, { time, level, component: this.#component, event }, fields));
  }

  /** A `debug` line. */
  debug(event: string, fields?: LogFields): void {
    this.log("debug", event, fields);
  }

  /** An `info` line. */
  info(event: string, fields?: LogFields): void {
    this.log("info", event, fields);
  }

  /** A `warn` line. */
  warn(event: string, fields?: LogFields): void {
    this.log("warn", event, fields);
  }

  /** An `error` line. */
  error(event: string, fields?: LogFields): void {
    this.log("error", event, fields);
  }
}

/** What every line starts with. */
export interface LogHead {
  /** ISO 8601 time. */
  time: string;
  /** Severity. */
  level: LogLevel;
  /** Who logs. */
  component: string;
  /** What happened (`request`, `node_unhealthy`, …). */
  event: string;
}

/**
 * One line (without its newline): a JSON object `{time, level, component, event, …fields}`,
 * or `time LEVEL component event key=value …` where values with spaces, quotes or `=` are
 * JSON-quoted and null is `-`. Undefined fields are left out of both.
 */
export function formatLogLine(format: LogFormat, head: LogHead, fields: LogFields): string {
  if (format === "json") {
    const out: Record<string, unknown> = { ...head };
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined && !(key in head)) out[key] = value;
    }
    return JSON.stringify(out);
  }
  let line = `${head.time} ${head.level.toUpperCase()} ${head.component} ${head.event}`;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    line += ` ${key}=${_textValue(value)}`;
  }
  return line;
}

function _textValue(value: string | number | boolean | null): string {
  if (value === null) return "-";
  if (typeof value !== "string") return String(value);
  return value === "" || /[\s"=\\]/.test(value) || /[^\x20-\x7e]/.test(value) ? JSON.stringify(value) : value;
}
