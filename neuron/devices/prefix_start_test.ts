// A sequence started from a prefix already in a KV slot (Model.newSequence's `start`, the engine
// half of the prefix cache): it must compute exactly what a cold run computes — same logits bit for
// bit, same greedy ids — whether the prefix stays in its own free slot, is copied from a busy one,
// comes through tensor parallelism or through quantized weights; bad starts are refused by name.
import assert from "node:assert/strict";
import { GREEDY, type Model, Plugin, type Sequence } from "./mod.ts";
import { MODELS_DIR, pluginError } from "./_test_helpers.ts";

const PROMPT = Array.from({ length: 45 }, (_, i) => (i * 37 + 11) % 250 + 3);
const STEPS = 6;

/** Feeds `tokens` to `sequence` then decodes greedily; every step's logits and the ids. */
async function continueRun(
  model: Model,
  sequence: Sequence,
  tokens: number[],
): Promise<{ ids: number[]; logits: Float32Array[] }> {
  const ids: number[] = [];
  const logits: Float32Array[] = [];
  let feed = tokens;
  for (let s = 0; s < STEPS; s++) {
    const [result] = await model.step([{ sequence, tokens: feed, sampling: GREEDY, wantLogits: true }]);
    logits.push(result.logits!);
    ids.push(result.token!);
    feed = [result.token!];
  }
  return { ids, logits };
}

async function coldRun(model: Model): Promise<{ ids: number[]; logits: Float32Array[] }> {
  const sequence = await model.newSequence();
  try {
    return await continueRun(model, sequence, PROMPT);
  } finally {
    await sequence.free();
  }
}

function assertSameRun(
  actual: { ids: number[]; logits: Float32Array[] },
  expected: { ids: number[]; logits: Float32Array[] },
  label: string,
): void {
  assert.deepEqual(actual.ids, expected.ids, `${label}: greedy ids`);
  for (let s = 0; s < STEPS; s++) {
    assert.deepEqual(actual.logits[s], expected.logits[s], `${label}: step ${s} logits`);
  }
}

/** The three ways a prefix start can go, each against the cold run. */
async function checkPrefixStarts(model: Model, label: string): Promise<void> {
  const cold = await coldRun(model);
  // 1. The prefix stays where it is: a finished sequence's slot keeps its keys and values.
  const first = await model.newSequence();
  await continueRun(model, first, PROMPT);
  const slot = first.slot;
  await first.free();
  const reused = await model.newSequence({ slot, sourceSlot: slot, prefix: PROMPT.slice(0, 40) });
  assert.equal(reused.slot, slot);
  assert.equal(reused.position, 40);
  assertSameRun(await continueRun(model, reused, PROMPT.slice(40)), cold, `${label} same slot`);
  // 2. Copied from a slot that is still in use (and keeps decoding afterwards).
  const busy = reused;
  const other = (slot + 1) % model.info.maxSequences;
  const copied = await model.newSequence({ slot: other, sourceSlot: busy.slot, prefix: PROMPT.slice(0, 33) });
  assert.equal(copied.position, 33);
  assertSameRun(await continueRun(model, copied, PROMPT.slice(33)), cold, `${label} copied from a busy slot`);
  await busy.free();
  await copied.free();
  // 3. The whole prompt but its last token (the most a request can reuse).
  const nearly = await model.newSequence({
    slot,
    sourceSlot: other,
    prefix: PROMPT.slice(0, PROMPT.length - 1),
  });
  assertSameRun(await continueRun(model, nearly, PROMPT.slice(-1)), cold, `${label} all but one`);
  await nearly.free();
}

Deno.test("a sequence started from a cached prefix computes what a cold run computes, bit for bit (f32, bf16, ISQ q8_0)", async () => {
  const plugin = Plugin.open();
  try {
    for (
      const [name, quant] of [["tiny-qwen3-f32", undefined], ["tiny-qwen3-bf16", undefined], [
        "tiny-qwen3-f32",
        "q8_0",
      ]] as const
    ) {
      const model = await plugin.loadModel(`${MODELS_DIR}/${name}`, {
        contextLength: 96,
        maxSequences: 3,
        quant,
      });
      try {
        await checkPrefixStarts(model, `${name}${quant ? ` ${quant}` : ""}`);
      } finally {
        await model.unload();
      }
    }
  } finally {
    plugin.close();
  }
});

Deno.test("prefix starts under tensor parallelism (TP=2) equal the single-device cold run", async () => {
  const plugin = Plugin.open({ cpuDevices: 2, cpuThreadsPerDevice: 1 });
  try {
    const cpus = plugin.devices().filter((device) => device.backend === "cpu").map((device) => device.index);
    const single = await plugin.loadModel(`${MODELS_DIR}/tiny-qwen3-f32`, {
      contextLength: 96,
      devices: [cpus[0]],
    });
    const cold = await coldRun(single);
    await single.unload();
    const model = await plugin.loadModel(`${MODELS_DIR}/tiny-qwen3-f32`, {
      contextLength: 96,
      maxSequences: 3,
      devices: cpus,
    });
    try {
      const first = await model.newSequence();
      await continueRun(model, first, PROMPT);
      const copied = await model.newSequence({
        slot: 2,
        sourceSlot: first.slot,
        prefix: PROMPT.slice(0, 30),
      });
      assertSameRun(await continueRun(model, copied, PROMPT.slice(30)), cold, "TP=2 copied");
      await first.free();
      await copied.free();
    } finally {
      await model.unload();
    }
  } finally {
    plugin.close();
  }
});

