/**
 * Prompt work off the neuron's main thread: a request body past a small size is parsed,
 * validated, rendered through the chat template and tokenised in one of a few workers, so a
 * multi-megabyte prompt never stalls the streams the main thread is serving. Smaller bodies run
 * inline (a worker round trip would cost more than the work). Both paths run the same
 * {@linkcode PROMPT_JOBS} functions, so they give the same tokens.
 *
 * @module
 */
import { CortexError, toCortexError } from "@cortex/core/errors";
import { PROMPT_JOBS, type PromptJobName, type PromptModelView, type PromptRoute } from "./jobs.ts";
import type { WorkerReply, WorkerRequest } from "./_protocol.ts";
import { decodeError, decodeResult } from "./_protocol.ts";

type _Job<K extends PromptJobName> = (typeof PROMPT_JOBS)[K];
/** The request type of route `K`. */
export type PromptRequestOf<K extends PromptJobName> = _Job<K> extends PromptRoute<infer R, unknown, unknown>
  ? R
  : never;
/** The build options of route `K`. */
export type PromptOptionsOf<K extends PromptJobName> = Parameters<_Job<K>["build"]>[2];
/** The build result of route `K`. */
export type PromptResultOf<K extends PromptJobName> = ReturnType<_Job<K>["build"]>;

/** A model the pool can build prompts for: its view, and the folder (or `.gguf`) its assets come from. */
export interface PoolModel extends PromptModelView {
  /** The model folder or `.gguf` file its tokenizer and template were read from. */
  readonly folder: string;
}

/** A parsed request waiting for its model's prompt. */
export interface PromptJob<K extends PromptJobName> {
  /** The validated request (from a worker: without its messages or input). */
  readonly request: PromptRequestOf<K>;
  /** Whether the work runs in a worker. */
  readonly offThread: boolean;
  /** Renders and tokenises the prompt for `model`. */
  build(model: PoolModel, options: PromptOptionsOf<K>): Promise<PromptResultOf<K>>;
  /** Drops the parsed request when no prompt will be built (e.g. the model is not loaded). */
  release(): void;
}

/** Options of {@linkcode PromptPool}. */
export interface PromptPoolOptions {
  /** Workers started at most (default 2). */
  workers?: number;
  /** Bodies smaller than this many bytes are handled on the calling thread (default 32 KiB). */
  inlineBelowBytes?: number;
}

/**
 * A small pool of prompt workers, started on first use.
 *
 * @example
 * ```ts ignore
 * const pool = new PromptPool();
 * const job = await pool.parse("chat", bytes);
 * const model = registry.acquire(job.request.model);
 * const prompt = await job.build(model, { inlineThinking: false });
 * pool.close();
 * ```
 */
export class PromptPool {
  readonly #size: number;
  readonly #inlineBelow: number;
  readonly #workers: _PromptWorker[] = [];
  readonly #modelKeys = new WeakMap<PoolModel, string>();
  #nextModelKey = 1;
  #closed = false;

  /** A pool; no worker starts until a large body arrives. */
  constructor(options: PromptPoolOptions = {}) {
    this.#size = Math.max(1, options.workers ?? 2);
    this.#inlineBelow = options.inlineBelowBytes ?? 32 * 1024;
  }

  /** Parses a body for route `name`: inline when small, else in a worker (the bytes move there). */
  async parse<K extends PromptJobName>(name: K, bytes: Uint8Array<ArrayBuffer>): Promise<PromptJob<K>> {
    if (bytes.byteLength < this.#inlineBelow || this.#closed) return _inlineJob(name, bytes);
    const worker = this.#pickWorker();
    const id = worker.nextId();
    const request = await worker.call({ type: "parse", id, name, bytes }, [bytes.buffer]);
    let open = true;
    return {
      request: request as PromptRequestOf<K>,
      offThread: true,
      build: async (model, options) => {
        open = false;
        const source = {
          key: this.#keyOf(model),
          path: model.folder,
          maxPromptTokens: model.maxPromptTokens,
        };
        const reply = await worker.call({
          type: "build",
          id,
          model: { ...source, vocabSize: model.vocabSize },
          options,
        });
        return decodeResult(reply) as PromptResultOf<K>;
      },
      release: () => {
        if (open) worker.post({ type: "release", id });
        open = false;
      },
    };
  }

  /** Starts every worker now, so the first large body does not wait for one to load its modules. */
  warm(): void {
    while (!this.#closed && this.#workers.length < this.#size) this.#workers.push(new _PromptWorker());
  }

  /** Stops every worker; later bodies are handled inline. */
  close(): void {
    this.#closed = true;
    for (const worker of this.#workers.splice(0)) worker.terminate();
  }

  #pickWorker(): _PromptWorker {
    const live = this.#workers.filter((w) => !w.dead);
    this.#workers.splice(0, this.#workers.length, ...live);
    const idle = live.find((w) => w.pending === 0);
    if (idle) return idle;
    if (live.length < this.#size) {
      const worker = new _PromptWorker();
      this.#workers.push(worker);
      return worker;
    }
    return live.reduce((a, b) => (b.pending < a.pending ? b : a));
  }

  #keyOf(model: PoolModel): string {
    let key = this.#modelKeys.get(model);
    if (key === undefined) {
      key = `${this.#nextModelKey++}:${model.folder}`;
      this.#modelKeys.set(model, key);
    }
    return key;
  }
}

function _inlineJob<K extends PromptJobName>(name: K, bytes: Uint8Array): PromptJob<K> {
  const job = PROMPT_JOBS[name] as unknown as PromptRoute<
    PromptRequestOf<K>,
    PromptOptionsOf<K>,
    PromptResultOf<K>
  >;
  const request = job.parse(bytes);
  return {
    request,
    offThread: false,
    build: (model, options) => Promise.resolve().then(() => job.build(model, request, options)),
    release: () => {},
  };
}

/** One worker and its calls in flight. */
class _PromptWorker {
  readonly #worker: Worker;
  readonly #calls = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: unknown) => void }
  >();
  #nextId = 1;
  dead = false;

  constructor() {
    this.#worker = new Worker(new URL("./_worker.ts", import.meta.url), { type: "module" });
    this.#worker.onmessage = (event: MessageEvent<WorkerReply>) => {
      const reply = event.data;
      const call = this.#calls.get(reply.id);
      if (!call) return;
      this.#calls.delete(reply.id);
      if (reply.ok) call.resolve(reply.value);
      else call.reject(decodeError(reply.error));
    };
    this.#worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.dead = true;
      const error = new CortexError(`prompt worker failed: ${event.message}`, {
        code: "internal_error",
        status: 500,
      });
      for (const call of this.#calls.values()) call.reject(error);
      this.#calls.clear();
      this.#worker.terminate();
    };
  }

  get pending(): number {
    return this.#calls.size;
  }

  nextId(): number {
    return this.#nextId++;
  }

  call(message: WorkerRequest, transfer: Transferable[] = []): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.dead) return reject(toCortexError(new Error("prompt worker is gone")));
      this.#calls.set(message.id, { resolve, reject });
      this.#worker.postMessage(message, transfer);
    });
  }

  post(message: WorkerRequest): void {
    if (!this.dead) this.#worker.postMessage(message);
  }

  terminate(): void {
    this.dead = true;
    this.#worker.terminate();
    const error = new CortexError("the prompt workers were stopped", { code: "shutting_down", status: 503 });
    for (const call of this.#calls.values()) call.reject(error);
    this.#calls.clear();
  }
}
