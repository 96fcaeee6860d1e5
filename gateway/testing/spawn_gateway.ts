/**
 * Test helper: starts a real gateway process (`gateway/main.ts` under the permissions its
 * config implies) from a config given as data, written to a temporary `cortex.toml` and
 * `models.toml`; listeners on free loopback ports. Used by the gateway's acceptance tests
 * and by the CLI's.
 *
 * @example
 * ```ts ignore
 * import { spawnGateway } from "./spawn_gateway.ts";
 * const gateway = await spawnGateway({ neurons: [{ name: "a", endpoint: "http://127.0.0.1:13131" }] });
 * await gateway.waitFor(async () => (await gateway.fleet()).nodes[0].healthy === true);
 * console.log(await (await fetch(`${gateway.url}/v1/models`)).json());
 * await gateway.stop();
 * ```
 * @module
 */
import { ADMIN_ROUTES, type AdminFleet, AdminFleetSchema } from "@cortex/core/fleet";
import { stringify } from "smol-toml";
import { gatewayCommand } from "../launch.ts";

/** What to put in the temporary `cortex.toml` / `models.toml`. */
export interface SpawnGatewayOptions {
  /** `[[neurons]]`. */
  neurons: { name: string; endpoint: string; token?: string; token_env?: string }[];
  /** `[[models]]` profiles (keys as in `models.toml`). */
  models?: Record<string, unknown>[];
  /** `[aliases]`. */
  aliases?: Record<string, string>;
  /** Other top-level `models.toml` keys (e.g. `allow_unlisted`). */
  catalogue?: Record<string, unknown>;
  /** Extra `[gateway]` keys (listen addresses default to free loopback ports). */
  gateway?: Record<string, unknown>;
  /** `[eviction]`. */
  eviction?: Record<string, unknown>;
  /** `[poller]` (default: interval 0.25 s, timeout 2 s, unhealthy after 2). */
  poller?: Record<string, unknown>;
  /** `[cold_load]`. */
  coldLoad?: Record<string, unknown>;
  /** `[connections]` of the API listener. */
  connections?: Record<string, number>;
  /** `[log]` (`format`, `level`, `prompts`). */
  log?: Record<string, unknown>;
  /** Extra environment for the process (readable only under names `token_env` lists). */
  env?: Record<string, string>;
}

/** A running gateway process. */
export interface SpawnedGateway {
  /** API base URL. */
  url: string;
  /** Prometheus URL (`…/metrics`). */
  metricsUrl: string;
  /** The temporary `cortex.toml`. */
  configPath: string;
  /** The temporary `models.toml` (the gateway reloads it when it changes). */
  modelsPath: string;
  /** The process. */
  process: Deno.ChildProcess;
  /** `GET /admin/fleet` (with `headers`, e.g. an admin key), checked against its core schema. */
  fleet(headers?: HeadersInit): Promise<AdminFleet>;
  /** Polls `check` every 50 ms until it returns true; throws after `timeoutMs` (default 20 s). */
  waitFor(check: () => Promise<boolean> | boolean, timeoutMs?: number, what?: string): Promise<void>;
  /** What the process wrote to stderr so far. */
  stderr(): string;
  /** Sends SIGTERM, waits for exit, removes the temporary files. */
  stop(): Promise<void>;
}

/** Starts a gateway process and resolves once it listens. */
export async function spawnGateway(options: SpawnGatewayOptions): Promise<SpawnedGateway> {
  const dir = await Deno.makeTempDir({ prefix: "cortex-gateway-" });
  const configPath = `${dir}/cortex.toml`;
  const config = {
    models_config: "models.toml",
    gateway: { listen: "127.0.0.1:0", metrics_listen: "127.0.0.1:0", ...options.gateway },
    eviction: { ...options.eviction },
    poller: { interval_s: 0.25, timeout_s: 2, unhealthy_after: 2, ...options.poller },
    cold_load: { ...options.coldLoad },
    log: { ...options.log },
    neurons: options.neurons,
    ...(options.connections ? { connections: options.connections } : {}),
  };
  await Deno.writeTextFile(configPath, stringify(config));
  await Deno.writeTextFile(
    `${dir}/models.toml`,
    stringify({ ...options.catalogue, models: options.models ?? [], aliases: options.aliases ?? {} }),
  );
  const args = await gatewayCommand(configPath);
  const process = new Deno.Command(Deno.execPath(), {
    args,
    env: options.env,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  let stderr = "";
  const decoder = new TextDecoder();
  const stderrDone = process.stderr.pipeTo(
    new WritableStream({ write: (chunk) => void (stderr += decoder.decode(chunk, { stream: true })) }),
  ).catch(() => {});
  const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) {
      await stderrDone;
      await process.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw new Error(`gateway exited before listening:\n${stderr}`);
    }
    line += value;
  }
  const stdoutDone = (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  const ready = JSON.parse(line.split("\n")[0]) as { gateway: string; metrics: string };
  const url = ready.gateway;
  let stopped = false;
  return {
    url,
    metricsUrl: ready.metrics,
    configPath,
    modelsPath: `${dir}/models.toml`,
    process,
    async fleet(headers?: HeadersInit) {
      const res = await fetch(`${url}${ADMIN_ROUTES.fleet}`, { headers });
      if (!res.ok) throw new Error(`GET /admin/fleet: ${res.status} ${await res.text()}`);
      // Every test that watches the fleet also checks the gateway against the schema the CLI reads.
      return AdminFleetSchema.parse(await res.json());
    },
    async waitFor(check, timeoutMs = 20_000, what = "condition") {
      const deadline = Date.now() + timeoutMs;
      while (true) {
        if (await check()) return;
        if (Date.now() > deadline) {
          throw new Error(`timed out waiting for ${what}\ngateway stderr:\n${stderr}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stderr: () => stderr,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        process.kill("SIGTERM");
      } catch {
        // already gone
      }
      await process.status;
      await Promise.all([stderrDone, stdoutDone]);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
