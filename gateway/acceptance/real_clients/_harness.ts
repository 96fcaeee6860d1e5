// The stage for a real client: a neuron test double scripted to ask for one tool call and then
// answer in text, a real gateway in front of it (with a key), a recorder of what the client
// sent the gateway, a throw-away HOME, and a runner with a time limit.
import assert from "node:assert/strict";
import type { ChatCompletionRequest, ChatFunctionTool } from "@cortex/core/openai";
import { type DoubleTurn, type NeuronDouble, spawnNeuronDouble } from "../../testing/neuron_double.ts";
import { type SpawnedGateway, spawnGateway } from "../../testing/spawn_gateway.ts";

/** The model id the double serves. */
export const MODEL = "scripted";
/** The gateway key the clients use. */
export const KEY = "sk-cortex-clients-0123456789";
const _ADMIN_KEY = "sk-cortex-clients-admin-0123456789";
/** What the double says after the tool result. */
export const FINAL_TEXT = "The tool ran; all done.";

/** One request a client sent to the gateway. */
export interface TappedRequest {
  /** Method. */
  method: string;
  /** Path and query, e.g. `/v1/messages?beta=true`. */
  path: string;
  /** Headers. */
  headers: Record<string, string>;
  /** Body text. */
  body: string;
  /** The gateway's status. */
  status: number;
}

/** A double, a gateway and a recorder in front of it. */
export interface Stage {
  /** Base URL the client is pointed at (the recorder; it forwards to the gateway). */
  url: string;
  /** The neuron double. */
  double: NeuronDouble;
  /** The gateway. */
  gateway: SpawnedGateway;
  /** What the client sent. */
  tapped: TappedRequest[];
  /** A throw-away HOME for the client. */
  home: string;
  /** The client's working directory (`work` in HOME). */
  cwd: string;
  /** Stops all and removes HOME. */
  stop(): Promise<void>;
}

/** Picks the turn for each chat request the gateway forwards. */
export type Script = (request: ChatCompletionRequest) => DoubleTurn;

/** Starts the stage; `scriptFor(home)` answers the double's chat requests. */
export async function startStage(scriptFor: (home: string) => Script): Promise<Stage> {
  const home = await Deno.makeTempDir({ prefix: "cortex-client-home-" });
  await Deno.mkdir(`${home}/work`);
  const double = await spawnNeuronDouble({ model: MODEL, answer: scriptFor(home) });
  let gateway: SpawnedGateway;
  try {
    gateway = await spawnGateway({
      neurons: [{ name: "double", endpoint: double.url }],
      gateway: { keys: [{ name: "client", key: KEY }, { name: "ops", key: _ADMIN_KEY, admin: true }] },
    });
  } catch (error) {
    await double.stop();
    await Deno.remove(home, { recursive: true }).catch(() => {});
    throw error;
  }
  const tapped: TappedRequest[] = [];
  const tap = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const body = req.method === "GET" || req.method === "HEAD" ? "" : await req.text();
    const headers = new Headers(req.headers);
    headers.delete("host");
    headers.delete("accept-encoding");
    const res = await fetch(`${gateway.url}${url.pathname}${url.search}`, {
      method: req.method,
      headers,
      body: body === "" ? undefined : body,
    });
    tapped.push({
      method: req.method,
      path: url.pathname + url.search,
      headers: Object.fromEntries(req.headers),
      body,
      status: res.status,
    });
    // fetch decoded the body already.
    const back = new Headers(res.headers);
    back.delete("content-encoding");
    back.delete("content-length");
    return new Response(res.body, { status: res.status, headers: back });
  });
  try {
    await gateway.waitFor(
      async () => (await gateway.fleet({ authorization: `Bearer ${_ADMIN_KEY}` })).nodes[0]?.healthy === true,
      20_000,
      "the neuron double healthy",
    );
  } catch (error) {
    await Promise.all([tap.shutdown(), gateway.stop(), double.stop()]);
    await Deno.remove(home, { recursive: true }).catch(() => {});
    throw error;
  }
  return {
    url: `http://127.0.0.1:${(tap.addr as Deno.NetAddr).port}`,
    double,
    gateway,
    tapped,
    home,
    cwd: `${home}/work`,
    async stop() {
      await tap.shutdown();
      await gateway.stop();
      await double.stop();
      await Deno.remove(home, { recursive: true }).catch(() => {});
    },
  };
}

/** How a client run ended. */
export interface ClientRun {
  /** Exit code (null when killed at the time limit). */
  code: number | null;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
  /** Wall time in ms. */
  ms: number;
}

