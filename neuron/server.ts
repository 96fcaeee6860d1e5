/**
 * Starting and stopping one neuron in this process: open the engine, build the model
 * registry and the app, listen, then load `default_models` in the background. Stopping
 * drains: queued requests are refused, running ones (streams included) finish, then every
 * model is unloaded and the engine closed.
 *
 * @module
 */
import { connectionLimitsMs, type NeuronConfig } from "@cortex/core/config";
import { serveGuarded } from "@cortex/core/http";
import { Logger } from "@cortex/core/log";
import { Plugin } from "./devices/mod.ts";
import { createNeuronApp } from "./app.ts";
import { PromptPool } from "./prompts/mod.ts";
import { Activation } from "./runtime/activation.ts";
import { buildDiscovery, buildVersion } from "./runtime/host_info.ts";
import { ModelRegistry } from "./runtime/registry.ts";
import { ModelCatalog } from "./sources/catalog.ts";
import { readEnv } from "./sources/hub_cache.ts";

/** A running neuron. */
export interface RunningNeuron {
  /** Base URL it listens on, e.g. `http://127.0.0.1:13131`. */
  url: string;
  /** The model registry. */
  registry: ModelRegistry;
  /** Resolves when default models have been attempted. */
  activated: Promise<void>;
  /**
   * Drains and stops: refuses queued and new requests, waits up to `timeoutMs` (default
   * 60 s) for running ones, unloads every model, closes the engine. Idempotent.
   */
  shutdown(timeoutMs?: number): Promise<void>;
}

/** Options of {@linkcode startNeuron}. */
export interface StartNeuronOptions {
  /** Overrides the port of `config.listen`. */
  port?: number;
  /** Where log lines go (default: stderr, as `[log]` says). */
  log?: Logger;
}

function _splitListen(listen: string): { hostname: string; port: number } {
  const at = listen.lastIndexOf(":");
  return { hostname: listen.slice(0, at).replace(/^\[(.*)\]$/, "$1"), port: Number(listen.slice(at + 1)) };
}

/**
 * Starts a neuron from a validated config.
 *
 * @example
 * ```ts ignore
 * import { loadNeuronConfig } from "@cortex/core/config";
 * const neuron = await startNeuron(await loadNeuronConfig("neuron.toml"));
 * console.log(neuron.url);
 * await neuron.shutdown();
 * ```
 */
export function startNeuron(config: NeuronConfig, options: StartNeuronOptions = {}): Promise<RunningNeuron> {
  // Synchronous work (opening the plugin, binding the port) fails as a rejected promise.
  return Promise.resolve().then(() => _start(config, options));
}

function _start(config: NeuronConfig, options: StartNeuronOptions): RunningNeuron {
  const token = _resolveToken(config);
  const log = options.log ?? new Logger({ ...config.log, component: "neuron" });
  const plugin = Plugin.open({
    ...(config.plugin ? { libraryPath: config.plugin } : {}),
    cpuDevices: config.devices.cpu_devices,
    ...(config.devices.cpu_memory_budget_mb
      ? { cpuMemoryBudgetBytes: config.devices.cpu_memory_budget_mb * 2 ** 20 }
      : {}),
    ...(config.devices.cpu_threads ? { cpuThreadsPerDevice: config.devices.cpu_threads } : {}),
  });
  // TEST HOOK (see SchedulerOptions.testStepDelayMs): set only by the HTTP tests.
  const stepDelay = Number(readEnv("CORTEX_TEST_STEP_DELAY_MS") ?? 0);
  const registry = new ModelRegistry({
    plugin,
    catalog: new ModelCatalog(config),
    config,
    log,
    scheduler: {
      prefixCache: config.prefix_cache.enabled,
      prefixCacheBudgetBytes: Math.floor(config.prefix_cache.budget_mb * 2 ** 20),
      ...(Number.isFinite(stepDelay) && stepDelay > 0 ? { testStepDelayMs: stepDelay } : {}),
    },
  });
  const activation = new Activation(config.default_models);
  const devices = registry.devices();
  if (devices.length === 0) {
    // Not fatal (a driver may come back after a restart), but never silent: every load would fail.
    console.error(
      `neuron: warning: no usable device — [devices] cpu_devices = ${config.devices.cpu_devices} and no CUDA ` +
        `device answered (cuda = ${
          JSON.stringify(config.devices.cuda)
        }); every load will fail. On a machine ` +
        "without a GPU set cpu_devices ≥ 1.",
    );
  }
  let draining = false;
  const prompts = new PromptPool();
  prompts.warm();
  const app = createNeuronApp({
    prompts,
    registry,
    activation,
    version: buildVersion(plugin.abiVersion, devices),
    discovery: buildDiscovery(devices, config.max_prompt_tokens),
    startedAt: performance.now(),
    draining: () => draining,
    token,
    log,
    logPrompts: config.log.prompts,
  });
  const listen = _splitListen(config.listen);
  const port = options.port ?? listen.port;
  const server = serveGuarded(
    { hostname: listen.hostname, port, limits: connectionLimitsMs(config.connections) },
    app.fetch,
  );
  const addr = server.addr;
  const shownHost = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const url = `http://${shownHost === "0.0.0.0" ? "127.0.0.1" : shownHost}:${addr.port}`;
  const activated = activation.run((request) => registry.load(request));
  let stopping: Promise<void> | null = null;
  return {
    url,
    registry,
    activated,
    shutdown(timeoutMs = 60_000): Promise<void> {
      stopping ??= (async () => {
        draining = true;
        registry.beginDrain();
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          server.shutdown(),
          new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
        ]);
        clearTimeout(timer);
        await registry.drainAndUnloadAll(1_000);
        prompts.close();
        plugin.close();
      })();
      return stopping;
    },
  };
}

/** The bearer token the gateway must send; a `token_env` naming an unset variable is a startup error,
 * never a silently open neuron. */
function _resolveToken(config: NeuronConfig): string | null {
  if (config.token) return config.token;
  if (!config.token_env) return null;
  const token = readEnv(config.token_env);
  if (!token) {
    throw new Error(
      `neuron.toml: token_env: environment variable ${config.token_env} is unset or empty ` +
        "(set it, or remove token_env to run without a bearer token)",
    );
  }
  return token;
}
