/**
 * `deno task bench:agent`: an agent workload through a real gateway in front of two real neurons
 * (replicas of the same model), with the neurons' prefix caches on and then off. The conversation
 * (agent_session.ts) is an agent's system prompt and 20 tools, then per turn an assistant tool call,
 * its result and a user message. The model is the tiny Qwen3 fixture with its context raised to 16k
 * (random weights: the bench measures serving, not answers).
 *
 * Two phases per setting:
 * 1. `alone`: one session, turn by turn, each turn a one-token request. Its latency is the turn's
 *    time to first token (TTFT); the neuron's `x-cortex-prefill-ms` header is the engine's time for
 *    the turn's prefill (only the tokens the prefix cache did not hold, attending to those it did);
 *    `ttftOverEnginePrefill` is the first over the second. Also each turn's new messages sent alone as
 *    a fresh conversation (`freshNewMessages`: the same tokens with no conversation before them).
 * 2. `concurrent`: `--sessions` other sessions at once, streamed, 4 tokens per answer: TTFT, prompt
 *    and cached tokens, node and affinity outcome per turn; the gateway's affinity counts and hit
 *    rate (hits ÷ requests whose session already had a node).
 * Also each neuron's peak RSS and its prefix cache's figures (held bytes live inside the KV cache; the
 * block pool's bytes, peak and budget, with `poolWithinBudget` checking peak ≤ budget on every neuron).
 *
 * Flags: `--turns N` (default 10), `--sessions N` (default 4), `--only on|off`, `--slots N` (KV slots
 * per neuron, default 2 × sessions + 1; fewer than the sessions sends prefixes through the pool),
 * `--budget-mb N` (the pool's `[prefix_cache] budget_mb`, default 64).
 * @module
 */
import { SseParser } from "@cortex/core/sse";
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
  const parser = new SseParser();
  for await (const chunk of res.body) {
    for (const event of parser.push(chunk)) {
      // Keep-alive comments carry no data.
      if (event.data === undefined || event.data === "[DONE]") continue;
      const parsed = JSON.parse(event.data);
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

interface Timed {
  latencyMs: number;
  prefillMs: number;
  queueMs: number;
  promptTokens: number;
  cachedTokens: number;
  node: string | null;
}

/** One non-streamed request for a single token: its latency is its time to first token, and the
 * neuron's `x-cortex-prefill-ms` / `x-cortex-queue-ms` headers split the engine's part off. */
async function askOnce(url: string, body: Record<string, unknown>): Promise<Timed> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...body, max_tokens: 1, temperature: 0 }),
  });
  const json = await res.json();
  const latencyMs = performance.now() - t0;
  if (!res.ok) throw new Error(`${res.status}: ${JSON.stringify(json)}`);
  return {
    latencyMs,
    prefillMs: Number(res.headers.get("x-cortex-prefill-ms")),
    queueMs: Number(res.headers.get("x-cortex-queue-ms")),
    promptTokens: json.usage.prompt_tokens,
    cachedTokens: json.usage.prompt_tokens_details?.cached_tokens ?? 0,
    node: res.headers.get("x-cortex-node"),
  };
}

