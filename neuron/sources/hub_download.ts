/**
 * Fetches a model repository from a Hugging Face-compatible registry into the hub cache
 * layout: the file list from `/api/models/{repo}/revision/{rev}`, each file from
 * `/{repo}/resolve/{commit}/{path}` into `blobs/<etag>` (resuming a `.incomplete` file with
 * a `Range` request), linked from `snapshots/<commit>/<path>`, and `refs/<rev>` written last.
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import type { LoadProgress } from "@cortex/core/fleet";
import { findCachedSnapshot, repoCacheDir } from "./hub_cache.ts";
import { ggufShards, selectGgufFile } from "./gguf_select.ts";

/** Options of {@linkcode downloadSnapshot}. */
export interface HubDownloadOptions {
  /** Registry base URL, e.g. `https://huggingface.co`. */
  endpoint: string;
  /** `org/name`. */
  repo: string;
  /** Branch, tag or commit (default `main`). */
  revision?: string;
  /** Hub cache directory. */
  cacheDir: string;
  /** Bearer token for private repositories, or null. */
  token?: string | null;
  /** Called as bytes arrive. */
  onProgress?: (progress: LoadProgress) => void;
  /** Cancels the download (partial files are kept for a later resume). */
  signal?: AbortSignal;
  /**
   * Which repository files to fetch (default: {@linkcode isModelFile}, or for a repository
   * with `.gguf` files and no safetensors, the `.gguf` that `quant` chooses plus those files).
   */
  include?: (path: string) => boolean;
  /** For a GGUF-only repository, which `.gguf` to fetch (see {@linkcode selectGgufFile}). */
  quant?: string | null;
  /** `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
  /**
   * Called with the parsed `config.json` once it is in the snapshot and before any other file is
   * fetched (not for a GGUF-only repository); a throw stops the download there, e.g. to refuse a
   * model that cannot fit before its weights arrive.
   */
  onConfig?: (config: Record<string, unknown>) => void | Promise<void>;
}

/** A repository file listed by the registry. */
interface _Sibling {
  path: string;
  size: number | null;
  blobId: string | null;
}

/**
 * The files a neuron needs from a repository: configs, tokenizer files, chat templates and
 * safetensors weights (not `.bin`, `.gguf`, ONNX or original checkpoints).
 */
export function isModelFile(path: string): boolean {
  if (path.includes("/")) return false;
  return /\.(json|jinja|safetensors|txt|model)$/.test(path);
}

/** A repository with top-level `.gguf` files and no safetensors. */
function _isGgufOnly(siblings: readonly _Sibling[]): boolean {
  const top = siblings.map((s) => s.path).filter((p) => !p.includes("/"));
  return top.some((p) => p.toLowerCase().endsWith(".gguf")) && !top.some((p) => p.endsWith(".safetensors"));
}

/** The chosen `.gguf` (every shard of it) and the small model files beside it. */
function _ggufFiles(siblings: readonly _Sibling[], options: HubDownloadOptions): (path: string) => boolean {
  const top = siblings.map((s) => s.path).filter((p) => !p.includes("/"));
  const chosen = new Set(ggufShards(selectGgufFile(top, options.quant ?? null, options.repo), top));
  return (path) => chosen.has(path) || (isModelFile(path) && !path.endsWith(".safetensors"));
}

function _hubError(message: string, status: number, code: string): CortexError {
  return new CortexError(message, { code, status });
}

/**
 * Downloads (or completes) a snapshot and returns its folder. Files already in the
 * snapshot are skipped, so a repeated call only checks the listing.
 *
 * @example
 * ```ts
 * import { downloadSnapshot } from "./hub_download.ts";
 * const folder = await downloadSnapshot({
 *   endpoint: "https://huggingface.co",
 *   repo: "Qwen/Qwen3-0.6B",
 *   cacheDir: "/var/lib/neuron/hub",
 *   onProgress: (p) => console.log(p.done_bytes, p.total_bytes),
 * });
 * ```
 */
