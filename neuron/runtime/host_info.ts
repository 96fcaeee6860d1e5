/**
 * What `/version` and `/discovery` report: the build identity, and the host with its
 * devices. Both are computed once at start and served from memory.
 *
 * @module
 */
import { VERSION } from "@cortex/core";
import type { NeuronDiscovery, NeuronVersion } from "@cortex/core/fleet";
import type { DeviceInfo } from "../devices/mod.ts";
import { readEnv } from "../sources/hub_cache.ts";

const _MB = 2 ** 20;

/** The build identity: package version, git sha (from `CORTEX_GIT_SHA`, else "unknown"), Deno and plugin ABI. */
export function buildVersion(pluginAbi: number | null, devices: readonly DeviceInfo[]): NeuronVersion {
  const sha = readEnv("CORTEX_GIT_SHA");
  const features = new Set<string>();
  for (const device of devices) {
    features.add(device.backend);
    for (const feature of (device.cpuFeatures ?? "").split(/\s+/)) if (feature) features.add(feature);
  }
  return {
    package_version: VERSION,
    git_sha: sha ? sha.slice(0, 12) : "unknown",
    git_dirty: readEnv("CORTEX_GIT_DIRTY") === "1",
    deno_version: Deno.version.deno,
    plugin_abi_version: pluginAbi,
    features: [...features],
  };
}

function _sys<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback; // --allow-sys not granted for this value
  }
}

/** The host and its devices for `/discovery` (memory totals in MB). */
export function buildDiscovery(
  devices: readonly DeviceInfo[],
  maxPromptTokens: number | null,
): NeuronDiscovery {
  const hasCuda = devices.some((d) => d.backend === "cuda");
  return {
    hostname: _sys(() => Deno.hostname(), "unknown"),
    os: Deno.build.os,
    kernel: _sys(() => Deno.osRelease(), "unknown"),
    devices: devices.map((d) => ({
      index: d.index,
      name: d.name,
      backend: d.backend,
      memory_total_mb: Math.floor(d.memoryTotalBytes / _MB),
      compute_capability: d.computeCapability,
      threads: d.threads,
    })),
    ...(hasCuda ? {} : {
      cuda_unavailable_reason: "no CUDA device: the plugin found no CUDA driver or was built without CUDA",
    }),
    max_prompt_tokens: maxPromptTokens ?? 0,
  };
}
