// The Qwen3.5 / Qwen3-Next hybrids (Gated DeltaNet + gated attention; dense and MoE with a shared
// expert) against transformers references (neuron/testdata/reference, tools/fixtures/
// make_engine4_models.py), on every CPU kernel path; per-sequence DeltaNet states under continuous
// batching; tensor parallelism.
import assert from "node:assert/strict";
import { GREEDY, type Model, Plugin } from "./mod.ts";
import {
  assertGreedyIds,
  cosine,
  greedyRun,
  loadReference,
  logitsOf,
  maxAbsDiff,
  MODELS_DIR,
  parityTargets,
  type Reference,
  row,
} from "./_test_helpers.ts";

// The issue's bound: transformers' own cached-vs-uncached spread is up to 6e-5 on such models, and
// its prefill runs the chunked delta rule where ours is recurrent; real mistakes move logits ≥ 1.4e-3.
const TOLERANCE = 3e-4;

async function checkParity(model: Model, reference: Reference, label: string): Promise<void> {
  const vocab = reference.vocab_size;
  for (const prompt of reference.prompts) {
    const what = `${reference.model} ${prompt.name} [${label}]`;
    const diff = maxAbsDiff(await logitsOf(model, prompt.ids), reference.read(prompt.logits));
    assert.ok(diff <= TOLERANCE, `${what}: prompt logits max abs diff ${diff} > ${TOLERANCE}`);
    if (!prompt.greedy) continue;
    const decoded = await greedyRun(model, prompt.ids, prompt.greedy.new_tokens);
    assert.equal(prompt.greedy.new_tokens, 64);
    const agreed = assertGreedyIds(
      { label, cuda: false } as never,
      decoded,
      prompt.greedy.ids,
      vocab,
      2 * TOLERANCE,
      what,
    );
    const stepDiff = maxAbsDiff(
      decoded.logits.subarray(0, agreed * vocab),
      reference.read(prompt.greedy.logits).subarray(0, agreed * vocab),
    );
    assert.ok(stepDiff <= TOLERANCE, `${what}: greedy-step logits diff ${stepDiff} > ${TOLERANCE}`);
  }
}

const targets = parityTargets();
/** The f32 hybrids: qwen3_5 dense (vision tower and MTP head in the file), qwen3_next (fused projections,
 * experts with a shared expert), qwen3_5_moe (fused expert tensors). */
const F32_MODELS = ["tiny-qwen3_5-f32", "tiny-qwen3-next-f32", "tiny-qwen3_5-moe-f32"];
for (const target of targets) {
  for (const name of F32_MODELS) {
    Deno.test(`${name} [${target.label}]: prompt logits and 64 greedy steps within 3e-4 of transformers`, async () => {
      const plugin = target.open();
      try {
        const reference = loadReference(name);
        assert.ok(
          reference.prompts.some((p) => p.ids.length > 64),
          "a prompt longer than the delta rule's chunk of 64",
        );
        const model = await plugin.loadModel(`${MODELS_DIR}/${name}`, { devices: [target.device(plugin)] });
        try {
          const config = JSON.parse(await Deno.readTextFile(`${MODELS_DIR}/${name}/config.json`));
          assert.equal(model.info.architecture, config.architectures[0]);
          await checkParity(model, reference, target.label);
        } finally {
          await model.unload();
        }
      } finally {
        plugin.close();
      }
    });
  }

  Deno.test(`tiny-qwen3_5-moe-bf16 [${target.label}]: cosine >= 0.9999 per position, greedy ids identical`, async () => {
    const plugin = target.open();
    try {
      const reference = loadReference("tiny-qwen3_5-moe-bf16");
      const vocab = reference.vocab_size;
      const model = await plugin.loadModel(`${MODELS_DIR}/tiny-qwen3_5-moe-bf16`, {
        devices: [target.device(plugin)],
      });
      try {
        assert.equal(model.info.dtype, "bf16");
        for (const prompt of reference.prompts) {
          const ours = await logitsOf(model, prompt.ids);
          const theirs = reference.read(prompt.logits);
          for (let r = 0; r < prompt.ids.length; r++) {
            const similarity = cosine(row(ours, r, vocab), row(theirs, r, vocab));
            assert.ok(similarity >= 0.9999, `${prompt.name} position ${r}: cosine ${similarity}`);
          }
          if (!prompt.greedy) continue;
          const decoded = await greedyRun(model, prompt.ids, prompt.greedy.new_tokens);
          assert.deepEqual(decoded.ids, prompt.greedy.ids, `${prompt.name} greedy ids`);
        }
      } finally {
        await model.unload();
      }
    } finally {
      plugin.close();
    }
  });
}

