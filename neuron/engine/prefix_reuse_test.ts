// The prefix cache end to end on the real plugin: random multi-turn conversations, several at once
// sharing one system prompt, through a scheduler with the cache and one without — greedy outputs
// identical token for token, later turns served mostly from the cache, hits taken while other
// sequences decode in the same batch.
import assert from "node:assert/strict";
import { GREEDY, type Model, Plugin, type StepEntry } from "../devices/mod.ts";
import { type GenerationOutcome, Scheduler } from "./scheduler.ts";
import { seededRandom } from "../testing/rng.ts";

const MODELS = new URL("../testdata/models/", import.meta.url).pathname;
const EOS = new Set([1017]);

interface Turn {
  prompt: number[];
  output: number[];
  outcome: GenerationOutcome;
}

/** One conversation: each turn's prompt is the last prompt, its answer and new user tokens. */
async function converse(
  scheduler: Scheduler,
  system: number[],
  users: number[][],
  maxTokens: number,
): Promise<Turn[]> {
  const turns: Turn[] = [];
  let prompt = [...system, ...users[0]];
  for (let t = 0; t < users.length; t++) {
    const output: number[] = [];
    const outcome = await scheduler.generate({
      promptTokens: prompt,
      sampling: GREEDY,
      maxTokens,
      stopTokenIds: EOS,
      onToken: (token) => (output.push(token), true),
    });
    turns.push({ prompt, output, outcome });
    if (t + 1 < users.length) prompt = [...prompt, ...output, ...users[t + 1]];
  }
  return turns;
}

/** `count` random conversations of 2–4 turns; a third share one system prompt. */
function conversations(seed: number, count: number): { system: number[]; users: number[][] }[] {
  const random = seededRandom(seed);
  const tokens = (n: number) => Array.from({ length: n }, () => 3 + Math.floor(random() * 900));
  const shared = tokens(24);
  return Array.from({ length: count }, (_, i) => ({
    system: i % 3 === 0 ? shared : tokens(8 + Math.floor(random() * 24)),
    users: Array.from({ length: 2 + Math.floor(random() * 3) }, () => tokens(1 + Math.floor(random() * 12))),
  }));
}

async function open(
  plugin: Plugin,
  name: string,
  quant?: string,
): Promise<{ model: Model; mixed: () => number }> {
  const model = await plugin.loadModel(`${MODELS}${name}`, { contextLength: 256, maxSequences: 4, quant });
  // Observed, not replaced: counts steps that fed a prompt chunk beside a decoding sequence.
  let mixed = 0;
  const step = model.step.bind(model);
  model.step = (entries: StepEntry[]) => {
    if (entries.some((e) => e.tokens.length > 1) && entries.some((e) => e.tokens.length === 1)) mixed++;
    return step(entries);
  };
  return { model, mixed: () => mixed };
}

for (
  const [name, quant] of [["tiny-qwen3-f32", undefined], ["tiny-qwen3-bf16", undefined], [
    "tiny-qwen3-moe-f32",
    undefined,
  ], ["tiny-qwen3-f32", "q8_0"]] as const
) {
  Deno.test({
    name: `prefix cache (${name}${
      quant ? ` ${quant}` : ""
    }): 50 random conversations, 3 at a time, equal a cache-less run token for token`,
    sanitizeResources: false,
    fn: async () => {
      const plugin = Plugin.open({ cpuThreadsPerDevice: 1 });
      try {
        const cold = await open(plugin, name, quant);
        const warm = await open(plugin, name, quant);
        const off = new Scheduler(cold.model, { prefillChunkTokens: 16, prefixCache: false });
        const on = new Scheduler(warm.model, { prefillChunkTokens: 16 });
        const all = conversations(name.length * 7 + (quant ? 1 : 0), 50);
        let laterTurns = 0;
        let laterPrompt = 0;
        let laterCached = 0;
        for (let i = 0; i < all.length; i += 3) {
          const group = all.slice(i, i + 3);
          const [expected, actual] = await Promise.all([
            Promise.all(group.map((c) => converse(off, c.system, c.users, 6))),
            Promise.all(group.map((c) => converse(on, c.system, c.users, 6))),
          ]);
          for (let c = 0; c < group.length; c++) {
            for (let t = 0; t < expected[c].length; t++) {
              const label = `conversation ${i + c} turn ${t}`;
              assert.deepEqual(actual[c][t].prompt, expected[c][t].prompt, label);
              assert.deepEqual(actual[c][t].output, expected[c][t].output, label);
              assert.equal(
                expected[c][t].outcome.cachedTokens,
                0,
                `${label}: the cache-less run reused nothing`,
              );
              const cached = actual[c][t].outcome.cachedTokens;
              assert.ok(cached < actual[c][t].prompt.length, label);
              if (t > 0) {
                laterTurns++;
                laterPrompt += actual[c][t].prompt.length;
                laterCached += cached;
              }
            }
          }
        }
        // Later turns extend what their slot holds (4 slots, 3 conversations at a time): nearly all cached.
        assert.ok(
          laterCached / laterPrompt > 0.8,
          `${laterCached} of ${laterPrompt} later-turn prompt tokens cached`,
        );
        const stats = on.prefixCache.stats;
        assert.equal(stats.lookups, laterTurns + all.length);
        assert.ok(warm.mixed() > 0, "some hits were prefilled beside decoding sequences");
        assert.equal(off.prefixCache.stats.cachedTokens, 0);
        await cold.model.unload();
        await warm.model.unload();
      } finally {
        plugin.close();
      }
    },
  });
}

