/**
 * The Hugging Face hub cache layout (`models--org--name/{refs,blobs,snapshots}`) shared with
 * `huggingface_hub` and other tools: where the cache is, and which snapshot a cached
 * repository resolves to without touching the network.
 *
 * @module
 */

/** Environment lookup (a function, so tests and scoped permissions stay explicit). */
export type EnvLookup = (name: string) => string | undefined;

/** Reads an env var, treating a missing permission as unset. */
export function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * The cache directory: the configured one, else `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
 * `$HOME/.cache/huggingface/hub`.
 *
 * @example
 * ```ts
 * import { resolveHubCacheDir } from "./hub_cache.ts";
 * resolveHubCacheDir(null, (name) => ({ HF_HOME: "/data/hf" })[name]); // "/data/hf/hub"
 * ```
 */
export function resolveHubCacheDir(configured: string | null, env: EnvLookup = readEnv): string {
  if (configured) return configured;
  const hubCache = env("HF_HUB_CACHE");
  if (hubCache) return hubCache;
  const hfHome = env("HF_HOME");
  if (hfHome) return `${hfHome.replace(/\/+$/, "")}/hub`;
  const home = env("HOME") ?? "/root";
  return `${home.replace(/\/+$/, "")}/.cache/huggingface/hub`;
}

/** The cache folder of a repository: `<cache>/models--org--name`. */
export function repoCacheDir(cacheDir: string, repo: string): string {
  return `${cacheDir.replace(/\/+$/, "")}/models--${repo.split("/").join("--")}`;
}

/**
 * The snapshot folder a cached repository's `refs/<revision>` points to, when it exists and
 * holds a `config.json`; null otherwise.
 */
export async function findCachedSnapshot(
  cacheDir: string,
  repo: string,
  revision = "main",
): Promise<string | null> {
  const dir = repoCacheDir(cacheDir, repo);
  let commit = revision;
  try {
    commit = (await Deno.readTextFile(`${dir}/refs/${revision}`)).trim();
  } catch {
    // a revision that is itself a commit hash has no ref file
  }
  const snapshot = `${dir}/snapshots/${commit}`;
  try {
    const config = await Deno.stat(`${snapshot}/config.json`);
    return config.isFile ? snapshot : null;
  } catch {
    return null;
  }
}
