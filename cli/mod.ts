/**
 * @cortex/cli: the `cortex` command line — `up`, `serve`, `neuron`, `status`, `models`,
 * `load`, `unload`, `chat` — and the pieces it is built from (argument parsing, the gateway
 * client, tables, the progress line, neuron permission flags).
 *
 * @example
 * ```ts ignore
 * import { main } from "@cortex/cli";
 * Deno.exit(await main(["models", "--json"]));
 * ```
 * @module
 */
export * from "./args.ts";
export * from "./cli_error.ts";
export * from "./client.ts";
export * from "./command.ts";
export * from "./main.ts";
export * from "./neuron_permissions.ts";
export * from "./progress_line.ts";
export * from "./service.ts";
export * from "./signals.ts";
export * from "./table.ts";
export * from "./terminal.ts";
