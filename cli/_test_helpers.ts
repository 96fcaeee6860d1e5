// Private test helpers: run `deno task -q <task> …` (so the tasks' own permission flags are
// what the tests exercise) and start `cortex up` on free ports with its state in a unique
// directory under .cache/cortex-up (the only place the `serve` task may write).
import { REPO_ROOT } from "./service.ts";

/** What a finished command printed. */
export interface RunResult {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** Env for the CLI under test: no inherited CORTEX_URL / key, no colours. */
export function _cliEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  // CORTEX_CUDA and CORTEX_NVCC_ARCHS too: `serve` rebuilds the plugin, which must find it as the suite built it.
  for (
    const name of [
      "PATH",
      "HOME",
      "TMPDIR",
      "DENO_DIR",
      "HF_HOME",
      "HF_HUB_CACHE",
      "CORTEX_CUDA",
      "CORTEX_NVCC_ARCHS",
    ]
  ) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}

/** `deno task -q <task> ...args`, run to completion with `stdin` (default: empty). */
export async function runTask(
  task: string,
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<RunResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", task, ...args],
    cwd: REPO_ROOT,
    clearEnv: true,
    env: _cliEnv(options.env),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  if (options.stdin) await writer.write(new TextEncoder().encode(options.stdin));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** `cortex …` through the `cortex` task. */
export function runCortex(
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<RunResult> {
  return runTask("cortex", args, options);
}

/** A long-running task process whose output is collected as it arrives. */
export interface LiveTask {
  /** The process (`deno task`, which forwards signals to the CLI). */
  process: Deno.ChildProcess;
  /** Stdout so far. */
  stdout(): string;
  /** Stderr so far. */
  stderr(): string;
  /** Waits until `pattern` matches stdout (rejects with both outputs after `timeoutMs`, or if it exits). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Sends `signal` and waits for the exit status. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/** Starts `deno task -q <task> ...args` and collects its output. */
export function startTask(
  task: string,
  args: string[],
  options: { env?: Record<string, string> } = {},
): LiveTask {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", task, ...args],
    cwd: REPO_ROOT,
    clearEnv: true,
    env: _cliEnv(options.env),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let err = "";
  let exited = false;
  const pump = async (stream: ReadableStream<Uint8Array>, add: (text: string) => void): Promise<void> => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) add(text);
  };
  const pumps = Promise.all([
    pump(process.stdout, (t) => (out += t)),
    pump(process.stderr, (t) => (err += t)),
  ]);
  const status = process.status.then(async (s) => {
    exited = true;
    await pumps;
    return s;
  });
  return {
    process,
    stdout: () => out,
    stderr: () => err,
    async waitFor(pattern, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = pattern.exec(out);
        if (match) return match;
        if (exited || Date.now() > deadline) {
          throw new Error(
            `${exited ? "exited" : "timed out"} before ${pattern}\nstdout:\n${out}\nstderr:\n${err}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop(signal: Deno.Signal = "SIGTERM") {
      if (!exited) {
        try {
          process.kill(signal);
        } catch {
          // already gone
        }
      }
      return await status;
    },
  };
}

/** A `cortex up` stack for tests. */
export interface UpStack {
  /** The gateway URL. */
  url: string;
  /** The neuron URL. */
  neuronUrl: string;
  /** The model id it serves. */
  model: string;
  /** The `cortex up` process. */
  task: LiveTask;
  /** Stops it (SIGTERM) and removes its state dir; returns the exit status. */
  stop(): Promise<Deno.CommandStatus>;
}

/**
 * Starts `deno task serve` (= `cortex up`) on free ports and waits until its model is loaded; `stateDir`
 * (default: a fresh folder under `.cache/cortex-up`) and `args` (e.g. `--name`) as given.
 */
export async function startUp(options: { stateDir?: string; args?: string[] } = {}): Promise<UpStack> {
  const stateDir = options.stateDir ?? `.cache/cortex-up/test-${crypto.randomUUID().slice(0, 8)}`;
  const task = startTask("serve", [
    "--port",
    "0",
    "--neuron-port",
    "0",
    "--state-dir",
    stateDir,
    ...(options.args ?? []),
  ]);
  try {
    const gateway = await task.waitFor(/gateway listening on (http:\/\/\S+)/);
    const neuron = await task.waitFor(/neuron listening on (http:\/\/\S+)/);
    const ready = await task.waitFor(/ready: (\S+) is loaded/);
    return {
      url: gateway[1],
      neuronUrl: neuron[1],
      model: ready[1],
      task,
      async stop() {
        const status = await task.stop("SIGTERM");
        const absolute = stateDir.startsWith("/") ? stateDir : `${REPO_ROOT}/${stateDir}`;
        await Deno.remove(absolute, { recursive: true }).catch(() => {});
        return status;
      },
    };
  } catch (error) {
    await task.stop("SIGTERM");
    await Deno.remove(stateDir.startsWith("/") ? stateDir : `${REPO_ROOT}/${stateDir}`, { recursive: true })
      .catch(() => {});
    throw error;
  }
}

/** A loopback port nothing listens on (bound, then released). */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Whether something accepts connections at `url`. */
export async function isListening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  try {
    const conn = await Deno.connect({ hostname, port: Number(port) });
    conn.close();
    return true;
  } catch {
    return false;
  }
}
