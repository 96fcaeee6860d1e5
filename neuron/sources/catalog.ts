/**
 * Which models a neuron offers and where their weights are: `[[models]]` entries (a local
 * folder, a `.gguf` file or a hub id), the sub-folders and `.gguf` files of `models_dir`,
 * and any hub id `[scheme:]org/name` asked for by a load request. Resolving a hub model
 * downloads it into the hub cache (or finds it there when offline); for a GGUF-only
 * repository only the `.gguf` that `quant` chooses is fetched.
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import type { NeuronConfig } from "@cortex/core/config";
import { type LoadProgress, parseHubModelId } from "@cortex/core/fleet";
import { findCachedSnapshot, readEnv, resolveHubCacheDir } from "./hub_cache.ts";
import { downloadSnapshot } from "./hub_download.ts";
import { isPrimaryGguf } from "./gguf_select.ts";

/** Where a model's files come from. */
export type ModelSource =
  | { kind: "folder"; path: string }
  | { kind: "hub"; id: string; repo: string };

/** A model the neuron can load. */
export interface CatalogEntry {
  /** The id clients use. */
  id: string;
  /** Its files. */
  source: ModelSource;
  /** KV context per sequence (null: the engine default). */
  contextLength: number | null;
  /** KV slots (null: the admission's `max_in_flight`). */
  maxSequences: number | null;
  /** Device indexes (null: the neuron picks). */
  devices: number[] | null;
  /** The configured `quant` (null: none; a load request's wins). */
  quant: string | null;
}

/** Hub schemes that mean the configured `[hub]`. */
const _HUB_SCHEMES = new Set(["hf", "huggingface"]);

/** The source as shown in `/models` (a folder path or a hub id). */
export function describeSource(source: ModelSource): string {
  return source.kind === "folder" ? source.path : source.id;
}

/**
 * The model catalogue of one neuron.
 *
 * @example
 * ```ts ignore
 * const catalog = new ModelCatalog(config);
 * const entry = await catalog.resolve("Qwen/Qwen3-0.6B"); // a hub entry even if not configured
 * const folder = await catalog.materialize(entry!, (p) => console.log(p.done_bytes));
 * ```
 */
export class ModelCatalog {
  readonly #config: NeuronConfig;
  readonly #cacheDir: string;
  readonly #token: string | null;

  /** Builds the catalogue; the hub token is read once from `hub.token_env`. */
  constructor(config: NeuronConfig) {
    this.#config = config;
    this.#cacheDir = resolveHubCacheDir(config.hub.cache_dir);
    this.#token = readEnv(config.hub.token_env) ?? null;
  }

  /** The hub cache directory in use. */
  get cacheDir(): string {
    return this.#cacheDir;
  }

  /** Configured models, then `models_dir` folders not shadowed by a configured id. */
  async list(): Promise<CatalogEntry[]> {
    const entries = this.#config.models.map((m) => this.#fromConfig(m));
    const ids = new Set(entries.map((e) => e.id));
    for (const name of await this.#scanModelsDir()) {
      const entry = this.#fromModelsDir(name);
      if (!ids.has(entry.id)) entries.push(entry);
    }
    return entries;
  }

  /** The entry for an id: configured, a `models_dir` folder, or a hub id; null when none fits. */
  async resolve(id: string): Promise<CatalogEntry | null> {
    const configured = this.#config.models.find((m) => m.id === id);
    if (configured) return this.#fromConfig(configured);
    if (this.#config.models_dir && !id.includes("/")) {
      const found = (await this.#scanModelsDir()).map((name) => this.#fromModelsDir(name)).find((e) =>
        e.id === id
      );
      if (found) return found;
    }
    const hub = parseHubModelId(id);
    if (hub === null) return null;
    if (hub.scheme !== null && !_HUB_SCHEMES.has(hub.scheme)) return null;
    return {
      id,
      source: { kind: "hub", id, repo: hub.repo },
      contextLength: null,
      maxSequences: null,
      devices: null,
      quant: null,
    };
  }

