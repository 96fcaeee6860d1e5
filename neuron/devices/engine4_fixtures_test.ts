// Integrity of the Engine IV fixtures (tools/fixtures/make_engine4_models.py, make_references.py): every reference
// file is the one its header describes, the greedy ids are the argmax of their logits rows, the recorded margins are
// the rows' top-2 gaps, and every model folder is a well-formed safetensors checkpoint of the dtype the header says.
// These are the invariants the Engine IV parity tests rely on; no plugin is needed.
import assert from "node:assert/strict";
import { loadReference, MODELS_DIR, REPO_ROOT } from "./_test_helpers.ts";

const ENGINE4 = [
  "tiny-llama31-f32",
  "tiny-qwen3-yarn-f32",
  "tiny-qwen3-linear-rope-f32",
  "tiny-qwen3-swa-f32",
  "tiny-qwen3-moe-f32",
  "tiny-qwen3-moe-bf16",
  "tiny-qwen3-moe-nonorm-f32",
  "tiny-qwen3_5-f32",
  "tiny-qwen3_5-moe-f32",
  "tiny-qwen3_5-moe-bf16",
  "tiny-qwen3-next-f32",
];

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Index of the largest value (first on ties) and the gap to the second largest. */
function top2(row: Float32Array): { argmax: number; margin: number } {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  let second = -Infinity;
  for (let i = 0; i < row.length; i++) if (i !== best && row[i] > second) second = row[i];
  return { argmax: best, margin: row[best] - second };
}

interface Descriptor {
  file: string;
  shape: [number, number];
  sha256: string;
  top2_margins: number[];
}

for (const name of ENGINE4) {
  Deno.test(`engine IV fixture ${name}: reference files match their header`, async () => {
    const reference = loadReference(name);
    const folder = `${REPO_ROOT}/neuron/testdata/reference/${name}`;
    assert.equal(reference.vocab_size, 1024);
    assert.ok(reference.prompts.some((p) => p.ids.length > 64), "a prompt longer than the 64-token chunk");
    for (const prompt of reference.prompts) {
      const descriptors: Descriptor[] = [prompt.logits as unknown as Descriptor];
      if (prompt.greedy) descriptors.push(prompt.greedy.logits as unknown as Descriptor);
      for (const d of descriptors) {
        assert.equal(await sha256Hex(Deno.readFileSync(`${folder}/${d.file}`)), d.sha256, `${d.file} sha256`);
        const data = reference.read(d);
        assert.equal(d.top2_margins.length, d.shape[0], `${d.file}: one margin per row`);
        for (let r = 0; r < d.shape[0]; r++) {
          const { margin } = top2(data.subarray(r * 1024, (r + 1) * 1024));
          assert.ok(Math.abs(margin - d.top2_margins[r]) <= 2e-6, `${d.file} row ${r}: margin ${margin}`);
        }
      }
      assert.equal(prompt.logits.shape[0], prompt.ids.length);
      if (!prompt.greedy) continue;
      assert.equal(prompt.greedy.new_tokens, 64);
      const steps = reference.read(prompt.greedy.logits);
      const last = reference.read(prompt.logits).subarray((prompt.ids.length - 1) * 1024);
      assert.deepEqual(steps.subarray(0, 1024), last, "greedy row 0 is the prompt's last row");
      prompt.greedy.ids.forEach((id, s) => {
        const { argmax, margin } = top2(steps.subarray(s * 1024, (s + 1) * 1024));
        assert.equal(argmax, id, `${prompt.name} step ${s}`);
        assert.ok(margin >= 2e-3, `${prompt.name} step ${s}: near-tie ${margin}`);
      });
    }
  });

  Deno.test(`engine IV fixture ${name}: model.safetensors is well formed`, () => {
    const bytes = Deno.readFileSync(`${MODELS_DIR}/${name}/model.safetensors`);
    const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    const dtype = name.endsWith("-bf16") ? "BF16" : "F32";
    const width = dtype === "BF16" ? 2 : 4;
    const spans: [number, number][] = [];
    for (const [tensor, info] of Object.entries(header)) {
      if (tensor === "__metadata__") continue;
      const { dtype: d, shape, data_offsets } = info as {
        dtype: string;
        shape: number[];
        data_offsets: number[];
      };
      assert.equal(d, dtype, tensor);
      assert.equal(data_offsets[1] - data_offsets[0], shape.reduce((a, b) => a * b, 1) * width, tensor);
      spans.push([data_offsets[0], data_offsets[1]]);
    }
    spans.sort((a, b) => a[0] - b[0]);
    let end = 0;
    for (const [start, stop] of spans) {
      assert.equal(start, end, "tensors are packed without gaps or overlaps");
      end = stop;
    }
    assert.equal(8 + headerLength + end, bytes.length);
    const config = JSON.parse(Deno.readTextFileSync(`${MODELS_DIR}/${name}/config.json`));
    assert.ok(Array.isArray(config.architectures) && config.architectures.length === 1);
  });
}

Deno.test("engine IV published configs: weight bytes are bf16 parameter counts", () => {
  const summary = JSON.parse(Deno.readTextFileSync(`${REPO_ROOT}/neuron/testdata/configs/weight_bytes.json`));
  const models = Object.entries(summary.models) as [string, { params: number; weight_bytes: number }][];
  assert.equal(models.length, 4);
  for (const [name, entry] of models) {
    Deno.statSync(`${REPO_ROOT}/neuron/testdata/configs/${name}/config.json`);
    assert.equal(entry.weight_bytes, entry.params * 2, name);
  }
  assert.equal(summary.models["Llama-3.1-8B"].weight_bytes, 16_060_522_496);
});
