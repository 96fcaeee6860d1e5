// The scheduler on the real plugin and the tiny Qwen3 fixture. The model's `step` is observed
// (wrapped to record each batch's shape, then delegated to the engine), never replaced.
import assert from "node:assert/strict";
import { CortexError } from "@cortex/core/errors";
import { GREEDY, type Model, Plugin, type SampledLogprobs, type StepEntry } from "../devices/mod.ts";
import type { ConstraintAction, DecodeConstraint } from "./decode_constraint.ts";
import { Scheduler } from "./scheduler.ts";

const folder = new URL("../testdata/models/tiny-qwen3-f32", import.meta.url).pathname;
const EOS = new Set([1017]);

async function withModel(fn: (model: Model, batches: number[][]) => Promise<void>): Promise<void> {
  const plugin = Plugin.open({ cpuMemoryBudgetBytes: 64 * 2 ** 20, cpuThreadsPerDevice: 1 });
  try {
    const model = await plugin.loadModel(folder, { maxSequences: 4, contextLength: 128 });
    const batches: number[][] = [];
    const step = model.step.bind(model);
    model.step = (entries: StepEntry[]) => {
      batches.push(entries.map((e) => e.tokens.length));
      return step(entries);
    };
    await fn(model, batches);
    await model.unload();
  } finally {
    plugin.close();
  }
}

function job(
  prompt: number[],
  maxTokens: number,
  out: number[],
  extra: Partial<{ signal: AbortSignal; onToken: () => void }> = {},
) {
  return {
    promptTokens: prompt,
    sampling: GREEDY,
    maxTokens,
    stopTokenIds: EOS,
    signal: extra.signal,
    onToken: (token: number) => {
      out.push(token);
      extra.onToken?.();
      return true;
    },
  };
}

Deno.test({
  name: "scheduler: a request joins the running decode batch at a step boundary; outputs match solo runs",
  sanitizeResources: false,
  fn: async () => {
    await withModel(async (model, batches) => {
      // Without the prefix cache: the solo runs would leave both prompts in the slots, and the batch
      // shapes this test asserts would shrink to one fed token each.
      const scheduler = new Scheduler(model, { prefillChunkTokens: 4, prefixCache: false });
      const promptA = [10, 20, 30, 40, 50];
      const promptB = [7, 8, 9, 11, 12, 13, 14, 15, 16];
      const soloA: number[] = [];
      const soloB: number[] = [];
      await scheduler.generate(job(promptA, 12, soloA));
      await scheduler.generate(job(promptB, 12, soloB));
      batches.length = 0;
      const a: number[] = [];
      const b: number[] = [];
      let started: Promise<unknown> | null = null;
      const first = scheduler.generate(job(promptA, 12, a, {
        onToken: () => {
          if (a.length === 3) started = scheduler.generate(job(promptB, 12, b));
        },
      }));
      await first;
      await started;
      assert.deepEqual(a, soloA);
      assert.deepEqual(b, soloB);
      // B's prompt (9 tokens, chunks of 4) was fed while A decoded: mixed steps [1, 4], [1, 4], [1, 1].
      assert.ok(
        batches.some((shape) => shape.length === 2 && shape.includes(1) && shape.includes(4)),
        JSON.stringify(batches),
      );
      assert.equal(scheduler.active, 0);
    });
  },
});

Deno.test({
  name: "scheduler: cancellation frees the KV slot at the next step; max tokens and a consumer stop end runs",
  sanitizeResources: false,
  fn: async () => {
    await withModel(async (model) => {
      const scheduler = new Scheduler(model);
      // Four slots: fill them, cancel one mid-way, and a fifth generation can then take a slot.
      const controllers = [0, 1, 2, 3].map(() => new AbortController());
      const outs: number[][] = [[], [], [], []];
      const runs = controllers.map((c, i) =>
        scheduler.generate(
          job([i + 1, 2, 3], 100, outs[i], {
            signal: c.signal,
            onToken: () => outs[i].length === 2 && i === 0 && c.abort(),
          }),
        )
      );
      const first = await runs[0];
      assert.equal(first.cause, "cancelled");
      assert.equal(scheduler.cancelled, 1);
      const fifth: number[] = [];
      const extra = await scheduler.generate(job([5, 6], 4, fifth));
      assert.equal(extra.cause, "length");
      assert.equal(extra.completionTokens, 4);
      controllers.slice(1).forEach((c) => c.abort());
      for (const run of runs.slice(1)) assert.equal((await run).cause, "cancelled");
      const stopped = await scheduler.generate({ ...job([1, 2], 50, []), onToken: () => false });
      assert.deepEqual([stopped.cause, stopped.completionTokens], ["stopped", 1]);
      assert.equal(scheduler.active, 0);
    });
  },
});

