/**
 * `cortex up`: the embedded default stack — one local neuron serving one model folder and a
 * gateway in front of it, on localhost (what `npm start` runs). It writes `neuron.toml`,
 * `cortex.toml` and `models.toml` into a state directory, starts the neuron, points the
 * gateway at the neuron's real address, prints where both listen and waits until the model
 * is loaded. Each child runs with permissions derived from its generated config.
 *
 * @module
 */
import { stringify } from "smol-toml";
import { numberFlag, stringFlag } from "../args.ts";
import { CliError } from "../cli_error.ts";
import { GatewayClient } from "../client.ts";
import type { CliContext, Command } from "../command.ts";
import { forwardStopSignals, REPO_ROOT, type RunningService, startService } from "../service.ts";
import { listenSignal } from "../signals.ts";
import { formatSeconds } from "../table.ts";
import { readEnv } from "../terminal.ts";
import {
  _absolute,
  _gatewaySpec,
  _loadGatewayConfig,
  _loadNeuronConfig,
  _neuronSpec,
  _supervise,
} from "./_services.ts";

/** The model `cortex up` serves by default: the demo model, or the tiny Qwen3 fixture if its folder is missing. */
export function defaultUpModel(): string | null {
  if (Deno.build.standalone) return null;
  const demo = `${REPO_ROOT}/neuron/models/cortex-demo`;
  return _isModelFolder(demo) ? demo : `${REPO_ROOT}/neuron/testdata/models/tiny-qwen3-f32`;
}

/** Where `cortex up` writes its configs by default. */
export function defaultUpStateDir(): string {
  if (!Deno.build.standalone) return `${REPO_ROOT}/.cache/cortex-up`;
  const base = readEnv("XDG_STATE_HOME") ?? `${readEnv("HOME") ?? "."}/.local/state`;
  return `${base}/cortex/up`;
}

function _isModelFolder(path: string): boolean {
  try {
    return Deno.statSync(`${path}/config.json`).isFile;
  } catch {
    return false;
  }
}

function _shown(path: string): string {
  const cwd = Deno.cwd();
  return path.startsWith(`${cwd}/`) ? path.slice(cwd.length + 1) : path;
}

