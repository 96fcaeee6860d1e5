/**
 * The `cortex` command line: `serve`, `neuron` and `up` start the gateway and neurons (each
 * as a child process with permissions derived from its config); `status`, `models`, `load`,
 * `unload` and `chat` talk to a running gateway. Common options: `--gateway URL` (default
 * `CORTEX_URL`, else http://localhost:31313), `--json`, and the API key from
 * `CORTEX_API_KEY`. Errors go to stderr as one line, with a non-zero exit code.
 *
 * @module
 */
import { VERSION } from "@cortex/core";
import { describeFlags, type FlagSpecs, parseArgs, stringFlag } from "./args.ts";
import { CliError } from "./cli_error.ts";
import { DEFAULT_GATEWAY_URL, GatewayClient, normaliseGatewayUrl } from "./client.ts";
import type { CliContext, Command } from "./command.ts";
import { chatCommand } from "./commands/chat.ts";
import { loadCommand } from "./commands/load.ts";
import { modelsCommand } from "./commands/models.ts";
import { neuronCommand } from "./commands/neuron.ts";
import { serveCommand } from "./commands/serve.ts";
import { statusCommand } from "./commands/status.ts";
import { unloadCommand } from "./commands/unload.ts";
import { upCommand } from "./commands/up.ts";
import { type Output, readEnv, terminalOutput } from "./terminal.ts";

/** Every command, in help order. */
export const COMMANDS: readonly Command[] = [
  upCommand,
  serveCommand,
  neuronCommand,
  statusCommand,
  modelsCommand,
  loadCommand,
  unloadCommand,
  chatCommand,
];

/** Options every command accepts. */
export const COMMON_FLAGS: FlagSpecs = {
  gateway: {
    type: "string",
    short: "g",
    value: "URL",
    description: "gateway URL (default $CORTEX_URL, else http://localhost:31313)",
  },
  json: { type: "boolean", description: "machine-readable JSON on stdout" },
  help: { type: "boolean", short: "h", description: "show help" },
  version: { type: "boolean", short: "V", description: "print the version" },
};

function _mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `cortex ${VERSION} — a gateway and fleet manager for local LLM inference`,
    "",
    "usage: cortex COMMAND [options]",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "common options:",
    ...describeFlags(COMMON_FLAGS),
    "",
    "environment: CORTEX_URL (gateway URL), CORTEX_API_KEY (sent as a bearer token), NO_COLOR",
    "`cortex COMMAND --help` describes one command.",
  ].join("\n");
}

function _commandHelp(command: Command): string {
  return [
    `usage: cortex ${command.usage}`,
    "",
    command.description,
    "",
    "options:",
    ...describeFlags({ ...command.flags, ...COMMON_FLAGS }),
  ].join("\n");
}

/** I/O and environment a run uses (tests pass their own). */
export interface MainIo {
  /** Standard output. */
  stdout: Output;
  /** Standard error. */
  stderr: Output;
  /** Environment lookup. */
  env: (name: string) => string | undefined;
}

/**
 * Runs the CLI with `args` and resolves to the exit code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./main.ts";
 * Deno.exit(await main(["status", "--json"]));
 * ```
 */
export async function main(
  args: readonly string[],
  io: MainIo = { stdout: terminalOutput(Deno.stdout), stderr: terminalOutput(Deno.stderr), env: readEnv },
): Promise<number> {
  const { stdout, stderr } = io;
  try {
    const name = args.find((a) => !a.startsWith("-"));
    const command = COMMANDS.find((c) => c.name === name);
    if (name === "help") {
      const topic = COMMANDS.find((c) => c.name === args[args.indexOf("help") + 1]);
      stdout.line(topic ? _commandHelp(topic) : _mainHelp());
      return 0;
    }
    if (name !== undefined && command === undefined) {
      throw new CliError(
        "usage",
        `unknown command "${name}"`,
        `commands: ${COMMANDS.map((c) => c.name).join(", ")}`,
      );
    }
    const parsed = parseArgs(args, { ...COMMON_FLAGS, ...command?.flags });
    if (parsed.flags.version) {
      stdout.line(`cortex ${VERSION}`);
      return 0;
    }
    if (command === undefined || parsed.flags.help) {
      stdout.line(command ? _commandHelp(command) : _mainHelp());
      return command || parsed.flags.help ? 0 : 2;
    }
    parsed.positionals.splice(parsed.positionals.indexOf(command.name), 1);
    const gatewayUrl = normaliseGatewayUrl(
      stringFlag(parsed, "gateway") ?? io.env("CORTEX_URL") ?? DEFAULT_GATEWAY_URL,
    );
    const apiKey = io.env("CORTEX_API_KEY") || null;
    let client: GatewayClient | null = null;
    const ctx: CliContext = {
      gatewayUrl,
      apiKey,
      json: parsed.flags.json === true,
      stdout,
      stderr,
      client: () => (client ??= new GatewayClient(gatewayUrl, apiKey)),
    };
    return await command.run(parsed, ctx);
  } catch (error) {
    if (error instanceof CliError) {
      stderr.line(`${stderr.style.red("cortex:")} ${error.line()}`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    stderr.line(`${stderr.style.red("cortex: unexpected error:")} ${message.split("\n")[0]}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