Deno.test("bad prefix starts are refused by name and take no slot", async () => {
  const plugin = Plugin.open();
  try {
    const model = await plugin.loadModel(`${MODELS_DIR}/tiny-qwen3-f32`, {
      contextLength: 64,
      maxSequences: 2,
    });
    try {
      const held = await model.newSequence();
      await assert.rejects(
        model.newSequence({ slot: held.slot }),
        pluginError("invalid_argument", /slot 0 is in use by sequence/),
      );
      await assert.rejects(
        model.newSequence({ slot: 2 }),
        pluginError("invalid_argument", /slot 2 is outside the model's slots \[0, 2\)/),
      );
      await assert.rejects(
        model.newSequence({ slot: 1, sourceSlot: 5, prefix: [1, 2] }),
        pluginError("invalid_argument", /source slot 5 is outside/),
      );
      await assert.rejects(
        model.newSequence({ slot: 1, sourceSlot: 0, prefix: [1, 99999] }),
        pluginError("invalid_argument", /prefix token id 99999 at index 1 is outside the vocabulary/),
      );
      await assert.rejects(
        model.newSequence({ slot: 1, sourceSlot: 0, prefix: new Array(64).fill(1) }),
        pluginError("invalid_argument", /a prefix of 64 tokens leaves nothing of the context length 64/),
      );
      // Nothing was taken: the last slot is still free.
      const last = await model.newSequence();
      assert.equal(last.slot, 1);
      await last.free();
      await held.free();
    } finally {
      await model.unload();
    }
    const hybrid = await plugin.loadModel(`${MODELS_DIR}/tiny-qwen3-next-f32`, { contextLength: 64 });
    try {
      await assert.rejects(
        hybrid.newSequence({ slot: 0, sourceSlot: 0, prefix: [1, 2, 3] }),
        pluginError(
          "invalid_argument",
          /starts only from a prefix whose DeltaNet states were kept .*slot 0 has no snapshot/,
        ),
      );
      assert.equal(hybrid.info.prefixBlockBytes, 0);
      await assert.rejects(
        hybrid.storePrefixBlocks(0, 0, [1]),
        pluginError("invalid_argument", /a hybrid model keeps no prefix blocks/),
      );
    } finally {
      await hybrid.unload();
    }
  } finally {
    plugin.close();
  }
});

/** A hybrid run that feeds PROMPT in two chunks split at `cut` (the first kept as a snapshot when asked). */
async function hybridRun(
  model: Model,
  sequence: Sequence,
  cut: number,
  snapshot: boolean,
): Promise<{ ids: number[]; logits: Float32Array[] }> {
  await model.step([{ sequence, tokens: PROMPT.slice(0, cut), snapshot }]);
  return await continueRun(model, sequence, PROMPT.slice(cut));
}

for (const name of ["tiny-qwen3-next-f32", "tiny-qwen3_5-f32"]) {
  Deno.test(`${name}: a sequence started from a snapshot of the DeltaNet states computes what a cold run split there computes, bit for bit`, async () => {
    const plugin = Plugin.open();
    try {
      const model = await plugin.loadModel(`${MODELS_DIR}/${name}`, { contextLength: 96, maxSequences: 3 });
      try {
        assert.equal(model.info.prefixReuse, "snapshot");
        const cut = 30;
        const coldSequence = await model.newSequence();
        const cold = await hybridRun(model, coldSequence, cut, false);
        await coldSequence.free();
        // The first run keeps its states after `cut` tokens, then goes on past them.
        const first = await model.newSequence();
        assertSameRun(await hybridRun(model, first, cut, true), cold, `${name} with a snapshot taken`);
        const slot = first.slot;
        await first.free();
        // In place: the slot's live states moved on; the snapshot brings them back to `cut`.
        const again = await model.newSequence({ slot, sourceSlot: slot, prefix: PROMPT.slice(0, cut) });
        assert.equal(again.position, cut);
        assertSameRun(await continueRun(model, again, PROMPT.slice(cut)), cold, `${name} in place`);
        // Copied from the busy slot (keys, values and the snapshot) into another.
        const other = (slot + 1) % 3;
        const copied = await model.newSequence({
          slot: other,
          sourceSlot: slot,
          prefix: PROMPT.slice(0, cut),
        });
        assertSameRun(await continueRun(model, copied, PROMPT.slice(cut)), cold, `${name} copied`);
        await again.free();
        // The copy keeps the snapshot too; a prefix of another length is refused by name.
        await assert.rejects(
          model.newSequence({ slot, sourceSlot: other, prefix: PROMPT.slice(0, cut - 1) }),
          pluginError(
            "invalid_argument",
            new RegExp(`slot ${other} has one at position ${cut}, the prefix has ${cut - 1} tokens`),
          ),
        );
        await copied.free();
        const fromCopy = await model.newSequence({ slot, sourceSlot: other, prefix: PROMPT.slice(0, cut) });
        assertSameRun(
          await continueRun(model, fromCopy, PROMPT.slice(cut)),
          cold,
          `${name} from the copy's snapshot`,
        );
        await fromCopy.free();
      } finally {
        await model.unload();
      }
    } finally {
      plugin.close();
    }
  });
}

/** A prefix brought back from prefix-cache blocks after its slot was overwritten, against the cold run. */
async function checkBlockStart(model: Model, label: string): Promise<void> {
  const cold = await coldRun(model);
  const first = await model.newSequence();
  await continueRun(model, first, PROMPT);
  const slot = first.slot;
  await model.storePrefixBlocks(slot, 0, [101]);
  await first.free();
  // Another conversation overwrites the slot, so the prefix can only come from the block.
  const stranger = await model.newSequence({ slot });
  await continueRun(model, stranger, PROMPT.map((t) => (t * 7 + 5) % 250 + 3));
  await stranger.free();
  const started = await model.newSequence({ slot, blocks: [101], prefix: PROMPT.slice(0, 32) });
  assert.equal(started.position, 32);
  assertSameRun(await continueRun(model, started, PROMPT.slice(32)), cold, `${label} from a block`);
  await started.free();
  await model.dropPrefixBlocks([101]);
}

Deno.test("a prefix stored in prefix-cache blocks outlives its slot and computes what a cold run computes (one device, TP=2)", async () => {
  const plugin = Plugin.open({ cpuDevices: 2, cpuThreadsPerDevice: 1 });
  try {
    const cpus = plugin.devices().filter((device) => device.backend === "cpu").map((device) => device.index);
    for (const devices of [[cpus[0]], cpus]) {
      const model = await plugin.loadModel(`${MODELS_DIR}/tiny-qwen3-f32`, {
        contextLength: 96,
        maxSequences: 2,
        devices,
      });
      try {
        assert.ok(model.info.prefixBlockBytes > 0);
        await checkBlockStart(model, `${devices.length} device(s)`);
      } finally {
        await model.unload();
      }
    }
  } finally {
    plugin.close();
  }
});

Deno.test("prefix-cache blocks are reserved device memory: a store that does not fit stores nothing, a drop gives it back", async () => {
  const probe = Plugin.open();
  const probeModel = await probe.loadModel(`${MODELS_DIR}/tiny-qwen3-f32`, {
    contextLength: 96,
    maxSequences: 2,
  });
  const { weightBytes, kvCacheBytes, prefixBlockBytes } = probeModel.info;
  await probeModel.unload();
  probe.close();
  // Room for the model and one and a half blocks.
  const plugin = Plugin.open({
    cpuMemoryBudgetBytes: weightBytes + kvCacheBytes + 1.5 * prefixBlockBytes + 4096,
  });
  try {
    const model = await plugin.loadModel(`${MODELS_DIR}/tiny-qwen3-f32`, {
      contextLength: 96,
      maxSequences: 2,
    });
    try {
      const device = model.info.devices[0];
      const before = (await plugin.queryMemory(device)).freeBytes;
      await assert.rejects(
        model.storePrefixBlocks(0, 0, [1, 2]),
        pluginError("out_of_memory", /prefix cache block/),
      );
      assert.equal((await plugin.queryMemory(device)).freeBytes, before, "a refused store reserves nothing");
      await model.storePrefixBlocks(0, 0, [1]);
      assert.equal((await plugin.queryMemory(device)).freeBytes, before - prefixBlockBytes);
      await assert.rejects(
        model.storePrefixBlocks(0, 32, [1]),
        pluginError("invalid_argument", /prefix block id 1 is already in use/),
      );
      await assert.rejects(
        model.newSequence({ slot: 1, blocks: [9], prefix: PROMPT.slice(0, 32) }),
        pluginError("invalid_argument", /prefix block id 9 is not in the model's pool/),
      );
      await assert.rejects(
        model.newSequence({ slot: 1, blocks: [1], prefix: PROMPT.slice(0, 31) }),
        pluginError("invalid_argument", /1 prefix blocks hold 32 tokens, the prefix has 31/),
      );
      await assert.rejects(
        model.storePrefixBlocks(0, 80, [5]),
        pluginError("invalid_argument", /positions 80 \.\. 111 are outside the context length 96/),
      );
      await model.dropPrefixBlocks([1, 77]);
      assert.equal((await plugin.queryMemory(device)).freeBytes, before, "a drop gives the memory back");
    } finally {
      await model.unload();
    }
  } finally {
    plugin.close();
  }
});
