/**
 * The live catalogue: `models.toml` is read again when it changes (a file watch, debounced,
 * that follows editors which replace the file) and on demand (SIGHUP), validated with the same
 * schema as at start, and swapped into the fleet whole. A file that does not parse or
 * validate — or has gone — leaves the previous catalogue serving, and the reason goes to
 * stderr. Requests already routed are unaffected either way.
 *
 * @module
 */
import { type ModelsConfig, parseModelsConfig } from "@cortex/core/config";
import { Catalogue } from "./catalogue.ts";

/** Reloader settings. */
export interface CatalogueReloaderOptions {
  /** Installs a new catalogue (e.g. `fleet.replaceCatalogue`). */
  apply: (catalogue: Catalogue) => void;
  /** Quiet time after the last change before the file is read, in ms (default 200). */
  debounceMs?: number;
  /** Where outcome lines go (default `console.error`); null for none. */
  log?: ((line: string) => void) | null;
  /** Called after each reload with its outcome (metrics). */
  onOutcome?: (outcome: "applied" | "rejected") => void;
}

/** The outcome of one reload. */
export type ReloadOutcome =
  | { status: "applied"; config: ModelsConfig }
  | { status: "unchanged" }
  | { status: "rejected"; reason: string };

/** Reloads `models.toml` into the fleet on change and on request. */
export class CatalogueReloader {
  readonly #path: string;
  readonly #options: Required<Omit<CatalogueReloaderOptions, "log" | "onOutcome">> & CatalogueReloaderOptions;
  #text: string | null = null;
  #watcher: Deno.FsWatcher | null = null;
  #watchedIno: number | null = null;
  #debounce: ReturnType<typeof setTimeout> | null = null;
  #wakeRetry: (() => void) | null = null;
  #closed = false;
  #loop: Promise<void> | null = null;
  #reloading: Promise<ReloadOutcome> = Promise.resolve({ status: "unchanged" });

  /** A reloader for the file at `path` (the catalogue it serves now is taken as current). */
  constructor(path: string, options: CatalogueReloaderOptions) {
    this.#path = path;
    this.#options = { debounceMs: 200, ...options };
  }

  /**
   * Reads and validates the file and installs it. `force` (SIGHUP) reinstalls and logs even
   * when the text is the one already serving; a change seen by the watcher does not.
   * Reloads run one at a time, in order.
   */
  reload(reason: string, force = false): Promise<ReloadOutcome> {
    this.#reloading = this.#reloading.then(() => this.#reloadNow(reason, force));
    return this.#reloading;
  }

  /** Starts watching the file (re-arming when it is replaced, waiting while it is missing). */
  watch(): void {
    if (this.#loop !== null || this.#closed) return;
    this.#loop = this.#watchLoop();
  }

  /** Stops watching; resolves once the watch has ended. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#debounce !== null) clearTimeout(this.#debounce);
    this.#wakeRetry?.();
    _close(this.#watcher);
    await this.#loop;
    await this.#reloading;
  }

  async #reloadNow(reason: string, force: boolean): Promise<ReloadOutcome> {
    const log = this.#options.log === undefined ? console.error : this.#options.log;
    let text: string;
    try {
      text = await Deno.readTextFile(this.#path);
    } catch (error) {
      const why = error instanceof Deno.errors.NotFound
        ? "the file is gone"
        : `cannot read it: ${error instanceof Error ? error.message : String(error)}`;
      return this.#rejected(`${this.#path}: ${why}`, reason, log);
    }
    if (!force && text === this.#text) return { status: "unchanged" };
    let config: ModelsConfig;
    try {
      config = parseModelsConfig(text, { file: this.#path });
    } catch (error) {
      this.#text = text; // not retried until it changes again
      return this.#rejected(error instanceof Error ? error.message : String(error), reason, log);
    }
    this.#text = text;
    this.#options.apply(new Catalogue(config));
    this.#options.onOutcome?.("applied");
    const aliases = Object.keys(config.aliases).length;
    log?.(
      `cortex gateway: ${this.#path} reloaded (${reason}): ${config.models.length} model${
        config.models.length === 1 ? "" : "s"
      }, ${aliases} alias${aliases === 1 ? "" : "es"}${config.allow_unlisted ? ", allow_unlisted" : ""}`,
    );
    return { status: "applied", config };
  }

  #rejected(why: string, reason: string, log: ((line: string) => void) | null): ReloadOutcome {
    this.#options.onOutcome?.("rejected");
    log?.(
      `cortex gateway: models.toml not reloaded (${reason}); the previous catalogue keeps serving: ${why}`,
    );
    return { status: "rejected", reason: why };
  }

  async #watchLoop(): Promise<void> {
    // The text serving now is the baseline: the first change event compares against it.
    this.#text = await Deno.readTextFile(this.#path).catch(() => null);
    while (!this.#closed) {
      let ino: number | null;
      try {
        ino = (await Deno.stat(this.#path)).ino;
        this.#watcher = Deno.watchFs(this.#path, { recursive: false });
      } catch {
        // Missing (or being replaced): look again shortly (at once when closing).
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 500);
          this.#wakeRetry = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wakeRetry = null;
        continue;
      }
      this.#watchedIno = ino;
      // A file that appeared or was replaced while unwatched may hold a change nobody saw
      // (an unchanged text is not reloaded).
      this.#schedule();
      try {
        for await (const event of this.#watcher) {
          if (event.kind === "access" || event.kind === "other") continue;
          this.#schedule();
          if (event.kind === "remove" || event.kind === "rename") break;
        }
      } catch {
        // The watch failed (e.g. the file went away): set it up again.
      }
      _close(this.#watcher);
      this.#watcher = null;
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    if (this.#debounce !== null) clearTimeout(this.#debounce);
    this.#debounce = setTimeout(async () => {
      this.#debounce = null;
      await this.reload("file changed");
      // An editor that writes a new file and renames it over the old one leaves the watch on
      // the old inode: watch the path again.
      const ino = await Deno.stat(this.#path).then((s) => s.ino, () => null);
      if (ino !== this.#watchedIno) _close(this.#watcher);
    }, this.#options.debounceMs);
  }
}

function _close(watcher: Deno.FsWatcher | null): void {
  try {
    watcher?.close();
  } catch {
    // already closed
  }
}