  /**
   * The local path of an entry (a folder or a `.gguf` file), downloading a hub model when
   * needed (`quant` picks the `.gguf` of a GGUF-only repository). With `hub.offline` or an
   * unreachable hub, a cached snapshot is used; without one the load fails. `onConfig` sees a
   * downloading model's `config.json` before its weights and may refuse it by throwing.
   */
  /** The entry's files if they are on this machine already (a folder, or a cached hub snapshot); null
   * when only a download would bring them. Never downloads. */
  async localPath(entry: CatalogEntry): Promise<string | null> {
    if (entry.source.kind === "folder") return entry.source.path;
    return await findCachedSnapshot(this.#cacheDir, entry.source.repo) ?? null;
  }

  async materialize(
    entry: CatalogEntry,
    onProgress?: (p: LoadProgress) => void,
    signal?: AbortSignal,
    quant: string | null = entry.quant,
    onConfig?: (config: Record<string, unknown>) => void | Promise<void>,
  ): Promise<string> {
    if (entry.source.kind === "folder") return entry.source.path;
    const repo = entry.source.repo;
    if (this.#config.hub.offline) {
      const cached = await findCachedSnapshot(this.#cacheDir, repo);
      if (cached) return cached;
      throw new CortexError(
        `model ${entry.id} is not in the hub cache and hub.offline is set`,
        {
          code: "model_not_found",
          status: 404,
        },
      );
    }
    try {
      return await downloadSnapshot({
        endpoint: this.#config.hub.endpoint,
        repo,
        cacheDir: this.#cacheDir,
        token: this.#token,
        onProgress,
        signal,
        quant,
        onConfig,
      });
    } catch (error) {
      if (error instanceof CortexError && error.code === "hub_unreachable") {
        const cached = await findCachedSnapshot(this.#cacheDir, repo);
        if (cached) return cached; // offline fallback: an already-cached snapshot still loads
      }
      throw error;
    }
  }

  #fromConfig(m: NeuronConfig["models"][number]): CatalogEntry {
    const source: ModelSource = m.path !== null
      ? { kind: "folder", path: m.path }
      : { kind: "hub", id: m.source!, repo: parseHubModelId(m.source!)!.repo };
    return {
      id: m.id,
      source,
      contextLength: m.context_length,
      maxSequences: m.max_sequences,
      devices: m.devices,
      quant: m.quant,
    };
  }

  #fromModelsDir(name: string): CatalogEntry {
    // A top-level `.gguf` file is offered under its name without the extension.
    const file = /\.gguf$/i.test(name) ? name : null;
    return {
      id: file ? file.replace(/\.gguf$/i, "").replace(/-00001-of-\d{5}$/, "") : name,
      source: { kind: "folder", path: `${this.#config.models_dir}/${name}` },
      contextLength: null,
      maxSequences: null,
      devices: null,
      quant: null,
    };
  }

  async #scanModelsDir(): Promise<string[]> {
    const dir = this.#config.models_dir;
    if (!dir) return [];
    const names: string[] = [];
    try {
      for await (const entry of Deno.readDir(dir)) {
        if (entry.isFile && isPrimaryGguf(entry.name)) {
          names.push(entry.name);
          continue;
        }
        if (!entry.isDirectory && !entry.isSymlink) continue;
        if (await _isModelFolder(`${dir}/${entry.name}`)) names.push(entry.name);
      }
    } catch {
      return [];
    }
    return names.sort();
  }
}

/** A folder with `config.json` (a Hugging Face model) or with a `.gguf` file. */
async function _isModelFolder(path: string): Promise<boolean> {
  try {
    if ((await Deno.stat(`${path}/config.json`)).isFile) return true;
  } catch {
    // no config.json: look for a .gguf
  }
  try {
    for await (const entry of Deno.readDir(path)) if (isPrimaryGguf(entry.name)) return true;
  } catch {
    // not a folder
  }
  return false;
}
