/**
 * What every `cortex` command is: a name, a one-line summary, its usage and flags, and a
 * `run` that gets the parsed arguments and the shared context (gateway URL, API key,
 * `--json`, the two output streams) and resolves to an exit code.
 *
 * @module
 */
import type { FlagSpecs, ParsedArgs } from "./args.ts";
import type { GatewayClient } from "./client.ts";
import type { Output } from "./terminal.ts";

/** Shared state of one CLI invocation. */
export interface CliContext {
  /** The gateway base URL (`--gateway`, else `CORTEX_URL`, else the default). */
  gatewayUrl: string;
  /** `CORTEX_API_KEY`, or null. */
  apiKey: string | null;
  /** `--json`: machine output. */
  json: boolean;
  /** Standard output. */
  stdout: Output;
  /** Standard error. */
  stderr: Output;
  /** A client for the gateway. */
  client(): GatewayClient;
}

/** One `cortex` sub-command. */
export interface Command {
  /** Name on the command line. */
  name: string;
  /** One line for `cortex --help`. */
  summary: string;
  /** Usage line(s) after `cortex`, e.g. `load MODEL [--node NAME]`. */
  usage: string;
  /** Longer description for `cortex CMD --help`. */
  description: string;
  /** Command-specific flags (the common ones are added by `main`). */
  flags: FlagSpecs;
  /** Runs the command; resolves to the exit code. */
  run(args: ParsedArgs, ctx: CliContext): Promise<number>;
}
