/**
 * Starting the gateway and the neuron as child processes: `deno run <scoped flags> <entry>`
 * from source, or the sibling `cortex-gateway` / `cortex-neuron` binary when the CLI itself
 * is a compiled binary (their permissions were fixed by `deno compile`). The child's stdout
 * is read line by line until its ready line, which gives the URL it listens on; later lines
 * are forwarded. Its stderr (the log) goes straight to ours. Children run in their own
 * session, so stop signals reach them only through us, once.
 *
 * @module
 */
import { CliError } from "./cli_error.ts";
import { LineSplitterStream } from "./lines.ts";
import { listenSignal } from "./signals.ts";

/** The repository root, when running from source. */
export const REPO_ROOT: string = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

/** What to start. */
export interface ServiceSpec {
  /** `gateway` or `neuron` (names the sibling binary `cortex-<kind>`). */
  kind: "gateway" | "neuron";
  /** Permission flags for `deno run` (ignored for a compiled binary). */
  flags: string[];
  /** Entry module, relative to the repository root. */
  entry: string;
  /** Arguments after the entry. */
  args: string[];
  /**
   * Recognises the ready line on stdout and returns what it announces (e.g. the URL), or
   * null for any other line.
   */
  ready: (line: string) => Record<string, string> | null;
  /** Called with every stdout line after the ready line (and non-ready lines before it). */
  onLine?: (line: string) => void;
}

/** A started service. */
export interface RunningService {
  /** `gateway` or `neuron`. */
  kind: string;
  /** The process. */
  process: Deno.ChildProcess;
  /** Resolves with the ready line's values; rejects when the process exits first. */
  ready: Promise<Record<string, string>>;
  /** Resolves when the process exits. */
  status: Promise<Deno.CommandStatus>;
  /** Whether it has exited. */
  exited(): boolean;
  /** Sends a signal (if still running). */
  signal(signal: Deno.Signal): void;
}

/** The executable and arguments that start `spec` (a `deno run` from source, or the sibling binary). */
export function serviceInvocation(spec: ServiceSpec): { command: string; args: string[] } {
  if (Deno.build.standalone) {
    const self = Deno.execPath();
    return { command: `${self.slice(0, self.lastIndexOf("/") + 1)}cortex-${spec.kind}`, args: spec.args };
  }
  return {
    command: Deno.execPath(),
    args: ["run", ...spec.flags, `${REPO_ROOT}/${spec.entry}`, ...spec.args],
  };
}

/** Starts a service in our working directory; its stdin is closed, stderr shared with ours. */
export function startService(spec: ServiceSpec): RunningService {
  const { command, args } = serviceInvocation(spec);
  let process: Deno.ChildProcess;
  try {
    process = new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
      // Its own session: a terminal's Ctrl-C (or a signal to our process group) reaches only
      // us, and we forward it once, so a child never sees the same stop twice.
      detached: true,
    }).spawn();
  } catch (error) {
    throw new CliError(
      "child_failed",
      `cannot start the ${spec.kind} (${command}): ${error instanceof Error ? error.message : error}`,
      Deno.build.standalone ? `install cortex-${spec.kind} next to the cortex binary` : "",
    );
  }
  let exited = false;
  // Detached children do not die with us: make sure an exit of ours (even an error) stops them.
  const onUnload = (): void => {
    if (!exited) {
      try {
        process.kill("SIGTERM");
      } catch {
        // already gone
      }
    }
  };
  globalThis.addEventListener("unload", onUnload);
  const status = process.status.then((s) => {
    exited = true;
    globalThis.removeEventListener("unload", onUnload);
    return s;
  });
  const ready = (async () => {
    let announced: Record<string, string> | null = null;
    const lines = process.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(new LineSplitterStream());
    const reader = lines.getReader();
    try {
      while (announced === null) {
        const { done, value } = await reader.read();
        if (done) break;
        announced = spec.ready(value);
        if (announced === null) spec.onLine?.(value);
      }
    } finally {
      if (announced !== null) {
        // Keep forwarding (and draining, so the child never blocks on a full pipe).
        (async () => {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            spec.onLine?.(value);
          }
        })().catch(() => {});
      } else reader.releaseLock();
    }
    if (announced === null) {
      const { code } = await status;
      throw new CliError(
        "child_failed",
        `the ${spec.kind} exited with code ${code} before it was listening`,
        "its log above says why",
      );
    }
    return announced;
  })();
  ready.catch(() => {}); // observed by the caller; avoid an unhandled rejection if it is not
  return {
    kind: spec.kind,
    process,
    ready,
    status,
    exited: () => exited,
    signal(signal) {
      if (exited) return;
      try {
        process.kill(signal);
      } catch {
        // already gone
      }
    },
  };
}

/** The handle of {@linkcode forwardStopSignals}. */
export interface StopSignals {
  /** Resolves with the first stop signal received. */
  stopped: Promise<Deno.Signal>;
  /** Removes the listeners. */
  dispose(): void;
}

/**
 * Forwards SIGINT and SIGTERM (and SIGHUP, as SIGTERM) to the services (which run in their own sessions, so this is
 * the only way a stop reaches them) and resolves when one arrives. A signal delivered twice
 * for one keypress (see `signals.ts`) is forwarded once.
 */
export function forwardStopSignals(services: () => RunningService[]): StopSignals {
  let resolve!: (signal: Deno.Signal) => void;
  const stopped = new Promise<Deno.Signal>((r) => (resolve = r));
  // A closed terminal (SIGHUP) stops the services too: detached, they would outlive us.
  const forwarded = [["SIGINT", "SIGINT"], ["SIGTERM", "SIGTERM"], ["SIGHUP", "SIGTERM"]] as const;
  const removers = forwarded.map(([received, sent]) =>
    listenSignal(received, () => {
      for (const service of services()) service.signal(sent);
      resolve(received);
    })
  );
  return {
    stopped,
    dispose() {
      for (const remove of removers) remove();
    },
  };
}
