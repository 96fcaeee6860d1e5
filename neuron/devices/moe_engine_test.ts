// Qwen3-MoE in the engine beyond parity: a sequence's logits do not depend on which others share
// the step (8 concurrent sequences of mixed lengths equal each alone, bit for bit), TP=2 over CPU
// devices equals one device bit for bit, transformers' fused expert layout loads to the same model
// as the per-expert one, and the memory accounting counts every expert.
import assert from "node:assert/strict";
import { GREEDY, type Model, Plugin, type Sequence } from "./mod.ts";
import { cpuIsasToTest, maxAbsDiff, MODELS_DIR, withTempDir } from "./_test_helpers.ts";
import { PluginError } from "./errors.ts";
import { encodeSafetensors, type TensorSpec } from "./_safetensors_writer.ts";
import { GGUF_FIXTURES, ggufFixturesAvailable } from "./_gguf_fixtures.ts";

const MOE_DIR = `${GGUF_FIXTURES}/qwen3moe-tiny`;
const STEPS = 5;
/** Mixed lengths, 8 sequences (prompt ids in the vocabulary's ordinary range 21..511). */
const PROMPTS = [1, 9, 3, 17, 2, 30, 5, 12].map((length, s) =>
  Array.from({ length }, (_, i) => 21 + ((s * 131 + i * 37) % 490))
);

/** Prefill (every position's logits) then greedy decode steps, all sequences in the same steps. */
async function together(model: Model, prompts: number[][]): Promise<Float32Array[][]> {
  const sequences: Sequence[] = [];
  for (const _ of prompts) sequences.push(await model.newSequence());
  const out: Float32Array[][] = prompts.map(() => []);
  let feeds = prompts;
  for (let s = 0; s <= STEPS; s++) {
    const results = await model.step(
      sequences.map((sequence, i) => ({ sequence, tokens: feeds[i], sampling: GREEDY, allLogits: true })),
    );
    results.forEach((result, i) => out[i].push(result.logits!));
    feeds = results.map((result) => [result.token!]);
  }
  for (const sequence of sequences) await sequence.free();
  return out;
}

function assertIdentical(label: string, actual: Float32Array[][], expected: Float32Array[][]): void {
  expected.forEach((steps, i) =>
    steps.forEach((logits, s) => {
      assert.equal(actual[i][s].length, logits.length);
      const diff = maxAbsDiff(actual[i][s], logits);
      assert.equal(diff, 0, `${label}: sequence ${i} step ${s} differs by ${diff}`);
    })
  );
}