const MARK = 7; // the tests' stand-in for `<|im_start|>`: every user turn opens with it

for (const name of ["tiny-qwen3-next-f32", "tiny-qwen3_5-f32"]) {
  Deno.test({
    name:
      `prefix cache (${name}): hybrid turns resume from the DeltaNet states kept at the last turn marker; 20 conversations answer as without the cache`,
    sanitizeResources: false,
    fn: async () => {
      const plugin = Plugin.open({ cpuThreadsPerDevice: 1 });
      try {
        const load = () => plugin.loadModel(`${MODELS}${name}`, { contextLength: 256, maxSequences: 4 });
        const [warmModel, coldModel] = [await load(), await load()];
        assert.equal(warmModel.info.prefixReuse, "snapshot");
        // A hybrid without a marker reuses nothing.
        assert.equal(new Scheduler(coldModel).prefixCache.enabled, false);
        const on = new Scheduler(warmModel, { prefillChunkTokens: 4096, snapshotToken: MARK });
        const off = new Scheduler(coldModel, {
          prefillChunkTokens: 4096,
          snapshotToken: MARK,
          prefixCache: false,
        });
        const random = seededRandom(name.length);
        const tokens = (n: number) => Array.from({ length: n }, () => 8 + Math.floor(random() * 900));
        let laterTurns = 0;
        let laterCached = 0;
        for (let c = 0; c < 20; c++) {
          const system = tokens(10 + Math.floor(random() * 20));
          const users = Array.from(
            { length: 2 + Math.floor(random() * 3) },
            () => [MARK, ...tokens(2 + Math.floor(random() * 8))],
          );
          const [warm, cold] = [await converse(on, system, users, 5), await converse(off, system, users, 5)];
          for (let t = 0; t < warm.length; t++) {
            assert.deepEqual(warm[t].output, cold[t].output, `conversation ${c} turn ${t}`);
            if (t === 0) continue;
            laterTurns++;
            // Everything before the last turn's marker comes from the cache.
            const cut = warm[t - 1].prompt.lastIndexOf(MARK);
            assert.equal(warm[t].outcome.cachedTokens, cut, `conversation ${c} turn ${t}`);
            laterCached += warm[t].outcome.cachedTokens > 0 ? 1 : 0;
          }
        }
        assert.equal(laterCached, laterTurns);
        assert.equal(off.prefixCache.stats.cachedTokens, 0);
        await warmModel.unload();
        await coldModel.unload();
      } finally {
        plugin.close();
      }
    },
  });
}

Deno.test({
  name:
    "prefix cache block pool (tiny-qwen3-f32): 8 conversations taking turns on 2 slots come back from pool blocks and answer as without the cache, within the budget",
  sanitizeResources: false,
  fn: async () => {
    const plugin = Plugin.open({ cpuThreadsPerDevice: 1 });
    try {
      const load = () => plugin.loadModel(`${MODELS}tiny-qwen3-f32`, { contextLength: 256, maxSequences: 2 });
      const coldModel = await load();
      for (const blocksKept of [64, 6]) {
        const warmModel = await load();
        const budget = blocksKept * warmModel.info.prefixBlockBytes;
        const on = new Scheduler(warmModel, { prefillChunkTokens: 16, prefixCacheBudgetBytes: budget });
        const off = new Scheduler(coldModel, { prefillChunkTokens: 16, prefixCache: false });
        const random = seededRandom(blocksKept);
        const tokens = (n: number) => Array.from({ length: n }, () => 3 + Math.floor(random() * 900));
        const shared = tokens(40);
        const sessions = Array.from({ length: 8 }, (_, i) => ({
          prompt: [...(i % 2 === 0 ? shared : tokens(40)), ...tokens(30)],
        }));
        let poolCached = 0;
        // Round-robin turns: every session's slot is taken by others before its next turn.
        for (let turn = 0; turn < 3; turn++) {
          for (const [i, session] of sessions.entries()) {
            const run = async (scheduler: Scheduler) => {
              const output: number[] = [];
              const outcome = await scheduler.generate({
                promptTokens: session.prompt,
                sampling: GREEDY,
                maxTokens: 5,
                stopTokenIds: EOS,
                onToken: (token) => (output.push(token), true),
              });
              return { output, outcome };
            };
            const [warm, cold] = [await run(on), await run(off)];
            assert.deepEqual(
              warm.output,
              cold.output,
              `budget ${blocksKept} blocks, session ${i} turn ${turn}`,
            );
            if (turn > 0) poolCached += warm.outcome.cachedTokens;
            session.prompt = [...session.prompt, ...warm.output, ...tokens(8)];
          }
        }
        const stats = on.prefixCache.stats;
        assert.ok(stats.poolHits > 0, "later turns came back from pool blocks");
        assert.ok(poolCached > 0);
        assert.ok(stats.pool!.peakBytes <= budget, `peak ${stats.pool!.peakBytes} B, budget ${budget} B`);
        if (blocksKept === 6) assert.ok(stats.pool!.evicted > 0, "a small budget evicts");
        await warmModel.unload();
      }
      await coldModel.unload();
    } finally {
      plugin.close();
    }
  },
});