export async function downloadSnapshot(options: HubDownloadOptions): Promise<string> {
  const doFetch = options.fetch ?? fetch;
  const revision = options.revision ?? "main";
  const endpoint = options.endpoint.replace(/\/+$/, "");
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  const { commit, siblings } = await _listing(
    doFetch,
    endpoint,
    options.repo,
    revision,
    headers,
    options.signal,
  );
  const ggufOnly = options.include === undefined && _isGgufOnly(siblings);
  const include = options.include ?? (ggufOnly ? _ggufFiles(siblings, options) : isModelFile);
  // config.json first, so onConfig can stop the download before a weight byte arrives.
  const files = siblings.filter((s) => include(s.path))
    .sort((a, b) => Number(b.path === "config.json") - Number(a.path === "config.json"));
  if (!ggufOnly && !files.some((f) => f.path === "config.json")) {
    throw _hubError(
      `hub repository ${options.repo} has no config.json: not a model repository`,
      422,
      "bad_model_folder",
    );
  }
  const repoDir = repoCacheDir(options.cacheDir, options.repo);
  const snapshot = `${repoDir}/snapshots/${commit}`;
  await Deno.mkdir(`${repoDir}/blobs`, { recursive: true });
  await Deno.mkdir(snapshot, { recursive: true });
  const sizes = files.map((f) => f.size);
  const progress: LoadProgress = {
    phase: "downloading",
    done_bytes: 0,
    total_bytes: sizes.every((s) => s !== null) ? sizes.reduce((a, b) => a! + b!, 0) : null,
    files_done: 0,
    files_total: files.length,
  };
  const report = (): void => options.onProgress?.({ ...progress });
  report();
  for (const file of files) {
    const target = `${snapshot}/${file.path}`;
    if (await _exists(target)) {
      progress.done_bytes += file.size ?? (await Deno.stat(target)).size;
    } else {
      await _fetchFile(doFetch, {
        url: `${endpoint}/${options.repo}/resolve/${commit}/${encodeURI(file.path)}`,
        headers,
        file,
        repoDir,
        target,
        signal: options.signal,
        onBytes: (n) => {
          progress.done_bytes += n;
          report();
        },
      });
    }
    progress.files_done++;
    report();
    if (file.path === "config.json" && !ggufOnly && options.onConfig) {
      await options.onConfig(await _readConfig(target, options.repo));
    }
  }
  await Deno.mkdir(`${repoDir}/refs`, { recursive: true });
  if (revision !== commit) await Deno.writeTextFile(`${repoDir}/refs/${revision}`, commit);
  const found = await findCachedSnapshot(options.cacheDir, options.repo, revision);
  return found ?? snapshot;
}

async function _readConfig(path: string, repo: string): Promise<Record<string, unknown>> {
  let config: unknown = null;
  try {
    config = JSON.parse(await Deno.readTextFile(path));
  } catch {
    // reported below
  }
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw _hubError(`hub repository ${repo}: config.json is not a JSON object`, 422, "bad_model_folder");
  }
  return config as Record<string, unknown>;
}

