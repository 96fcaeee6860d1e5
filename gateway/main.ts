/**
 * The gateway process: `deno run <flags from permissions.ts> gateway/main.ts --config cortex.toml`.
 * Loads `cortex.toml` and its `models.toml`, starts both listeners, prints one JSON line
 * `{"gateway": url, "metrics": url}` on stdout when ready, reloads `models.toml` when it
 * changes and on SIGHUP, and shuts down on SIGINT/SIGTERM.
 *
 * @module
 */
import { ConfigError, loadCortexConfig, loadModelsConfig } from "@cortex/core/config";
import { CatalogueReloader } from "./fleet/catalogue_reloader.ts";
import { startGateway } from "./gateway.ts";

/** Reads `--config PATH` (or `--config=PATH`) from the arguments; default `cortex.toml`. */
export function configPathFromArgs(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--config" || args[i] === "-c") return args[i + 1] ?? "cortex.toml";
    if (args[i].startsWith("--config=")) return args[i].slice("--config=".length);
  }
  return "cortex.toml";
}

async function _main(): Promise<void> {
  const configPath = configPathFromArgs(Deno.args);
  let gateway;
  try {
    const config = await loadCortexConfig(configPath);
    const models = await loadModelsConfig(config.models_config, { missingOk: true });
    gateway = await startGateway(config, models);
  } catch (error) {
    console.error(`cortex gateway: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(error instanceof ConfigError ? 2 : 1);
  }
  console.log(JSON.stringify({ gateway: gateway.url, metrics: gateway.metricsUrl }));
  console.error(`cortex gateway: API on ${gateway.url}, Prometheus on ${gateway.metricsUrl}`);
  const { fleet, metrics } = gateway.context;
  const reloader = new CatalogueReloader(gateway.context.config.models_config, {
    apply: (catalogue) => fleet.replaceCatalogue(catalogue),
    onOutcome: (outcome) => metrics.catalogueReloads.inc({ outcome }),
  });
  reloader.watch();
  Deno.addSignalListener("SIGHUP", () => void reloader.reload("SIGHUP", true));
  const stop = async (): Promise<void> => {
    await reloader.close();
    await gateway.shutdown();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}

if (import.meta.main) await _main();
