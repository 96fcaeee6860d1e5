/**
 * `deno task bench:agent`: an agent workload through a real gateway in front of two real neurons
 * (replicas of the same model), with the neurons' prefix caches on and then off. Four sessions run
 * at once, each replaying a 10-turn conversation (agent_session.ts: system prompt + 20 tools, then
 * per turn an assistant tool call, its result and a user message), streamed, 4 tokens per answer.
 *
 * The model is the tiny Qwen3 fixture with its context raised to 16k (random weights; the bench
 * measures serving, not answers). Per turn and session: time to first token (TTFT, to the first
 * streamed delta), prompt and cached tokens (from the usage chunk), the node and the gateway's
 * affinity outcome. After each turn, for the same session, the "new tokens alone" baseline: a cold
 * request (a fresh conversation, so nothing is cached) whose single user message is that turn's new
 * messages as text — the prefill of the turn's new tokens without the conversation before them.
 * Printed as one JSON document: per-turn medians and every value, the TTFT ÷ baseline ratio, the
 * affinity counts and hit rate (hits ÷ requests whose session already had a node), the neurons'
 * peak RSS and the prefix caches' held bytes against the KV cache they live in.
 *
 * Flags: `--turns N` (default 10), `--sessions N` (default 4), `--only on|off`.
 * @module
 */
import { type SpawnedNeuron, spawnNeuron, TINY_QWEN3 } from "../../neuron/testing/spawn_neuron.ts";
import { scrape, total } from "../acceptance/_fixtures.ts";
import { spawnGateway } from "../testing/spawn_gateway.ts";
import { type AgentMessage, agentPreamble, messagesAsText, turnMessages } from "./agent_session.ts";

const CONTEXT = 16384;

function flag(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : fallback;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;

/** The tiny fixture with a 16k context, in a temp folder. */
async function longContextModel(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "cortex-agent-model-" });
  for await (const entry of Deno.readDir(TINY_QWEN3)) {
    await Deno.copyFile(`${TINY_QWEN3}/${entry.name}`, `${dir}/${entry.name}`);
  }
  const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  config.max_position_embeddings = CONTEXT;
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config, null, 2));
  return dir;
}

interface Answer {
  ttftMs: number;
  promptTokens: number;
  cachedTokens: number;
  node: string | null;
  affinity: string | null;
}

/** One streamed chat completion; TTFT is to the first chunk carrying a delta or a finish. */
async function ask(url: string, body: Record<string, unknown>): Promise<Answer> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      ...body,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 4,
      temperature: 0,
    }),
  });
  if (!res.ok || !res.body) throw new Error(`${res.status}: ${await res.text()}`);
  let ttft = -1;
  let usage: { prompt_tokens: number; prompt_tokens_details?: { cached_tokens?: number } } | null = null;
  let buffer = "";
  for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let at: number;
    while ((at = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      const line = event.split("\n").find((l) => l.startsWith("data: ")); // skips ": keep-alive" comments
      const data = line?.slice(6) ?? "";
      if (data === "[DONE]" || data === "") continue;
      const parsed = JSON.parse(data);
      const choice = parsed.choices?.[0];
      const delta = choice?.delta ?? {};
      if (
        ttft < 0 && (delta.content || delta.tool_calls || delta.reasoning_content || choice?.finish_reason)
      ) {
        ttft = performance.now() - t0;
      }
      if (parsed.usage) usage = parsed.usage;
    }
  }
  if (!usage) throw new Error("no usage chunk");
  return {
    ttftMs: ttft,
    promptTokens: usage.prompt_tokens,
    cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
    node: res.headers.get("x-cortex-node"),
    affinity: res.headers.get("x-cortex-affinity"),
  };
}

/** The neuron process's peak resident memory (VmHWM; Deno reads /proc only with -A, so through `cat`). */
async function peakRss(neuron: SpawnedNeuron): Promise<number> {
  const { stdout } = await new Deno.Command("cat", { args: [`/proc/${neuron.process.pid}/status`] }).output();
  return Number(/VmHWM:\s+(\d+) kB/.exec(new TextDecoder().decode(stdout))?.[1] ?? 0) * 1024;
}

