/**
 * The Deno permissions a gateway needs, derived from its config: network for its two
 * listeners (and `127.0.0.1`, where the API listener's inner server takes an ephemeral port, see
 * `serveGuarded` in `@cortex/core/http`) and each neuron endpoint, read for its two config files (which
 * also lets it watch `models.toml` for changes), the env vars named by
 * `[[neurons]] token_env`, and nothing else. The
 * CLI's `cortex serve` and the `gateway` task start the gateway under exactly these flags.
 *
 * @module
 */
import type { CortexConfig } from "@cortex/core/config";
import { parseListenAddress } from "./listen.ts";

/** Where a guarded listener's inner server listens (any port), relayed to from the public socket. */
export const INNER_LISTENER_HOST = "127.0.0.1";

/** Paths the gateway reads. */
export interface GatewayFiles {
  /** `cortex.toml`. */
  configPath: string;
  /** `models.toml` (the config's `models_config`, already resolved). */
  modelsPath: string;
}

/**
 * The `deno run` flags for a gateway with this config.
 *
 * @example
 * ```ts
 * import { parseCortexConfig } from "@cortex/core/config";
 * import { gatewayPermissionFlags } from "./permissions.ts";
 * const config = parseCortexConfig('[[neurons]]\nname = "a"\nendpoint = "http://10.0.0.5:13131"\n');
 * gatewayPermissionFlags(config, { configPath: "cortex.toml", modelsPath: "models.toml" });
 * // ["--allow-net=0.0.0.0:31313,0.0.0.0:31314,10.0.0.5:13131", "--allow-read=cortex.toml,models.toml", ...]
 * ```
 */
export function gatewayPermissionFlags(config: CortexConfig, files: GatewayFiles): string[] {
  const net = new Set<string>();
  for (const listen of [config.gateway.listen, config.gateway.metrics_listen]) {
    const { hostname, port } = parseListenAddress(listen);
    const host = hostname.includes(":") ? `[${hostname}]` : hostname;
    // Port 0 means "any free port": allow the host, whichever port the OS picks.
    net.add(port === 0 ? host : `${host}:${port}`);
  }
  net.add(INNER_LISTENER_HOST);
  for (const neuron of config.neurons) {
    const url = new URL(neuron.endpoint);
    const port = url.port || (url.protocol === "https:" ? "443" : "80");
    net.add(`${url.hostname}:${port}`);
  }
  const envNames = [...new Set(config.neurons.flatMap((n) => n.token_env ?? []))];
  return [
    `--allow-net=${[...net].join(",")}`,
    `--allow-read=${[files.configPath, files.modelsPath].join(",")}`,
    ...(envNames.length > 0 ? [`--allow-env=${envNames.join(",")}`] : []),
    // Request signals abort only when the client goes away, not after every response.
    "--unstable-no-legacy-abort",
    "--no-prompt",
  ];
}
