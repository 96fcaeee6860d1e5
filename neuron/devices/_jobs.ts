/**
 * The completion queue: device jobs are submitted with synchronous FFI calls that return a job id,
 * and one loop keeps exactly one nonblocking `cx_wait_any` call in flight, resolving the promise of
 * each job it reports. Any number of awaits thus costs one thread of Deno's blocking pool.
 * @module
 */

import { CX, type PluginLibrary, readCString } from "./_ffi.ts";
import { codeForStatus, PluginError } from "./errors.ts";

/** The results of a finished job. */
export interface JobOutput {
  ints: BigInt64Array;
  floats: Float32Array;
}

/** A synchronous submit call: writes the job id into `outJob`, error text into `err`; returns a status. */
export type SubmitCall = (outJob: Int32Array, err: Uint8Array, errCap: number) => number;

interface Waiter {
  resolve: (output: JobOutput) => void;
  reject: (error: PluginError) => void;
}

const WAIT_TIMEOUT_MS = 1000;
const ERROR_CAP = 4096;

/** Tracks jobs of one runtime and resolves them as the native side finishes them. */
export class JobQueue {
  readonly #lib: PluginLibrary;
  readonly #runtime: number;
  readonly #waiters = new Map<number, Waiter>();
  readonly #ids = new Int32Array(256);
  readonly #sizes = new BigInt64Array(3);
  readonly #err = new Uint8Array(ERROR_CAP);
  readonly #outJob = new Int32Array(1);
  #looping = false;
  #closed = false;
  #onIdleAfterClose: (() => void) | null = null;

  constructor(lib: PluginLibrary, runtime: number) {
    this.#lib = lib;
    this.#runtime = runtime;
  }

  /** Jobs submitted and not yet settled. */
  get pending(): number {
    return this.#waiters.size;
  }

  /** True while a `cx_wait_any` call is in flight. */
  get waiting(): boolean {
    return this.#looping;
  }

  /** Submits a job; a synchronous failure (bad handle, poisoned device) rejects at once. */
  submit(call: SubmitCall): Promise<JobOutput> {
    if (this.#closed) return Promise.reject(new PluginError("internal", "the plugin is closed"));
    const status = call(this.#outJob, this.#err, ERROR_CAP);
    if (status !== CX.OK) {
      return Promise.reject(new PluginError(codeForStatus(status), readCString(this.#err)));
    }
    const job = this.#outJob[0];
    const promise = new Promise<JobOutput>((resolve, reject) => this.#waiters.set(job, { resolve, reject }));
    if (!this.#looping) this.#loop().catch((error) => this.#failAll(error));
    return promise;
  }

  /** Rejects every pending job; `onIdle` runs once no wait call is in flight any more. */
  close(onIdle: () => void): void {
    this.#closed = true;
    const error = new PluginError("internal", "the plugin was closed before this job finished");
    for (const waiter of this.#waiters.values()) waiter.reject(error);
    this.#waiters.clear();
    if (this.#looping) this.#onIdleAfterClose = onIdle;
    else onIdle();
  }

  async #loop(): Promise<void> {
    this.#looping = true;
    try {
      while (this.#waiters.size > 0 && !this.#closed) {
        const count = await this.#lib.symbols.cx_wait_any(
          this.#runtime,
          this.#ids,
          this.#ids.length,
          WAIT_TIMEOUT_MS,
        );
        if (count < 0) {
          // The runtime was closed natively (an exit listener): nothing will ever report these jobs.
          this.#failAll(new Error("the plugin runtime was closed"));
          break;
        }
        if (this.#closed) break;
        for (let i = 0; i < count; i++) this.#finish(this.#ids[i]);
      }
    } finally {
      this.#looping = false;
      if (this.#closed && this.#onIdleAfterClose) {
        const onIdle = this.#onIdleAfterClose;
        this.#onIdleAfterClose = null;
        onIdle();
      }
    }
  }

  #failAll(error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    const failure = new PluginError("internal", `waiting for device jobs failed: ${reason}`);
    for (const waiter of this.#waiters.values()) waiter.reject(failure);
    this.#waiters.clear();
  }

  #finish(job: number): void {
    const lib = this.#lib.symbols;
    const status = lib.cx_job_sizes(this.#runtime, job, this.#sizes, this.#err, ERROR_CAP);
    const waiter = this.#waiters.get(job);
    this.#waiters.delete(job);
    if (status !== CX.OK) {
      waiter?.reject(new PluginError(codeForStatus(status), readCString(this.#err)));
      return;
    }
    const jobStatus = Number(this.#sizes[0]);
    const ints = new BigInt64Array(Number(this.#sizes[1]));
    const floats = new Float32Array(Number(this.#sizes[2]));
    const message = jobStatus === CX.OK ? "" : readCString(this.#err);
    lib.cx_job_take(this.#runtime, job, ints, BigInt(ints.length), floats, BigInt(floats.length));
    if (jobStatus === CX.OK) waiter?.resolve({ ints, floats });
    else waiter?.reject(new PluginError(codeForStatus(jobStatus), message));
  }
}