if (ggufFixturesAvailable()) {
  for (const file of ["hf", "qwen3moe-tiny-q8_0.gguf", "qwen3moe-tiny-q4_k_m.gguf"]) {
    for (const cpuIsa of cpuIsasToTest()) {
      Deno.test(`qwen3moe ${file} [${cpuIsa}]: 8 concurrent sequences equal each alone, bit for bit`, async () => {
        const plugin = Plugin.open({ cpuIsa, cpuThreadsPerDevice: 2 });
        try {
          const model = await plugin.loadModel(`${MOE_DIR}/${file}`, { contextLength: 64, maxSequences: 8 });
          try {
            const alone: Float32Array[][] = [];
            for (const prompt of PROMPTS) alone.push((await together(model, [prompt]))[0]);
            assertIdentical(file, await together(model, PROMPTS), alone);
            // Slots freed above are reused: the same batch again gives the same logits.
            assertIdentical(`${file} (slots reused)`, await together(model, PROMPTS), alone);
          } finally {
            await model.unload();
          }
        } finally {
          plugin.close();
        }
      });
    }
  }

  for (const file of ["hf", "qwen3moe-tiny-q8_0.gguf", `${MODELS_DIR}/tiny-qwen3-moe-f32`]) {
    Deno.test(`qwen3moe ${file.split("/").pop()}: TP=2 over CPU devices equals one device bit for bit`, async () => {
      for (const cpuIsa of cpuIsasToTest()) {
        const plugin = Plugin.open({ cpuDevices: 2, cpuThreadsPerDevice: 1, cpuIsa });
        try {
          const cpus = plugin.devices().filter((device) => device.backend === "cpu").map((device) =>
            device.index
          );
          const path = file.startsWith("/") ? file : `${MOE_DIR}/${file}`;
          const single = await plugin.loadModel(path, { contextLength: 64, devices: [cpus[0]] });
          const expected = await together(single, PROMPTS.slice(0, 3));
          await single.unload();
          const split = await plugin.loadModel(path, { contextLength: 64, devices: cpus });
          assert.deepEqual(split.info.devices, cpus);
          assertIdentical(`TP=2 ${file} (${cpuIsa})`, await together(split, PROMPTS.slice(0, 3)), expected);
          await split.unload();
        } finally {
          plugin.close();
        }
      }
    });
  }

  Deno.test("qwen3moe: transformers' fused expert tensors load to the same model as per-expert ones", async () => {
    const bytes = Deno.readFileSync(`${MOE_DIR}/hf/model.safetensors`);
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    const config = JSON.parse(Deno.readTextFileSync(`${MOE_DIR}/hf/config.json`));
    const experts = config.num_local_experts as number;
    const values = (name: string): Float32Array => {
      const [begin, end] = header[name].data_offsets as [number, number];
      return new Float32Array(bytes.slice(8 + headerLength + begin, 8 + headerLength + end).buffer);
    };
    const tensors: TensorSpec[] = [];
    const fused = new Map<string, { gateUp: Float32Array[]; down: Float32Array[] }>();
    for (const name of Object.keys(header).sort()) {
      if (name === "__metadata__") continue;
      const match = /^(model\.layers\.\d+\.mlp\.experts)\.(\d+)\.(gate|up|down)_proj\.weight$/.exec(name);
      if (match === null) {
        tensors.push({ name, dtype: "F32", shape: header[name].shape, values: values(name) });
        continue;
      }
      const layer = fused.get(match[1]) ?? { gateUp: [], down: [] };
      fused.set(match[1], layer);
      const e = Number(match[2]);
      if (match[3] === "down") layer.down[e] = values(name);
      else layer.gateUp[2 * e + (match[3] === "gate" ? 0 : 1)] = values(name);
    }
    const hidden = config.moe_intermediate_size as number, dim = config.hidden_size as number;
    for (const [prefix, layer] of fused) {
      const join = (parts: Float32Array[]): Float32Array => {
        const out = new Float32Array(parts.reduce((n, part) => n + part.length, 0));
        let at = 0;
        for (const part of parts) {
          out.set(part, at);
          at += part.length;
        }
        return out;
      };
      tensors.push({
        name: `${prefix}.gate_up_proj`,
        dtype: "F32",
        shape: [experts, 2 * hidden, dim],
        values: join(layer.gateUp),
      });
      tensors.push({
        name: `${prefix}.down_proj`,
        dtype: "F32",
        shape: [experts, dim, hidden],
        values: join(layer.down),
      });
    }
    await withTempDir(async (dir) => {
      Deno.writeFileSync(`${dir}/model.safetensors`, encodeSafetensors(tensors));
      Deno.copyFileSync(`${MOE_DIR}/hf/config.json`, `${dir}/config.json`);
      const plugin = Plugin.open();
      try {
        const perExpert = await plugin.loadModel(`${MOE_DIR}/hf`, { contextLength: 64 });
        const expected = await together(perExpert, PROMPTS.slice(0, 2));
        const weightBytes = perExpert.info.weightBytes;
        await perExpert.unload();
        const model = await plugin.loadModel(dir, { contextLength: 64 });
        assert.equal(model.info.weightBytes, weightBytes);
        assertIdentical("fused layout", await together(model, PROMPTS.slice(0, 2)), expected);
        await model.unload();
      } finally {
        plugin.close();
      }
    });
  });

  Deno.test("qwen3moe: the weight bytes count every expert, not only the active ones", async () => {
    const plugin = Plugin.open();
    try {
      const model = await plugin.loadModel(`${MOE_DIR}/hf`, { contextLength: 64 });
      // f32: embed + lm_head, per layer q,k,v,o + router + 8 experts × 3 matrices, and the norms.
      const c = JSON.parse(Deno.readTextFileSync(`${MOE_DIR}/hf/config.json`));
      const dim = c.hidden_size,
        q = c.num_attention_heads * c.head_dim,
        kv = c.num_key_value_heads * c.head_dim;
      const perLayer = dim * (2 * q + 2 * kv) +
        c.num_local_experts * (dim + 3 * dim * c.moe_intermediate_size) +
        2 * dim + 2 * c.head_dim;
      const expected = 4 * (2 * c.vocab_size * dim + dim + c.num_hidden_layers * perLayer + c.head_dim / 2);
      assert.equal(model.info.weightBytes, expected);
      await model.unload();
    } finally {
      plugin.close();
    }
  });
}