for (const name of F32_MODELS) {
  Deno.test(`${name}: 8 concurrent sequences of mixed lengths, prefilled and decoded in shared steps, equal each alone; a reused slot starts from a zero state`, async () => {
    const target = targets[0];
    const plugin = target.open();
    try {
      const model = await plugin.loadModel(`${MODELS_DIR}/${name}`, {
        devices: [target.device(plugin)],
        maxSequences: 8,
        contextLength: 256,
      });
      const vocab = model.info.vocabSize;
      try {
        const prompts = Array.from(
          { length: 8 },
          (_, i) => Array.from({ length: 3 + 17 * i }, (_, t) => (31 * i + 7 * t + 5) % vocab),
        );
        const alone: number[][] = [];
        for (const prompt of prompts) alone.push((await greedyRun(model, prompt, 6)).ids);

        // Together: every step carries each sequence's next chunk (prefill in two parts, then decode).
        const sequences = await Promise.all(prompts.map(() => model.newSequence()));
        const feeds = prompts.map((p) => p.slice(0, Math.ceil(p.length / 2)));
        const rest = prompts.map((p) => p.slice(Math.ceil(p.length / 2)));
        await model.step(sequences.map((sequence, i) => ({ sequence, tokens: feeds[i] })));
        const together: number[][] = prompts.map(() => []);
        let next = rest;
        for (let s = 0; s < 6; s++) {
          const results = await model.step(
            sequences.map((sequence, i) => ({ sequence, tokens: next[i], sampling: GREEDY })),
          );
          next = results.map((r) => [r.token!]);
          results.forEach((r, i) => together[i].push(r.token!));
        }
        assert.deepEqual(together, alone);
        for (const sequence of sequences) await sequence.free();

        // Slots were used and freed; a fresh sequence's logits equal the first run's.
        const first = await logitsOf(model, prompts[3]);
        const again = await logitsOf(model, prompts[3]);
        assert.equal(
          maxAbsDiff(row(first, prompts[3].length - 1, vocab), row(again, prompts[3].length - 1, vocab)),
          0,
        );
      } finally {
        await model.unload();
      }
    } finally {
      plugin.close();
    }
  });
}

for (const name of F32_MODELS) {
  Deno.test(`${name}: tensor parallelism over 2 CPU devices (DeltaNet and gated attention split by heads, experts by columns) equals one device bit for bit`, async () => {
    const plugin = Plugin.open({ cpuDevices: 2, cpuThreadsPerDevice: 1 });
    try {
      const cpus = plugin.devices().filter((device) => device.backend === "cpu").map((device) =>
        device.index
      );
      assert.equal(cpus.length, 2);
      const prompts = [
        Array.from({ length: 80 }, (_, t) => (13 * t + 2) % 1024),
        Array.from({ length: 5 }, (_, t) => (29 * t + 11) % 1024),
      ];
      const runs: { logits: Float32Array[]; tokens: number[] }[] = [];
      for (const devices of [[cpus[0]], cpus]) {
        const model = await plugin.loadModel(`${MODELS_DIR}/${name}`, { devices, contextLength: 128 });
        try {
          const sequences = await Promise.all(prompts.map(() => model.newSequence()));
          const out = { logits: [] as Float32Array[], tokens: [] as number[] };
          let feeds = prompts;
          for (let s = 0; s < 8; s++) {
            const results = await model.step(
              sequences.map((sequence, i) => ({
                sequence,
                tokens: feeds[i],
                sampling: GREEDY,
                allLogits: true,
              })),
            );
            for (const result of results) {
              out.logits.push(result.logits!);
              out.tokens.push(result.token!);
            }
            feeds = results.map((result) => [result.token!]);
          }
          for (const sequence of sequences) await sequence.free();
          runs.push(out);
        } finally {
          await model.unload();
        }
      }
      assert.deepEqual(runs[1].tokens, runs[0].tokens);
      runs[0].logits.forEach((logits, i) =>
        assert.equal(maxAbsDiff(runs[1].logits[i], logits), 0, `output ${i}`)
      );
    } finally {
      plugin.close();
    }
  });
}

Deno.test("hybrids quantized at load (ISQ q8_0): every matrix k-chunk holds whole blocks, logits stay near f32", async () => {
  const plugin = Plugin.open();
  try {
    for (const name of F32_MODELS) {
      const reference = loadReference(name);
      const prompt = reference.prompts.find((p) => p.name === "prompt_7")!;
      const model = await plugin.loadModel(`${MODELS_DIR}/${name}`, { quant: "q8_0" });
      try {
        assert.equal(model.info.weightDtype, "q8_0");
        const ours = await logitsOf(model, prompt.ids);
        const theirs = reference.read(prompt.logits);
        for (let r = 0; r < prompt.ids.length; r++) {
          // Tiny random models are sensitive (head dims of 16); q8_0 keeps them within a few percent.
          const similarity = cosine(row(ours, r, reference.vocab_size), row(theirs, r, reference.vocab_size));
          assert.ok(similarity > 0.95, `${name} position ${r}: cosine ${similarity}`);
        }
      } finally {
        await model.unload();
      }
    }
  } finally {
    plugin.close();
  }
});