async function run(
  model: string,
  cache: boolean,
  sessions: number,
  turns: number,
  slots: number,
  budgetMb: number,
) {
  const spawn = () =>
    spawnNeuron({
      models: { agent: { path: model, context_length: CONTEXT, max_sequences: slots } },
      devices: { cpu_memory_budget_mb: 1024, cpu_threads: 1 },
      admission: { max_in_flight: slots, max_queue: 64 },
      prefixCache: { enabled: cache, budget_mb: budgetMb },
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

    // 1. One session alone, turn by turn: time to first token against the engine's prefill of the
    //    turn, and against the turn's new messages sent alone as a fresh conversation.
    const alone: { turn: Timed; fresh: Timed }[] = [];
    const messages: AgentMessage[] = [{ role: "system", content: system }];
    for (let t = 0; t < turns; t++) {
      const added = turnMessages(0, t, tools);
      messages.push(...added);
      const turn = await askOnce(gateway.url, { model: "agent", messages, tools });
      const fresh = await askOnce(gateway.url, {
        model: "agent",
        messages: [{ role: "user", content: `${crypto.randomUUID()}\n${messagesAsText(added)}` }],
      });
      alone.push({ turn, fresh });
    }

    // 2. Sessions 1..N at once, streamed: what each turn waits for with neighbours, and affinity.
    const perTurn: Answer[][] = Array.from({ length: turns }, () => []);
    await Promise.all(Array.from({ length: sessions }, async (_, i) => {
      const s = i + 1;
      const history: AgentMessage[] = [{ role: "system", content: system }];
      for (let t = 0; t < turns; t++) {
        history.push(...turnMessages(s, t, tools));
        perTurn[t].push(await ask(gateway.url, { model: "agent", messages: history, tools }));
      }
    }));
    const samples = await scrape(gateway.metricsUrl);
    const outcome = (o: string) => total(samples, "cortex_affinity_total", { outcome: o });
    const [hit, miss, overflow] = [outcome("hit"), outcome("miss"), outcome("overflow")];
    const health = await Promise.all(
      neurons.map(async (n) => (await (await fetch(`${n.url}/health`)).json())),
    );
    return {
      prefixCache: cache,
      alone: alone.map(({ turn, fresh }, t) => ({
        turn: t + 1,
        ttftMs: round(turn.latencyMs),
        enginePrefillMs: round(turn.prefillMs),
        queueMs: round(turn.queueMs),
        ttftOverEnginePrefill: round(turn.latencyMs / turn.prefillMs, 2),
        promptTokens: turn.promptTokens,
        cachedTokens: turn.cachedTokens,
        newTokens: turn.promptTokens - turn.cachedTokens,
        freshNewMessages: {
          ttftMs: round(fresh.latencyMs),
          enginePrefillMs: round(fresh.prefillMs),
          promptTokens: fresh.promptTokens,
        },
        node: turn.node,
      })),
      concurrent: perTurn.map((answers, t) => ({
        turn: t + 1,
        ttftMs: round(median(answers.map((a) => a.ttftMs))),
        promptTokens: round(median(answers.map((a) => a.promptTokens)), 0),
        cachedTokens: round(median(answers.map((a) => a.cachedTokens)), 0),
        every: answers.map((a) => ({
          ttftMs: round(a.ttftMs),
          promptTokens: a.promptTokens,
          cachedTokens: a.cachedTokens,
          node: a.node,
          affinity: a.affinity,
        })),
      })),
      // Hit rate over the requests whose session already had a node (a first turn, and each fresh
      // conversation of the alone phase, is a miss by definition).
      affinity: {
        hit,
        miss,
        overflow,
        hitRate: hit + overflow > 0 ? round(hit / (hit + overflow), 3) : null,
      },
      poolWithinBudget: health.every((h) =>
        h.models.every((m: { prefix_cache?: { pool_peak_bytes: number; pool_budget_bytes: number } }) =>
          !m.prefix_cache || m.prefix_cache.pool_peak_bytes <= m.prefix_cache.pool_budget_bytes
        )
      ),
      neurons: await Promise.all(health.map(async (h, i) => {
        const m = h.models.find((x: { id: string }) => x.id === "agent");
        return {
          peakRssBytes: await peakRss(neurons[i]),
          prefixCache: m?.prefix_cache ?? null,
        };
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
  const slots = Number(flag("slots", String(2 * sessions + 1)));
  const budgetMb = Number(flag("budget-mb", "64"));
  const model = await longContextModel();
  try {
    const runs = [];
    if (only !== "off") runs.push(await run(model, true, sessions, turns, slots, budgetMb));
    if (only !== "on") runs.push(await run(model, false, sessions, turns, slots, budgetMb));
    console.log(
      JSON.stringify(
        {
          model: `tiny-qwen3-f32 with a ${CONTEXT}-token context (random weights)`,
          sessions,
          turns,
          slots,
          budgetMb,
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