Deno.test("qwen3moe: config keys that change inference and are not implemented are refused by name", async () => {
  const folder = `${MODELS_DIR}/tiny-qwen3-moe-f32`;
  const base = JSON.parse(Deno.readTextFileSync(`${folder}/config.json`));
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    [
      "shared expert",
      { shared_expert_intermediate_size: 64 },
      "unsupported_architecture",
      /shared_expert_intermediate_size/,
    ],
    [
      "expert counts disagree",
      { num_local_experts: 4 },
      "bad_model",
      /num_experts 8 and num_local_experts 4/,
    ],
    [
      "top-k above the experts",
      { num_experts_per_tok: 9 },
      "bad_model",
      /num_experts_per_tok 9 exceeds the 8 experts/,
    ],
    ["dense layer out of range", { mlp_only_layers: [7] }, "bad_model", /mlp_only_layers/],
    ["no expert width", { moe_intermediate_size: null }, "bad_model", /moe_intermediate_size/],
  ];
  const plugin = Plugin.open();
  try {
    await withTempDir(async (dir) => {
      for (const [label, change, code, pattern] of cases) {
        const model = `${dir}/${label.replaceAll(" ", "-")}`;
        Deno.mkdirSync(model);
        Deno.symlinkSync(`${folder}/model.safetensors`, `${model}/model.safetensors`);
        Deno.writeTextFileSync(`${model}/config.json`, JSON.stringify({ ...base, ...change }));
        await assert.rejects(plugin.loadModel(model), (error: unknown) => {
          assert.ok(error instanceof PluginError, label);
          assert.equal(error.code, code, `${label}: ${error.message}`);
          assert.match(error.message, pattern, label);
          return true;
        });
      }
    });
  } finally {
    plugin.close();
  }
});

Deno.test("qwen3moe: the HF folder quantized at load to q8_0 is llama-quantize's Q8_0 GGUF, logit for logit", async () => {
  const plugin = Plugin.open({ cpuThreadsPerDevice: 2 });
  try {
    const gguf = await plugin.loadModel(`${MOE_DIR}/qwen3moe-tiny-q8_0.gguf`, { contextLength: 64 });
    const expected = await together(gguf, PROMPTS.slice(0, 3));
    const ggufBytes = gguf.info.weightBytes;
    await gguf.unload();
    const isq = await plugin.loadModel(`${MOE_DIR}/hf`, { contextLength: 64, quant: "q8_0" });
    assert.equal(isq.info.weightDtype, "q8_0");
    assert.equal(isq.info.weightBytes, ggufBytes);
    assertIdentical("ISQ q8_0 vs the Q8_0 GGUF", await together(isq, PROMPTS.slice(0, 3)), expected);
    await isq.unload();
  } finally {
    plugin.close();
  }
});