/** `cortex up`. */
export const upCommand: Command = {
  name: "up",
  summary: "run the embedded default: one local neuron + gateway",
  usage:
    "up [--model FOLDER] [--name ID] [--port 31313] [--neuron-port 13131] [--host 127.0.0.1] [--state-dir DIR]",
  description:
    "Starts a neuron serving one Hugging Face model folder and a gateway in front of it, both on\n" +
    "localhost, with configs generated into the state directory (copy them to run the parts with\n" +
    "`cortex neuron` / `cortex serve`). The gateway listens on --port (default 31313; metrics on\n" +
    "the next port), the neuron on --neuron-port; port 0 picks free ports. The model is served as\n" +
    "--name (default: its folder's name). Ctrl-C stops both.",
  flags: {
    model: {
      type: "string",
      short: "m",
      value: "FOLDER",
      description: "model folder (default: the demo model)",
    },
    host: { type: "string", value: "HOST", description: "address both listen on (default 127.0.0.1)" },
    port: {
      type: "string",
      short: "p",
      value: "PORT",
      description: "gateway port (default 31313; metrics on +1)",
    },
    "neuron-port": { type: "string", value: "PORT", description: "neuron port (default 13131)" },
    name: {
      type: "string",
      short: "n",
      value: "ID",
      description: "the id the model is served as (default: folder name)",
    },
    "state-dir": {
      type: "string",
      value: "DIR",
      description: "where the generated configs go (any directory; the process may write only there)",
    },
    online: { type: "boolean", description: "let the neuron download hub models (default: cache only)" },
  },
  async run(args, ctx) {
    const host = stringFlag(args, "host") ?? "127.0.0.1";
    const port = numberFlag(args, "port", { min: 0, max: 65534, integer: true }) ?? 31313;
    const neuronPort = numberFlag(args, "neuron-port", { min: 0, max: 65535, integer: true }) ?? 13131;
    const stateDir = _absolute(stringFlag(args, "state-dir") ?? defaultUpStateDir());
    const given = stringFlag(args, "model");
    const model = given === undefined ? defaultUpModel() : _absolute(given);
    if (model === null) {
      throw new CliError("usage", "cortex up needs --model FOLDER here", "pass a Hugging Face model folder");
    }
    if (!_isModelFolder(model)) {
      throw new CliError(
        "usage",
        `--model: ${model} is not a model folder (no config.json)`,
        "pass a Hugging Face model folder with config.json, weights and tokenizer.json",
      );
    }
    const modelId = stringFlag(args, "name") ?? model.slice(model.lastIndexOf("/") + 1);
    if (!/^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/.test(modelId)) {
      throw new CliError(
        "usage",
        `--name: '${modelId}' is not a model id`,
        "use letters, digits and . _ : @ / - (at most 128 characters, starting with a letter or digit)",
      );
    }
    const reexec = await _withStateDirPermission(stateDir, host);
    if (reexec !== null) return reexec;
    const hostPart = host.includes(":") ? `[${host}]` : host;
    await _mkdir(stateDir);
    const neuronPath = `${stateDir}/neuron.toml`;
    await _write(neuronPath, {
      listen: `${hostPart}:${neuronPort}`,
      default_models: [modelId],
      devices: { cpu_devices: 1, cuda: "all" },
      hub: { offline: !args.flags.online },
      models: [{ id: modelId, path: model }],
    }, "neuron.toml written by `cortex up`; regenerated on every start.");

    const services: RunningService[] = [];
    const signals = forwardStopSignals(() => services);
    let neuronUrl: string;
    try {
      const neuron = startService(_neuronSpec(await _loadNeuronConfig(neuronPath, true), neuronPath, ctx));
      services.push(neuron);
      const ready = await Promise.race([neuron.ready, signals.stopped.then(() => null)]);
      if (ready === null) {
        await neuron.status;
        signals.dispose();
        return 0;
      }
      neuronUrl = ready.url;
    } catch (error) {
      for (const service of services) service.signal("SIGTERM");
      await Promise.all(services.map((s) => s.status));
      signals.dispose();
      throw error;
    }
    const s = ctx.stdout.style;
    ctx.stdout.line(
      `${s.green("neuron listening on")} ${s.bold(neuronUrl)} ${
        s.dim(`(model ${modelId}: ${_shown(model)})`)
      }`,
    );

    const gatewayPath = `${stateDir}/cortex.toml`;
    await _write(
      `${stateDir}/models.toml`,
      { models: [] },
      "models.toml written by `cortex up`: no profiles.",
    );
    await _write(gatewayPath, {
      models_config: "models.toml",
      gateway: { listen: `${hostPart}:${port}`, metrics_listen: `${hostPart}:${port === 0 ? 0 : port + 1}` },
      poller: { interval_s: 2, timeout_s: 5, unhealthy_after: 3 },
      neurons: [{ name: "local", endpoint: neuronUrl }],
    }, "cortex.toml written by `cortex up`; regenerated on every start.");
    try {
      services.unshift(startService(_gatewaySpec(await _loadGatewayConfig(gatewayPath), gatewayPath, ctx)));
    } catch (error) {
      for (const service of services) service.signal("SIGTERM");
      await Promise.all(services.map((s) => s.status));
      signals.dispose();
      throw error;
    }
    return await _supervise(services, ctx, async ([gateway]) => {
      ctx.stdout.line(
        `${s.green("gateway listening on")} ${s.bold(gateway.url)} ${s.dim(`(metrics ${gateway.metrics})`)}`,
      );
      ctx.stdout.line(s.dim(`configs in ${_shown(stateDir)}; Ctrl-C stops both`));
      await _announceWhenLoaded(gateway.url, modelId, ctx);
    }, signals);
  },
};

/**
 * How a user runs the CLI the way cortex was started: `npm run cortex --` after `npm start` (the npm
 * scripts set CORTEX_LAUNCHER=npm; deno may not be on PATH), `cortex` for the compiled binary, else
 * `deno task cortex`.
 */
export function cliInvocation(): string {
  if (Deno.build.standalone) return "cortex";
  return readEnv("CORTEX_LAUNCHER") === "npm" ? "npm run cortex --" : "deno task cortex";
}