Deno.test({
  name: "scheduler: prompts that leave no room are refused before the engine; closing refuses newcomers",
  sanitizeResources: false,
  fn: async () => {
    await withModel(async (model) => {
      const scheduler = new Scheduler(model);
      await assert.rejects(
        scheduler.generate(job(Array(128).fill(5), 4, [])),
        (error: unknown) => error instanceof CortexError && error.code === "context_length_exceeded",
      );
      await assert.rejects(scheduler.generate(job([], 4, [])), /prompt is empty/);
      // A sequence stops with "length" when its KV cache is full.
      const full = await scheduler.generate(job(Array(120).fill(5), 100, []));
      assert.deepEqual(
        [full.cause, full.completionTokens],
        ["length", 9],
        "positions 120..127 hold 8 fed tokens; the 9th is sampled last",
      );
      await scheduler.close(new CortexError("closing", { code: "shutting_down", status: 503 }));
      await assert.rejects(scheduler.generate(job([1], 1, [])), /closing/);
    });
  },
});

Deno.test({
  name:
    "scheduler: a constraint's forced tokens are output at once and fed like a chunk, its mask decides the sample, its end stops",
  sanitizeResources: false,
  fn: async () => {
    await withModel(async (model, batches) => {
      const scheduler = new Scheduler(model, { prefixCache: false });
      const remaining: number[] = [];
      const accepted: number[] = [];
      const script: ConstraintAction[] = [
        { type: "force", tokens: [10, 11, 12] },
        { type: "mask", mask: { allow: Int32Array.from([42]) } },
        { type: "force", tokens: [7] },
        { type: "mask", mask: { allow: Int32Array.from([43]) } },
        { type: "end" },
      ];
      const constraint: DecodeConstraint = {
        next: (left) => (remaining.push(left), script.shift()!),
        accept: (token) => void accepted.push(token),
      };
      const out: number[] = [];
      const logprobs: (SampledLogprobs | null)[] = [];
      const outcome = await scheduler.generate({
        ...job([1, 2, 3, 4, 5], 20, out),
        constraint,
        topLogprobs: 2,
        onToken: (token, lp) => (out.push(token), logprobs.push(lp), true),
      });
      assert.deepEqual(out, [10, 11, 12, 42, 7, 43]);
      assert.deepEqual(accepted, [42, 43], "only sampled tokens are handed back");
      assert.deepEqual([outcome.cause, outcome.completionTokens], ["stopped", 6]);
      assert.deepEqual(
        batches,
        [[8], [2]],
        "prompt + forced in one chunk; then the sample and the forced token",
      );
      assert.deepEqual(remaining, [20, 17, 16, 15, 14], "budget left before each decision");
      assert.deepEqual(logprobs[0], { token: 10, logprob: 0, top: [{ token: 10, logprob: 0 }] });
      assert.equal(logprobs[3]!.token, 42);
      assert.equal(scheduler.active, 0);
    });
  },
});

Deno.test({
  name: "scheduler: a constraint that throws fails its own generation only, and frees the slot",
  sanitizeResources: false,
  fn: async () => {
    await withModel(async (model) => {
      const scheduler = new Scheduler(model);
      const broken: DecodeConstraint = {
        next: () => ({ type: "mask", mask: { allow: Int32Array.from([9]) } }),
        accept: () => {
          throw new Error("constraint bug");
        },
      };
      const other: number[] = [];
      const [failed, fine] = await Promise.allSettled([
        scheduler.generate({ ...job([1, 2, 3], 10, []), constraint: broken }),
        scheduler.generate(job([4, 5, 6], 10, other)),
      ]);
      assert.equal(failed.status, "rejected");
      assert.match(String((failed as PromiseRejectedResult).reason), /constraint bug/);
      assert.equal(fine.status, "fulfilled");
      assert.equal(other.length > 0, true);
      assert.equal(scheduler.active, 0);
    });
  },
});