/**
 * Runs `bin args` in the stage's working directory with only `env` (plus PATH, and HOME and
 * the XDG folders inside the stage's HOME) in its environment, killed after `timeoutMs`.
 */
export async function runClient(
  stage: Stage,
  bin: string,
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ClientRun> {
  const home = stage.home;
  const started = performance.now();
  const child = new Deno.Command(bin, {
    args,
    cwd: stage.cwd,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin",
      HOME: home,
      XDG_CONFIG_HOME: `${home}/.config`,
      XDG_DATA_HOME: `${home}/.local/share`,
      XDG_CACHE_HOME: `${home}/.cache`,
      XDG_STATE_HOME: `${home}/.local/state`,
      TMPDIR: home,
      NO_COLOR: "1",
      TERM: "dumb",
      ...options.env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, options.timeoutMs ?? 120_000);
  const out = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  return {
    code: out.signal === null ? out.code : null,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
    ms: Math.round(performance.now() - started),
  };
}

/** Whether the last message is a tool result (the agent ran what it was asked). */
export function afterToolResult(request: ChatCompletionRequest): boolean {
  return request.messages.at(-1)?.role === "tool";
}

/** The offered tool named one of `names` (case-insensitive), or undefined. */
export function findTool(request: ChatCompletionRequest, names: string[]): ChatFunctionTool | undefined {
  const wanted = names.map((n) => n.toLowerCase());
  return (request.tools ?? []).find((t) => wanted.includes(t.function.name.toLowerCase()));
}

/**
 * Arguments for a shell tool running `command`, shaped by its schema: `command` as a string
 * (Claude Code, opencode) or an argv array (Codex `shell`), or `cmd` (Codex `exec_command`).
 */
export function shellArguments(tool: ChatFunctionTool, command: string): Record<string, unknown> {
  const properties = (tool.function.parameters?.properties ?? {}) as Record<string, { type?: string }>;
  const args: Record<string, unknown> = {};
  if ("cmd" in properties && !("command" in properties)) args.cmd = command;
  else if (properties.command?.type === "array") args.command = ["bash", "-lc", command];
  else args.command = command;
  if ("description" in properties) args.description = "Write the proof file";
  return args;
}

/**
 * The script of a shell round trip: while no tool result has come back, call the shell tool
 * (the first offered of `toolNames`) to run `command`; after it, answer {@linkcode FINAL_TEXT}.
 * Side requests without that tool (titles, summaries) get a short text.
 */
export function shellRoundTrip(toolNames: string[], command: string): Script {
  return (request) => {
    if (afterToolResult(request)) return { text: FINAL_TEXT };
    const tool = findTool(request, toolNames);
    if (!tool) return { text: "Proof file" };
    return { toolCall: { name: tool.function.name, arguments: shellArguments(tool, command) } };
  };
}

/** The command the shell tool runs: it writes `cortex-ok` to `proof.txt` in `home`. */
export function proofCommand(home: string): string {
  return `echo cortex-ok > '${home}/proof.txt'`;
}

/** What the proof file in `home` holds, or null when the tool never ran. */
export async function readProof(home: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(`${home}/proof.txt`);
  } catch {
    return null;
  }
}

/** The text of a client run for assertion messages. */
export function describeRun(run: ClientRun, stage: Stage): string {
  const seen = stage.tapped.map((t) => `${t.method} ${t.path} → ${t.status}`).join("\n  ");
  return `exit ${run.code} after ${run.ms} ms\nstdout:\n${run.stdout.slice(-3000)}\nstderr:\n${
    run.stderr.slice(-3000)
  }\nclient requests:\n  ${seen}\ngateway stderr:\n${stage.gateway.stderr().slice(-2000)}`;
}

/**
 * The checks every client's tool round trip shares: it exited 0, the `tool` really ran (the proof
 * file), the final text was printed and the tool result reached the model. Returns the run's
 * description for the caller's own assertions.
 */
export async function assertToolRoundTrip(run: ClientRun, stage: Stage, tool: string): Promise<string> {
  const why = describeRun(run, stage);
  assert.equal(run.code, 0, why);
  assert.equal(await readProof(stage.home), "cortex-ok\n", `the ${tool} tool did not run\n${why}`);
  assert.ok(run.stdout.includes(FINAL_TEXT), why);
  assert.ok(
    stage.double.requests.some((r) => afterToolResult(r.body)),
    `the tool result never reached the model\n${why}`,
  );
  return why;
}
