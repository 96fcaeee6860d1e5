/**
 * The Deno permissions a neuron needs, derived from its `neuron.toml` (the counterpart of
 * `gateway/permissions.ts`): network for its listener (and `127.0.0.1`, where the listener's
 * inner server takes an ephemeral port behind its connection-guarding relay) and, unless
 * `hub.offline`, the hub and its download hosts; read for the config, the plugin, every model
 * folder, `models_dir`, the hub cache and the neuron's own source folders (its prompt workers
 * load their modules at run time); write for the hub cache only when it may download; FFI for
 * the plugin file; the env vars it reads; and two `sys` values for `/discovery`. Nothing else.
 *
 * @module
 */
import type { NeuronConfig } from "@cortex/core/config";
import { resolveHubCacheDir } from "../neuron/sources/hub_cache.ts";
import { readEnv } from "./terminal.ts";

/** The plugin a neuron loads when `plugin` is not set (built by `deno task build:plugin`). */
export const DEFAULT_PLUGIN_PATH: string =
  new URL("../cuda_plugin/build/libcortex_plugin.so", import.meta.url).pathname;

/**
 * The source folders a neuron's prompt workers load their modules from: a worker's module graph
 * is read at run time under the neuron's own read permission (none of it is written to).
 */
export const NEURON_SOURCE_DIRS: readonly string[] = ["neuron", "core", "qwen3"].map((dir) =>
  new URL(`../${dir}`, import.meta.url).pathname
);

/**
 * Hosts the Hugging Face hub redirects file downloads to (LFS and Xet storage). Deno checks
 * the net permission on every redirect, so they are allowed with `huggingface.co`.
 */
export const HUGGINGFACE_DOWNLOAD_HOSTS: readonly string[] = [
  "cdn-lfs.huggingface.co",
  "cdn-lfs-us-1.huggingface.co",
  "cdn-lfs-eu-1.huggingface.co",
  "cdn-lfs.hf.co",
  "cdn-lfs-us-1.hf.co",
  "cdn-lfs-eu-1.hf.co",
  "cas-bridge.xethub.hf.co",
  "cas-server.xethub.hf.co",
  "transfer.xethub.hf.co",
];

/** Env vars every neuron may read (hub cache location, build identity). */
const _BASE_ENV = ["HOME", "HF_HOME", "HF_HUB_CACHE", "CORTEX_GIT_SHA", "CORTEX_GIT_DIRTY"];

function _hostPort(hostname: string, port: string): string {
  const host = hostname.includes(":") && !hostname.startsWith("[") ? `[${hostname}]` : hostname;
  // Port 0 means "any free port": allow the host, whichever port the OS picks.
  return port === "0" ? host : `${host}:${port}`;
}

/** The net entries for a listen address `host:port` (or `[v6]:port`). */
export function listenNetEntry(listen: string): string {
  const at = listen.lastIndexOf(":");
  return _hostPort(listen.slice(0, at), listen.slice(at + 1));
}

/**
 * The `deno run` flags for a neuron with this config, read from `configPath`.
 *
 * @example
 * ```ts
 * import { parseNeuronConfig } from "@cortex/core/config";
 * import { neuronPermissionFlags } from "./neuron_permissions.ts";
 * const config = parseNeuronConfig('listen = "127.0.0.1:13131"\n[hub]\noffline = true\n', { baseDir: "/etc/cortex" });
 * neuronPermissionFlags(config, "/etc/cortex/neuron.toml", (name) => ({ HOME: "/home/n" })[name]);
 * // ["--allow-net=127.0.0.1:13131,127.0.0.1", "--allow-read=/etc/cortex/neuron.toml,<plugin>,/home/n/.cache/huggingface/hub", ...]
 * ```
 */
export function neuronPermissionFlags(
  config: NeuronConfig,
  configPath: string,
  env: (name: string) => string | undefined = readEnv,
): string[] {
  const plugin = config.plugin ?? DEFAULT_PLUGIN_PATH;
  const cacheDir = resolveHubCacheDir(config.hub.cache_dir, env);
  const net = new Set([listenNetEntry(config.listen), "127.0.0.1"]);
  if (!config.hub.offline) {
    const hub = new URL(config.hub.endpoint);
    net.add(_hostPort(hub.hostname, hub.port || (hub.protocol === "https:" ? "443" : "80")));
    if (/(^|\.)(huggingface\.co|hf\.co)$/.test(hub.hostname)) {
      for (const host of HUGGINGFACE_DOWNLOAD_HOSTS) net.add(`${host}:443`);
    }
  }
  const read = new Set([configPath, plugin, cacheDir]);
  for (const model of config.models) if (model.path) read.add(model.path);
  if (config.models_dir) read.add(config.models_dir);
  for (const dir of NEURON_SOURCE_DIRS) read.add(dir);
  const envNames = new Set([..._BASE_ENV, config.hub.token_env]);
  if (config.token_env) envNames.add(config.token_env);
  return [
    `--allow-net=${[...net].join(",")}`,
    `--allow-read=${[...read].join(",")}`,
    ...(config.hub.offline ? [] : [`--allow-write=${cacheDir}`]),
    `--allow-ffi=${plugin}`,
    `--allow-env=${[...envNames].join(",")}`,
    "--allow-sys=hostname,osRelease",
    // Request signals abort only when the client goes away, not after every response.
    "--unstable-no-legacy-abort",
    "--no-prompt",
  ];
}