/**
 * `cortex up` runs with write access to its default state directory only. Another `--state-dir`
 * re-runs the command in a child whose permissions are derived from it (write there, net to the
 * listen host); returns the child's exit code, or null when this process may already write there.
 */
async function _withStateDirPermission(stateDir: string, host: string): Promise<number | null> {
  if (Deno.permissions.querySync({ name: "write", path: stateDir }).state === "granted") return null;
  if (Deno.build.standalone) return null; // the binary's own permissions decide; _mkdir names a refusal
  const deno = Deno.execPath();
  const hosts = [...new Set(["127.0.0.1", host.replace(/^\[|\]$/g, "")])].join(",");
  const child = new Deno.Command(deno, {
    args: [
      "run",
      "--no-prompt",
      "--allow-read",
      `--allow-write=${stateDir}`,
      `--allow-net=${hosts}`,
      "--allow-env=HOME,HF_HOME,HF_HUB_CACHE,NO_COLOR,CORTEX_LAUNCHER",
      `--allow-run=${deno}`,
      `${REPO_ROOT}/cli/main.ts`,
      ...Deno.args,
    ],
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  // The child shares our terminal, so Ctrl-C reaches it directly; a SIGTERM or SIGHUP sent to us
  // alone is passed on. Either way we wait for it to stop its services.
  const removers = (["SIGINT", "SIGTERM", "SIGHUP"] as const).map((signal) =>
    listenSignal(signal, () => {
      if (signal !== "SIGINT") child.kill("SIGTERM");
    })
  );
  const { code } = await child.status;
  for (const remove of removers) remove();
  return code;
}

async function _mkdir(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (error) {
    throw new CliError(
      "usage",
      `cannot create the state directory ${dir}: ${error instanceof Error ? error.message : error}`,
      "pass --state-dir DIR with a directory this process may write",
    );
  }
}

async function _write(path: string, value: Record<string, unknown>, comment: string): Promise<void> {
  try {
    await Deno.writeTextFile(path, `# ${comment}\n${stringify(value)}\n`);
  } catch (error) {
    throw new CliError(
      "usage",
      `cannot write ${path}: ${error instanceof Error ? error.message : error}`,
      "pass --state-dir DIR with a directory this process may write",
    );
  }
}

async function _announceWhenLoaded(gatewayUrl: string, modelId: string, ctx: CliContext): Promise<void> {
  const client = new GatewayClient(gatewayUrl, null);
  const started = performance.now();
  const s = ctx.stdout.style;
  for (;;) {
    try {
      const list = await client.getJson<{ data: { id: string; locations: { status: string }[] }[] }>(
        "/v1/models",
      );
      const status = list.data.find((m) => m.id === modelId)?.locations.map((l) => l.status) ?? [];
      if (status.includes("loaded")) {
        const elapsed = formatSeconds((performance.now() - started) / 1000);
        ctx.stdout.line(`${s.green("ready:")} ${s.bold(modelId)} is loaded ${s.dim(`(${elapsed})`)}`);
        const target = gatewayUrl === "http://127.0.0.1:31313" ? "" : ` --gateway ${gatewayUrl}`;
        ctx.stdout.line(
          s.dim(
            `try: ${cliInvocation()} chat ${modelId}${target}   (or any OpenAI client at ${gatewayUrl}/v1)`,
          ),
        );
        return;
      }
      if (status.includes("failed")) {
        ctx.stderr.line(
          ctx.stderr.style.yellow(`cortex up: ${modelId} failed to load; see the neuron's log above`),
        );
        return;
      }
    } catch (error) {
      // Until the gateway's first poll there is nothing to read; but a permission refusal (e.g.
      // `--host` with a LAN address while this process may only reach 127.0.0.1) never clears.
      if (error instanceof Error && /Requires net access/.test(error.message)) {
        ctx.stderr.line(ctx.stderr.style.yellow(
          `cortex up: both services are running, but this process may not connect to ${gatewayUrl} to ` +
            "confirm the model loaded (run `" + cliInvocation() + " status --gateway " + gatewayUrl + "`)",
        ));
        return;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