async function _listing(
  doFetch: typeof fetch,
  endpoint: string,
  repo: string,
  revision: string,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
): Promise<{ commit: string; siblings: _Sibling[] }> {
  const url = `${endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
  let response: Response;
  try {
    response = await doFetch(url, { headers, signal });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw _hubError(
      `hub ${endpoint} unreachable for ${repo}: ${(error as Error).message}`,
      502,
      "hub_unreachable",
    );
  }
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    throw _hubError(
      `hub ${endpoint} refused access to ${repo} (HTTP ${response.status}); set the token env var named by hub.token_env`,
      403,
      "permission_denied",
    );
  }
  if (response.status === 404) {
    await response.body?.cancel();
    throw _hubError(`hub ${endpoint} has no model ${repo} at revision ${revision}`, 404, "model_not_found");
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw _hubError(
      `hub ${endpoint} answered HTTP ${response.status} listing ${repo}`,
      502,
      "hub_unreachable",
    );
  }
  const body = await response.json().catch(() => null);
  const commit = typeof body?.sha === "string" && /^[0-9a-zA-Z._-]+$/.test(body.sha) ? body.sha : null;
  if (commit === null || !Array.isArray(body?.siblings)) {
    throw _hubError(`hub ${endpoint} listing of ${repo} lacks "sha" or "siblings"`, 502, "hub_unreachable");
  }
  const siblings: _Sibling[] = [];
  for (const entry of body.siblings) {
    const path = entry?.rfilename;
    if (
      typeof path !== "string" || path.split("/").some((p: string) => p === ".." || p === "" || p === ".")
    ) continue;
    const lfs = entry.lfs;
    siblings.push({
      path,
      size: typeof lfs?.size === "number" ? lfs.size : typeof entry.size === "number" ? entry.size : null,
      blobId: typeof lfs?.sha256 === "string"
        ? lfs.sha256
        : typeof entry.blobId === "string"
        ? entry.blobId
        : null,
    });
  }
  return { commit, siblings };
}

interface _FetchFile {
  url: string;
  headers: Record<string, string>;
  file: _Sibling;
  repoDir: string;
  target: string;
  signal: AbortSignal | undefined;
  onBytes: (n: number) => void;
}

async function _fetchFile(doFetch: typeof fetch, job: _FetchFile): Promise<void> {
  const blobId = job.file.blobId ?? (await _headEtag(doFetch, job));
  if (!/^[0-9a-zA-Z._-]+$/.test(blobId)) {
    throw _hubError(`hub gave an unusable etag for ${job.file.path}`, 502, "hub_unreachable");
  }
  const blob = `${job.repoDir}/blobs/${blobId}`;
  if (!(await _exists(blob))) {
    const partial = `${blob}.incomplete`;
    let have = 0;
    try {
      have = (await Deno.stat(partial)).size;
    } catch {
      have = 0;
    }
    const headers = { ...job.headers, ...(have > 0 ? { range: `bytes=${have}-` } : {}) };
    let response: Response;
    try {
      response = await doFetch(job.url, { headers, signal: job.signal });
    } catch (error) {
      if (job.signal?.aborted) throw error;
      throw _hubError(
        `download of ${job.file.path} failed: ${(error as Error).message}`,
        502,
        "hub_unreachable",
      );
    }
    if (response.status === 416 && job.file.size !== null && have === job.file.size) {
      await response.body?.cancel(); // the partial file is already complete
    } else if (response.status !== 200 && response.status !== 206) {
      await response.body?.cancel();
      throw _hubError(`download of ${job.file.path} failed: HTTP ${response.status}`, 502, "hub_unreachable");
    } else {
      const resume = response.status === 206;
      if (resume) job.onBytes(have);
      const out = await Deno.open(partial, { write: true, create: true, append: resume, truncate: !resume });
      try {
        for await (const chunk of response.body ?? new ReadableStream<Uint8Array>()) {
          let written = 0;
          while (written < chunk.length) written += await out.write(chunk.subarray(written));
          job.onBytes(chunk.length);
        }
      } catch (error) {
        if (job.signal?.aborted) throw error;
        throw _hubError(
          `download of ${job.file.path} was interrupted (${
            (error as Error).message
          }); the partial file is kept for resume`,
          502,
          "hub_unreachable",
        );
      } finally {
        out.close();
      }
    }
    const size = (await Deno.stat(partial)).size;
    if (job.file.size !== null && size !== job.file.size) {
      throw _hubError(
        `download of ${job.file.path} is incomplete: ${size} of ${job.file.size} bytes (kept for resume)`,
        502,
        "hub_unreachable",
      );
    }
    await Deno.rename(partial, blob);
  } else {
    job.onBytes(job.file.size ?? (await Deno.stat(blob)).size);
  }
  const depth = job.file.path.split("/").length - 1;
  if (depth > 0) await Deno.mkdir(job.target.slice(0, job.target.lastIndexOf("/")), { recursive: true });
  const relative = `${"../".repeat(depth + 2)}blobs/${blobId}`;
  try {
    await Deno.symlink(relative, job.target);
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return;
    await Deno.copyFile(blob, job.target); // file systems without symlinks
  }
}

async function _headEtag(doFetch: typeof fetch, job: _FetchFile): Promise<string> {
  const response = await doFetch(job.url, {
    method: "HEAD",
    headers: job.headers,
    redirect: "manual",
    signal: job.signal,
  });
  await response.body?.cancel();
  const etag = response.headers.get("x-linked-etag") ?? response.headers.get("etag");
  if (!etag) throw _hubError(`hub gave no etag for ${job.file.path}`, 502, "hub_unreachable");
  return etag.replace(/^W\//, "").replaceAll('"', "");
}

async function _exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
