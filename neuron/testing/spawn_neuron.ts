/**
 * Starts a real neuron process for tests (the gateway's and the CLI's too): writes a
 * `neuron.toml` into a temp dir, runs `neuron/main.ts` with `Deno.execPath()` and scoped
 * permissions on a free 127.0.0.1 port, and waits until it listens (and, by default, until
 * its default models are loaded).
 *
 * @example
 * ```ts ignore
 * import { spawnNeuron, TINY_QWEN3 } from "../neuron/testing/spawn_neuron.ts";
 * const neuron = await spawnNeuron({ models: { tiny: TINY_QWEN3 } });
 * try {
 *   const res = await fetch(`${neuron.url}/v1/chat/completions`, { method: "POST", ... });
 * } finally {
 *   await neuron.stop();
 * }
 * ```
 * @module
 */

const _repoRoot = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** The tiny random-weight Qwen3 fixture (f32, tied embeddings). */
export const TINY_QWEN3: string = `${_repoRoot}/neuron/testdata/models/tiny-qwen3-f32`;
/** stories260K (a real tiny Llama base model), outside the repository; may be absent. */
export const STORIES_260K: string = `${_repoRoot}/../shared/fixtures/stories260K/hf`;
/** cortex-demo, the project's own trained chat model that really calls tools (`tools/demo_model/`). */
export const DEMO_MODEL: string = `${_repoRoot}/neuron/models/cortex-demo`;
/** The native plugin the neuron loads. */
export const PLUGIN_PATH: string = `${_repoRoot}/cuda_plugin/build/libcortex_plugin.so`;

/** Whether stories260K is present (tests that need it skip with a message when not). */
export function haveStories260K(): boolean {
  try {
    return Deno.statSync(`${STORIES_260K}/model.safetensors`).isFile;
  } catch {
    return false;
  }
}

/** Whether the cortex-demo folder is present (tests that need it skip with a message when not). */
export function haveDemoModel(): boolean {
  try {
    return Deno.statSync(`${DEMO_MODEL}/config.json`).isFile;
  } catch {
    return false;
  }
}

/** One model entry: a folder, or a table with its `[[models]]` keys. */
export type SpawnModel =
  | string
  | {
    path?: string;
    source?: string;
    context_length?: number;
    max_sequences?: number;
    devices?: number[];
    quant?: string;
  };

/** Options of {@linkcode spawnNeuron}. */
export interface SpawnNeuronOptions {
  /** id → folder (or `[[models]]` table). */
  models?: Record<string, SpawnModel>;
  /** `[devices]` (default: one CPU device, 512 MB budget, 1 thread). */
  devices?: {
    cpu_devices?: number;
    cpu_memory_budget_mb?: number;
    cpu_threads?: number;
    cuda?: "all" | "none" | number[];
  };
  /** `[admission]`. */
  admission?: { max_in_flight?: number; max_queue?: number; max_wait_s?: number };
  /** `[prefix_cache]`. */
  prefixCache?: { enabled?: boolean; budget_mb?: number };
  /** Models to load at start (default: every entry of `models`). */
  defaultModels?: string[];
  /** Bearer token the neuron requires. */
  token?: string;
  /** `[hub]` settings; its endpoint's host is added to the net permission and its cache to read/write. */
  hub?: { endpoint: string; cache_dir: string; offline?: boolean; token_env?: string };
  /** `models_dir`. */
  modelsDir?: string;
  /** `max_prompt_tokens`. */
  maxPromptTokens?: number;
  /** `failed_load_ttl_s`. */
  failedLoadTtlS?: number;
  /** `[log]` (`format`, `level`, `prompts`). */
  log?: { format?: "json" | "text"; level?: "debug" | "info" | "warn" | "error"; prompts?: boolean };
  /** Port (default: a free one). */
  port?: number;
  /** `[connections]` (header, body, idle and send timeouts; connections per client). */
  connections?: Record<string, number>;
  /** Extra environment for the process (only names listed here, plus the hub token env, are readable). */
  env?: Record<string, string>;
  /**
   * TEST HOOK: pause after every engine step, in ms (sets `CORTEX_TEST_STEP_DELAY_MS`), so a
   * test can act while a generation of the tiny models is still running.
   */
  testStepDelayMs?: number;
  /** Wait until `/health` reports activation `ready` (default true). */
  waitForModels?: boolean;
  /** More paths the process may read (e.g. the targets of symlinks in `modelsDir`). */
  allowRead?: string[];
  /** Longest wait for readiness in ms (default 60 000). */
  readyTimeoutMs?: number;
}