async function run(model: string, cache: boolean, sessions: number, turns: number) {
  const spawn = () =>
    spawnNeuron({
      models: { agent: { path: model, context_length: CONTEXT, max_sequences: 2 * sessions + 1 } },
      devices: { cpu_memory_budget_mb: 1024, cpu_threads: 1 },
      admission: { max_in_flight: 2 * sessions + 1, max_queue: 64 },
      prefixCache: { enabled: cache },
    });
  const neurons = [await spawn(), await spawn()];
  const gateway = await spawnGateway({
    neurons: neurons.map((n, i) => ({ name: `n${i + 1}`, endpoint: n.url })),
    models: [{ id: "agent", vram_mb: 200 }],
  });
  try {
    await gateway.waitFor(
      async () => (await gateway.fleet()).nodes.every((n) => n.healthy),
      30_000,
      "both nodes healthy",
    );
    const { system, tools } = agentPreamble();
    const perTurn: { answers: Answer[]; baselines: Answer[] }[] = Array.from(
      { length: turns },
      () => ({ answers: [], baselines: [] }),
    );
    await Promise.all(Array.from({ length: sessions }, async (_, s) => {
      const messages: AgentMessage[] = [{ role: "system", content: system }];
      for (let t = 0; t < turns; t++) {
        const added = turnMessages(s, t, tools);
        messages.push(...added);
        perTurn[t].answers.push(await ask(gateway.url, { model: "agent", messages, tools }));
        // The baseline: the same new messages as a fresh conversation (a nonce keeps it uncached).
        perTurn[t].baselines.push(
          await ask(gateway.url, {
            model: "agent",
            messages: [{ role: "user", content: `${crypto.randomUUID()}\n${messagesAsText(added)}` }],
          }),
        );
      }
    }));
    const samples = await scrape(gateway.metricsUrl);
    const outcome = (o: string) => total(samples, "cortex_affinity_total", { outcome: o });
    const [hit, miss, overflow] = [outcome("hit"), outcome("miss"), outcome("overflow")];
    const health = await Promise.all(
      neurons.map(async (n) => (await (await fetch(`${n.url}/health`)).json())),
    );
    const report = perTurn.map(({ answers, baselines }, t) => ({
      turn: t + 1,
      ttftMs: round(median(answers.map((a) => a.ttftMs))),
      baselineTtftMs: round(median(baselines.map((b) => b.ttftMs))),
      ratio: round(median(answers.map((a, i) => a.ttftMs / baselines[i].ttftMs)), 2),
      promptTokens: round(median(answers.map((a) => a.promptTokens)), 0),
      cachedTokens: round(median(answers.map((a) => a.cachedTokens)), 0),
      newTokens: round(median(answers.map((a) => a.promptTokens - a.cachedTokens)), 0),
      baselinePromptTokens: round(median(baselines.map((b) => b.promptTokens)), 0),
      every: answers.map((a, i) => ({
        ttftMs: round(a.ttftMs),
        baselineTtftMs: round(baselines[i].ttftMs),
        promptTokens: a.promptTokens,
        cachedTokens: a.cachedTokens,
        node: a.node,
        affinity: a.affinity,
      })),
    }));
    return {
      prefixCache: cache,
      turns: report,
      affinity: {
        hit,
        miss,
        overflow,
        hitRate: hit + overflow > 0 ? round(hit / (hit + overflow), 3) : null,
      },
      neurons: await Promise.all(health.map(async (h, i) => {
        const m = h.models.find((x: { id: string }) => x.id === "agent");
        return { peakRssBytes: await peakRss(neurons[i]), prefixCache: m?.prefix_cache ?? null };
      })),
    };
  } finally {
    await gateway.stop();
    for (const n of neurons) await n.stop();
  }
}

if (import.meta.main) {
  const turns = Number(flag("turns", "10"));
  const sessions = Number(flag("sessions", "4"));
  const only = flag("only", "");
  const model = await longContextModel();
  try {
    const runs = [];
    if (only !== "off") runs.push(await run(model, true, sessions, turns));
    if (only !== "on") runs.push(await run(model, false, sessions, turns));
    console.log(
      JSON.stringify(
        {
          model: `tiny-qwen3-f32 with a ${CONTEXT}-token context (random weights)`,
          sessions,
          turns,
          replicas: 2,
          runs,
        },
        null,
        2,
      ),
    );
  } finally {
    await Deno.remove(model, { recursive: true });
  }
}
