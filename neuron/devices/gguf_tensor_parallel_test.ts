// Tensor parallelism with GGUF and quantized weights: a model sharded over 2 CPU devices (rows split
// as for safetensors, columns by whole quantization blocks) gives one device's logits bit for bit —
// the F32 GGUFs (llama31-tiny also exercises the un-permuted q/k rows under a row split), the Q8_0
// GGUF, and ISQ q8_0 / q4_k_m of the HF folder.
import assert from "node:assert/strict";
import { GREEDY, type LoadOptions, type Model, Plugin, PluginError } from "./mod.ts";
import { fixtureModel, GGUF_FIXTURES, ggufFixturesAvailable } from "./_gguf_fixtures.ts";

/** Logits of a batched prefill of both prompts (every position), then 8 batched greedy steps. */
async function run(model: Model, prompts: number[][]): Promise<Float32Array[]> {
  const sequences = [];
  for (const _ of prompts) sequences.push(await model.newSequence());
  const logits: Float32Array[] = [];
  let feeds = prompts;
  for (let step = 0; step <= 8; step++) {
    const results = await model.step(
      sequences.map((sequence, i) => ({ sequence, tokens: feeds[i], sampling: GREEDY, allLogits: true })),
    );
    for (const result of results) logits.push(result.logits!);
    feeds = results.map((result) => [result.token!]);
  }
  for (const sequence of sequences) await sequence.free();
  return logits;
}

async function checkTensorParallel(path: string, options: LoadOptions = {}): Promise<void> {
  const plugin = Plugin.open({ cpuDevices: 2, cpuThreadsPerDevice: 1 });
  try {
    const cpus = plugin.devices().filter((device) => device.backend === "cpu").map((device) => device.index);
    const prompts = [[1, 436, 89, 232, 399, 97, 26], [1, 300, 301]];
    const single = await plugin.loadModel(path, { ...options, devices: [cpus[0]] });
    const expected = await run(single, prompts);
    await single.unload();
    const sharded = await plugin.loadModel(path, { ...options, devices: cpus });
    try {
      assert.equal(sharded.info.devices.length, 2);
      assert.equal(sharded.info.weightDtype, single.info.weightDtype);
      const actual = await run(sharded, prompts);
      assert.equal(actual.length, expected.length);
      actual.forEach((logits, i) =>
        assert.deepEqual(logits, expected[i], `${path} ${options.quant ?? ""}: output ${i}`)
      );
    } finally {
      await sharded.unload();
    }
  } finally {
    plugin.close();
  }
}

if (ggufFixturesAvailable()) {
  const qwen = fixtureModel("qwen3-tiny");
  for (const file of ["qwen3-tiny-f32.gguf", "qwen3-tiny-q8_0.gguf", "qwen3-tiny-q4_0.gguf"]) {
    Deno.test(`${file}: TP=2 equals one device bit for bit`, () =>
      checkTensorParallel(`${qwen.dir}/${file}`));
  }
  Deno.test("llama31-tiny-f32.gguf: TP=2 equals one device bit for bit", () =>
    checkTensorParallel(`${GGUF_FIXTURES}/llama31-tiny/llama31-tiny-f32.gguf`));
  Deno.test("ISQ q8_0: TP=2 equals one device bit for bit", () =>
    checkTensorParallel(`${qwen.dir}/hf`, { quant: "q8_0" }));

  // ffn_down's 768 columns give 384 per rank over 2 devices: not a whole number of 256-wide K blocks.
  for (
    const [label, path, quant, tensor] of [
      [
        "qwen3-tiny-q4_k_m.gguf",
        `${qwen.dir}/qwen3-tiny-q4_k_m.gguf`,
        undefined,
        "blk\\.0\\.ffn_down\\.weight",
      ],
      ["ISQ q4_k_m", `${qwen.dir}/hf`, "q4_k_m", "model\\.layers\\.0\\.mlp\\.down_proj\\.weight"],
    ] as const
  ) {
    Deno.test(`${label}: a column split that cuts a quantization block is refused naming the tensor`, async () => {
      const plugin = Plugin.open({ cpuDevices: 2, cpuThreadsPerDevice: 1 });
      try {
        const cpus = plugin.devices().filter((device) => device.backend === "cpu").map((device) =>
          device.index
        );
        const baseline = (await plugin.queryMemory(cpus[0])).freeBytes;
        await assert.rejects(plugin.loadModel(path, { devices: cpus, quant }), (error) => {
          assert.ok(error instanceof PluginError);
          assert.equal(error.code, "unsupported_architecture", error.message);
          assert.match(
            error.message,
            new RegExp(
              `splits '${tensor}' into 384 columns per rank, not a whole number of q4_k blocks of 256`,
            ),
          );
          return true;
        });
        assert.equal((await plugin.queryMemory(cpus[0])).freeBytes, baseline);
      } finally {
        plugin.close();
      }
    });
  }
}
