import assert from "node:assert/strict";
import { readGgufHeader } from "../sources/gguf/mod.ts";
import { MODELS_DIR } from "../devices/_test_helpers.ts";
import { writeQwen3NextGguf } from "./qwen3next_gguf.ts";

/** The floats of a tensor: from a GGUF (F32 or BF16) or a safetensors F32 entry. */
async function ggufFloats(path: string, name: string): Promise<{ dims: number[]; values: Float32Array }> {
  const header = await readGgufHeader(path);
  const t = header.tensors.find((x) => x.name === name)!;
  const bytes = (await Deno.readFile(path)).slice(
    header.dataOffset + t.offset,
    header.dataOffset + t.offset + t.bytes,
  );
  if (t.type === "F32") return { dims: t.dims, values: new Float32Array(bytes.buffer) };
  const halves = new Uint16Array(bytes.buffer);
  return {
    dims: t.dims,
    values: Float32Array.from(halves, (h) => new Float32Array(new Uint32Array([h << 16]).buffer)[0]),
  };
}

async function safetensorsFloats(
  path: string,
  name: string,
): Promise<{ shape: number[]; values: Float32Array }> {
  const all = await Deno.readFile(path);
  const length = Number(new DataView(all.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(all.subarray(8, 8 + length)));
  const [begin, end] = header[name].data_offsets;
  return {
    shape: header[name].shape,
    values: new Float32Array(all.slice(8 + length + begin, 8 + length + end).buffer),
  };
}

const bf16 = (x: number): number => {
  const bits = new Uint32Array(new Float32Array([x]).buffer)[0];
  return new Float32Array(new Uint32Array([((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) << 16]).buffer)[0];
};

Deno.test("writeQwen3NextGguf: llama.cpp's qwen3next layout — regrouped qkvz, w + 1 norms, −exp(A_log), squeezed conv, stacked experts", async () => {
  const folder = `${MODELS_DIR}/tiny-qwen3-next-f32`;
  const weights = `${folder}/model.safetensors`;
  const out = await Deno.makeTempFile({ suffix: ".gguf" });
  try {
    await writeQwen3NextGguf(folder, out);
    const header = await readGgufHeader(out);
    const config = JSON.parse(await Deno.readTextFile(`${folder}/config.json`));
    const [kh, vh, kd, vd, d] = [
      config.linear_num_key_heads,
      config.linear_num_value_heads,
      config.linear_key_head_dim,
      config.linear_value_head_dim,
      config.hidden_size,
    ];
    assert.equal(header.metadata.get("general.architecture")?.value, "qwen3next");
    assert.equal(header.metadata.get("qwen3next.ssm.group_count")?.value, kh);
    assert.equal(header.metadata.get("qwen3next.ssm.inner_size")?.value, vh * vd);
    assert.equal(header.metadata.get("qwen3next.rope.dimension_count")?.value, config.head_dim / 4);
    // Norms: w + 1 (the (1 + w) gains), but linear_attn.norm as it is.
    const norm = await safetensorsFloats(weights, "model.norm.weight");
    assert.deepEqual((await ggufFloats(out, "output_norm.weight")).values, norm.values.map((w) => w + 1));
    const ssmNorm = await safetensorsFloats(weights, "model.layers.0.linear_attn.norm.weight");
    assert.deepEqual((await ggufFloats(out, "blk.0.ssm_norm.weight")).values, ssmNorm.values);
    const aLog = await safetensorsFloats(weights, "model.layers.0.linear_attn.A_log");
    assert.deepEqual((await ggufFloats(out, "blk.0.ssm_a")).values, aLog.values.map((a) => -Math.exp(a)));
    const conv = await ggufFloats(out, "blk.0.ssm_conv1d.weight");
    assert.deepEqual(conv.dims, [config.linear_conv_kernel_dim, 2 * kh * kd + vh * vd]);
    // qkvz rows per key head [q, k, v, z] → attn_qkv [all q | all k | all v] and attn_gate [all z].
    const qkvz = await safetensorsFloats(weights, "model.layers.0.linear_attn.in_proj_qkvz.weight");
    const qkv = await ggufFloats(out, "blk.0.attn_qkv.weight");
    const gate = await ggufFloats(out, "blk.0.attn_gate.weight");
    const group = 2 * kd + 2 * (vh / kh) * vd;
    const hfRow = (r: number) => Array.from(qkvz.values.subarray(r * d, (r + 1) * d), bf16);
    const row = (t: { values: Float32Array }, r: number) => Array.from(t.values.subarray(r * d, (r + 1) * d));
    assert.deepEqual(row(qkv, 1), hfRow(1), "q head 0 row 1");
    assert.deepEqual(row(qkv, kd), hfRow(group), "q head 1 row 0");
    assert.deepEqual(row(qkv, kh * kd), hfRow(kd), "k head 0 row 0");
    assert.deepEqual(row(qkv, 2 * kh * kd), hfRow(2 * kd), "v of key head 0, row 0");
    assert.deepEqual(row(gate, 0), hfRow(2 * kd + (vh / kh) * vd), "z of key head 0, row 0");
    assert.deepEqual(gate.dims, [d, vh * vd]);
    const experts = header.tensors.find((t) => t.name === "blk.0.ffn_down_exps.weight")!;
    assert.deepEqual(experts.dims, [config.moe_intermediate_size, d, config.num_experts]);
    assert.ok(!header.tensors.some((t) => t.name.includes("mtp") || t.name.includes("visual")));
  } finally {
    await Deno.remove(out);
  }
});
