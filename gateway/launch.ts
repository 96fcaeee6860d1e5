/**
 * Starts `gateway/main.ts` under the permissions its config implies (what the root task
 * `deno task gateway` runs): reads `--config` (default `cortex.toml`), derives the flags
 * with {@linkcode gatewayPermissionFlags} and runs the gateway as a child with them,
 * forwarding its output, exit code and signals (SIGHUP reloads `models.toml`).
 *
 * @module
 */
import { ConfigError, loadCortexConfig } from "@cortex/core/config";
import { configPathFromArgs } from "./main.ts";
import { gatewayPermissionFlags } from "./permissions.ts";

/** The full `deno` argument list that runs a gateway for the config at `configPath`. */
export async function gatewayCommand(configPath: string): Promise<string[]> {
  const config = await loadCortexConfig(configPath);
  const flags = gatewayPermissionFlags(config, { configPath, modelsPath: config.models_config });
  const main = new URL("./main.ts", import.meta.url).pathname;
  return ["run", ...flags, main, "--config", configPath];
}

if (import.meta.main) {
  const configPath = configPathFromArgs(Deno.args);
  let args: string[];
  try {
    args = await gatewayCommand(configPath);
  } catch (error) {
    console.error(`cortex gateway: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(error instanceof ConfigError ? 2 : 1);
  }
  const child = new Deno.Command(Deno.execPath(), { args, stdin: "null" }).spawn();
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    Deno.addSignalListener(signal, () => child.kill(signal));
  }
  Deno.exit((await child.status).code);
}