/** A running neuron process. */
export interface SpawnedNeuron {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** Its port. */
  port: number;
  /** The generated `neuron.toml`. */
  configPath: string;
  /** The child process. */
  process: Deno.ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Sends `signal` (default SIGTERM), waits for exit (SIGKILL after 30 s), removes the temp dir. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

function _tomlValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(_tomlValue).join(", ")}]`;
  return String(value);
}

function _table(name: string, values: Record<string, unknown> | undefined): string {
  if (!values) return "";
  const lines = Object.entries(values).filter(([, v]) => v !== undefined).map(([k, v]) =>
    `${k} = ${_tomlValue(v)}`
  );
  return `\n[${name}]\n${lines.join("\n")}\n`;
}

function _freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Writes the config text for `options` (exported for tests of the helper itself). */
export function neuronToml(options: SpawnNeuronOptions, port: number): string {
  const models = options.models ?? {};
  let toml = `listen = "127.0.0.1:${port}"\nplugin = ${JSON.stringify(PLUGIN_PATH)}\n`;
  if (options.token) toml += `token = ${JSON.stringify(options.token)}\n`;
  if (options.modelsDir) toml += `models_dir = ${JSON.stringify(options.modelsDir)}\n`;
  if (options.maxPromptTokens) toml += `max_prompt_tokens = ${options.maxPromptTokens}\n`;
  if (options.failedLoadTtlS !== undefined) toml += `failed_load_ttl_s = ${options.failedLoadTtlS}\n`;
  toml += `default_models = ${_tomlValue(options.defaultModels ?? Object.keys(models))}\n`;
  toml += _table("devices", {
    cpu_devices: 1,
    cpu_memory_budget_mb: 512,
    cpu_threads: 1,
    ...options.devices,
  });
  toml += _table("admission", options.admission);
  toml += _table("prefix_cache", options.prefixCache);
  toml += _table("connections", options.connections);
  toml += _table("log", options.log);
  if (options.hub) toml += _table("hub", options.hub);
  for (const [id, spec] of Object.entries(models)) {
    const table = typeof spec === "string" ? { path: spec } : spec;
    toml += `\n[[models]]\nid = ${JSON.stringify(id)}\n`;
    for (const [k, v] of Object.entries(table)) if (v !== undefined) toml += `${k} = ${_tomlValue(v)}\n`;
  }
  return toml;
}

/**
 * Kills `neuron` (SIGKILL) when the module unloads, so that a test file sharing one neuron
 * across its tests never leaves the process behind, whatever the tests did.
 */
export function killOnUnload(neuron: SpawnedNeuron): void {
  globalThis.addEventListener("unload", () => {
    try {
      neuron.process.kill("SIGKILL");
    } catch {
      // already stopped
    }
  });
}

/** Starts a neuron; rejects (with its output) if it exits or does not get ready in time. */
export async function spawnNeuron(options: SpawnNeuronOptions = {}): Promise<SpawnedNeuron> {
  const dir = await Deno.makeTempDir({ prefix: "neuron-test-" });
  const port = options.port ?? _freePort();
  const configPath = `${dir}/neuron.toml`;
  await Deno.writeTextFile(configPath, neuronToml(options, port));
  // The source folders too: prompt workers load their modules under the neuron's read permission.
  const readPaths = [dir, PLUGIN_PATH, ...["neuron", "core", "qwen3"].map((d) => `${_repoRoot}/${d}`)];
  for (const spec of Object.values(options.models ?? {})) {
    const path = typeof spec === "string" ? spec : spec.path;
    if (path) readPaths.push(path);
  }
  // The host, not just the port: the listener's inner server takes an ephemeral loopback port.
  const netHosts = ["127.0.0.1"];
  const writePaths: string[] = [];
  const envNames = [
    "HF_TOKEN",
    "HF_HOME",
    "HF_HUB_CACHE",
    "HOME",
    "CORTEX_GIT_SHA",
    "CORTEX_GIT_DIRTY",
    "CORTEX_TEST_STEP_DELAY_MS",
  ];
  if (options.modelsDir) readPaths.push(options.modelsDir);
  readPaths.push(...options.allowRead ?? []);
  if (options.hub) {
    netHosts.push(new URL(options.hub.endpoint).host);
    readPaths.push(options.hub.cache_dir);
    writePaths.push(options.hub.cache_dir);
    if (options.hub.token_env) envNames.push(options.hub.token_env);
  }
  envNames.push(...Object.keys(options.env ?? {}));
  const args = [
    "run",
    "--no-prompt",
    "--unstable-no-legacy-abort",
    `--allow-net=${netHosts.join(",")}`,
    `--allow-read=${readPaths.join(",")}`,
    ...(writePaths.length > 0 ? [`--allow-write=${writePaths.join(",")}`] : []),
    `--allow-ffi=${PLUGIN_PATH}`,
    `--allow-env=${[...new Set(envNames)].join(",")}`,
    "--allow-sys=hostname,osRelease",
    `${_repoRoot}/neuron/main.ts`,
    "--config",
    configPath,
  ];
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: _repoRoot,
    env: {
      NO_COLOR: "1",
      ...(options.testStepDelayMs ? { CORTEX_TEST_STEP_DELAY_MS: String(options.testStepDelayMs) } : {}),
      ...options.env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  let onOutput: (() => void) | null = null;
  const pump = async (stream: ReadableStream<Uint8Array>): Promise<void> => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      output += text;
      onOutput?.();
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    onOutput?.();
    return s;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  const fail = async (why: string): Promise<never> => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await status;
    await pumps;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw new Error(`neuron ${why}; its output:\n${output}`);
  };
  while (!output.includes("neuron listening on")) {
    if (exited) return await fail("exited before listening");
    if (Date.now() > deadline) return await fail("did not listen in time");
    await new Promise<void>((resolve) => {
      onOutput = resolve;
      setTimeout(resolve, 200);
    });
  }
  onOutput = null;
  if (options.waitForModels ?? true) {
    const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
    for (;;) {
      if (exited) return await fail("exited while loading default models");
      if (Date.now() > deadline) return await fail("did not finish loading default models in time");
      const health = await (await fetch(`${url}/health`, { headers })).json();
      if (health?.activation?.state === "ready") break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  let stopped: Promise<Deno.CommandStatus> | null = null;
  return {
    url,
    port,
    configPath,
    process: child,
    output: () => output,
    stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
      stopped ??= (async () => {
        if (!exited) {
          try {
            child.kill(signal);
          } catch {
            // already gone
          }
        }
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {
            // already gone
          }
        }, 30_000);
        const result = await status;
        clearTimeout(timer);
        await pumps;
        await Deno.remove(dir, { recursive: true }).catch(() => {});
        return result;
      })();
      return stopped;
    },
  };
}
