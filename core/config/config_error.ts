/**
 * The error every config loader throws: it names the file, the key path and what was
 * expected, e.g. `cortex.toml: eviction.strategy: expected "lru" | "priority", got "lfu"`.
 *
 * @module
 */
import type { IssueDescription } from "../errors/zod_issues.ts";

/** Why a config could not be used. */
export type ConfigErrorCode = "config_not_found" | "config_unreadable" | "config_syntax" | "config_invalid";

/** A config file that is missing, unreadable, not TOML, or fails its schema. */
export class ConfigError extends Error {
  /** What went wrong. */
  readonly code: ConfigErrorCode;
  /** The file as named to the loader. */
  readonly file: string;
  /** Schema problems (empty unless `config_invalid`). */
  readonly issues: readonly IssueDescription[];

  /** Builds the error; the message is one `file: path: problem` line per issue. */
  constructor(
    code: ConfigErrorCode,
    file: string,
    message: string,
    issues: readonly IssueDescription[] = [],
  ) {
    super(message);
    this.name = "ConfigError";
    this.code = code;
    this.file = file;
    this.issues = issues;
  }

  /** An invalid-config error listing each issue on its own line. */
  static invalid(file: string, issues: readonly IssueDescription[]): ConfigError {
    const lines = issues.map((i) => `${file}: ${i.path ? `${i.path}: ` : ""}${i.message}`);
    return new ConfigError("config_invalid", file, lines.join("\n"), issues);
  }
}
