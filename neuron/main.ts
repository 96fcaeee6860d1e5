/**
 * The neuron daemon's entry point: `deno run <scoped permissions> neuron/main.ts
 * [--config neuron.toml] [--port 13131]`. Reads the config (a missing default
 * `neuron.toml` means all defaults; a named file must exist and be valid), starts the
 * neuron, prints `neuron listening on <url>` on stdout, and drains then exits on SIGTERM or
 * SIGINT.
 *
 * @module
 */
import { ConfigError, loadNeuronConfig, type NeuronConfig, parseNeuronConfig } from "@cortex/core/config";
import { startNeuron } from "./server.ts";

interface _Args {
  config: string | null;
  port: number | null;
}

function _parseArgs(args: string[]): _Args {
  const out: _Args = { config: null, port: null };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const [flag, inline] = arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, null];
    const value = (): string => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === "--config" || flag === "-c") out.config = value();
    else if (flag === "--port" || flag === "-p") {
      const port = Number(value());
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new Error(`--port: expected 0-65535, got ${port}`);
      }
      out.port = port;
    } else if (flag === "--help" || flag === "-h") {
      console.log("usage: neuron [--config neuron.toml] [--port 13131]");
      Deno.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  return out;
}

async function _config(path: string | null): Promise<NeuronConfig> {
  try {
    return await loadNeuronConfig(path ?? "neuron.toml");
  } catch (error) {
    if (path === null && error instanceof ConfigError && error.code === "config_not_found") {
      console.error("neuron: no neuron.toml here; using defaults");
      return parseNeuronConfig("");
    }
    throw error;
  }
}

if (import.meta.main) {
  try {
    const args = _parseArgs(Deno.args);
    const config = await _config(args.config);
    const neuron = await startNeuron(config, args.port === null ? {} : { port: args.port });
    console.log(`neuron listening on ${neuron.url}`);
    const stop = async (signal: string): Promise<void> => {
      console.error(`neuron: ${signal}: draining in-flight requests, then unloading`);
      await neuron.shutdown();
      console.error("neuron: stopped");
      Deno.exit(0);
    };
    Deno.addSignalListener("SIGTERM", () => void stop("SIGTERM"));
    Deno.addSignalListener("SIGINT", () => void stop("SIGINT"));
  } catch (error) {
    console.error(`neuron: ${error instanceof Error ? error.message : error}`);
    Deno.exit(error instanceof ConfigError ? 2 : 1);
  }
}
