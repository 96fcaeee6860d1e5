// Private: building the gateway/neuron service specs from their configs, and supervising
// started services until they exit or a stop signal arrives.
import {
  ConfigError,
  type CortexConfig,
  loadCortexConfig,
  loadNeuronConfig,
  type NeuronConfig,
  parseNeuronConfig,
} from "@cortex/core/config";
import { gatewayPermissionFlags } from "../../gateway/permissions.ts";
import { CliError } from "../cli_error.ts";
import type { CliContext } from "../command.ts";
import { neuronPermissionFlags } from "../neuron_permissions.ts";
import { forwardStopSignals, type RunningService, type ServiceSpec, type StopSignals } from "../service.ts";

/** An absolute, `.`-free path for `path` (relative to the working directory). */
export function _absolute(path: string): string {
  const joined = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  const out: string[] = [];
  for (const part of joined.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return `/${out.join("/")}`;
}

function _configError(error: unknown, hint: string): never {
  if (error instanceof ConfigError) throw new CliError("config_error", error.message, hint);
  throw error;
}

/** Loads `cortex.toml`, failing with a CLI error that names the file and key. */
export async function _loadGatewayConfig(path: string): Promise<CortexConfig> {
  try {
    return await loadCortexConfig(path);
  } catch (error) {
    return _configError(error, "fix it (every key is described in cortex.toml at the repository root)");
  }
}

/**
 * Loads `neuron.toml`. With `defaultPath` and no such file, a neuron runs with all defaults
 * (as `neuron/main.ts` does); a file named explicitly must exist.
 */
export async function _loadNeuronConfig(path: string, explicit: boolean): Promise<NeuronConfig | null> {
  try {
    return await loadNeuronConfig(path);
  } catch (error) {
    if (!explicit && error instanceof ConfigError && error.code === "config_not_found") return null;
    return _configError(
      error,
      "fix it (every key is described in neuron.example.toml at the repository root)",
    );
  }
}

/** The spec of a gateway for the config at `configPath` (absolute). */
export function _gatewaySpec(config: CortexConfig, configPath: string, ctx: CliContext): ServiceSpec {
  return {
    kind: "gateway",
    flags: gatewayPermissionFlags(config, { configPath, modelsPath: config.models_config }),
    entry: "gateway/main.ts",
    args: ["--config", configPath],
    ready(line) {
      if (!line.startsWith("{")) return null;
      try {
        const parsed = JSON.parse(line);
        return typeof parsed?.gateway === "string"
          ? { url: parsed.gateway, metrics: String(parsed.metrics) }
          : null;
      } catch {
        return null;
      }
    },
    onLine: (line) => ctx.stdout.line(line),
  };
}

/**
 * The spec of a neuron for `config` read from `configPath` (absolute; null config: defaults,
 * no file), optionally on another `port` than its `listen`.
 */
export function _neuronSpec(
  config: NeuronConfig | null,
  configPath: string,
  ctx: CliContext,
  port?: number,
): ServiceSpec {
  const effective = config ?? parseNeuronConfig("");
  const listen = port === undefined
    ? effective.listen
    : `${effective.listen.slice(0, effective.listen.lastIndexOf(":"))}:${port}`;
  return {
    kind: "neuron",
    flags: neuronPermissionFlags({ ...effective, listen }, configPath),
    entry: "neuron/main.ts",
    args: [
      ...(config === null ? [] : ["--config", configPath]),
      ...(port === undefined ? [] : ["--port", String(port)]),
    ],
    ready(line) {
      const match = /^neuron listening on (\S+)/.exec(line);
      return match ? { url: match[1] } : null;
    },
    onLine: (line) => ctx.stdout.line(line),
  };
}

/**
 * Waits until every service is ready, calls `onReady`, then waits until one exits or a stop
 * signal arrives. After a signal (forwarded by {@linkcode forwardStopSignals}) it waits for
 * all to exit and returns 0 when they stopped cleanly; when one exits on its own, it stops
 * the others and returns that one's failing code.
 */
export async function _supervise(
  services: RunningService[],
  ctx: CliContext,
  onReady: (ready: Record<string, string>[]) => Promise<void> | void,
  signals: StopSignals = forwardStopSignals(() => services),
): Promise<number> {
  let signalled = false;
  signals.stopped.then(() => (signalled = true));
  const all = (): Promise<number> => _exitCode(services);
  try {
    let ready: Record<string, string>[];
    try {
      ready = await Promise.all(services.map((s) => s.ready));
    } catch (error) {
      if (signalled) return await all();
      for (const service of services) service.signal("SIGTERM");
      await all();
      throw error;
    }
    const first = Promise.race(services.map((s) => s.status.then((status) => ({ service: s, status }))));
    await Promise.race([onReady(ready), signals.stopped, first]);
    const exited = await Promise.race([first, signals.stopped.then(() => null)]);
    if (signalled || exited === null) return await all();
    ctx.stderr.line(
      ctx.stderr.style.red(
        `cortex: the ${exited.service.kind} exited unexpectedly (code ${exited.status.code})`,
      ),
    );
    for (const service of services) service.signal("SIGTERM");
    await all();
    return exited.status.code === 0 ? 1 : exited.status.code;
  } finally {
    signals.dispose();
  }
}

async function _exitCode(services: RunningService[]): Promise<number> {
  let code = 0;
  for (const service of services) {
    const status = await service.status;
    if (code === 0 && status.code !== 0 && status.signal !== "SIGINT" && status.signal !== "SIGTERM") {
      code = status.code;
    }
  }
  return code;
}
