/**
 * The engine benchmark's model: a random-weight bf16 checkpoint with the exact shape of Qwen3-0.6B
 * (hidden 1024, 28 layers, 16 heads, 8 KV heads, head_dim 128, intermediate 3072, vocab 151936, tied
 * embeddings), written once into a git-ignored cache folder as `config.json` + `model.safetensors`.
 * Project-owned and dependency-free, so the benchmark needs no Python and no download.
 * @module
 */

/** The Qwen3-0.6B shape (config.json fields). */
export const QWEN3_0_6B_SHAPE = Object.freeze({
  hidden_size: 1024,
  intermediate_size: 3072,
  num_hidden_layers: 28,
  num_attention_heads: 16,
  num_key_value_heads: 8,
  head_dim: 128,
  vocab_size: 151936,
});

/** Bumped whenever the generated files change, so stale caches are rewritten. */
const GENERATOR_VERSION = "1";

/** One tensor of a generated checkpoint. */
export interface TensorPlan {
  name: string;
  shape: number[];
  /** "random" weights (uniform, std ≈ 0.02) or "ones" (RMSNorm gains). */
  fill: "random" | "ones";
}

function planTensors(): TensorPlan[] {
  const s = QWEN3_0_6B_SHAPE;
  const q = s.num_attention_heads * s.head_dim;
  const kv = s.num_key_value_heads * s.head_dim;
  const tensors: TensorPlan[] = [
    { name: "model.embed_tokens.weight", shape: [s.vocab_size, s.hidden_size], fill: "random" },
    { name: "model.norm.weight", shape: [s.hidden_size], fill: "ones" },
  ];
  for (let l = 0; l < s.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    tensors.push(
      { name: `${p}input_layernorm.weight`, shape: [s.hidden_size], fill: "ones" },
      { name: `${p}post_attention_layernorm.weight`, shape: [s.hidden_size], fill: "ones" },
      { name: `${p}self_attn.q_proj.weight`, shape: [q, s.hidden_size], fill: "random" },
      { name: `${p}self_attn.k_proj.weight`, shape: [kv, s.hidden_size], fill: "random" },
      { name: `${p}self_attn.v_proj.weight`, shape: [kv, s.hidden_size], fill: "random" },
      { name: `${p}self_attn.o_proj.weight`, shape: [s.hidden_size, q], fill: "random" },
      { name: `${p}self_attn.q_norm.weight`, shape: [s.head_dim], fill: "ones" },
      { name: `${p}self_attn.k_norm.weight`, shape: [s.head_dim], fill: "ones" },
      { name: `${p}mlp.gate_proj.weight`, shape: [s.intermediate_size, s.hidden_size], fill: "random" },
      { name: `${p}mlp.up_proj.weight`, shape: [s.intermediate_size, s.hidden_size], fill: "random" },
      { name: `${p}mlp.down_proj.weight`, shape: [s.hidden_size, s.intermediate_size], fill: "random" },
    );
  }
  return tensors;
}

function configJson(): string {
  return JSON.stringify(
    {
      architectures: ["Qwen3ForCausalLM"],
      model_type: "qwen3",
      ...QWEN3_0_6B_SHAPE,
      max_position_embeddings: 40960,
      rms_norm_eps: 1e-6,
      rope_theta: 1000000,
      tie_word_embeddings: true,
      attention_bias: false,
      torch_dtype: "bfloat16",
      bos_token_id: 151643,
      eos_token_id: 151645,
      cortex_bench_generator: GENERATOR_VERSION,
    },
    null,
    2,
  );
}

/** xorshift32 filling `out` with bf16 values uniform in ±0.0346 (std 0.02), truncated from f32. */
function fillRandom(out: Uint16Array, state: { s: number }): void {
  const scale = 0.0346 / 2 ** 31;
  const f32 = new Float32Array(1);
  const bits = new Uint32Array(f32.buffer);
  let s = state.s;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    f32[0] = (s | 0) * scale;
    out[i] = bits[0] >>> 16;
  }
  state.s = s;
}

/** Writes the checkpoint into `folder` unless an up-to-date one is there; returns whether it wrote. */
export function ensureBenchModel(
  folder: string,
  log: (line: string) => void = () => {},
): Promise<boolean> {
  return ensureCheckpoint(folder, planTensors(), configJson(), GENERATOR_VERSION, log);
}

/**
 * Writes `tensors` (random bf16 or ones) and `configText` into `folder` unless a checkpoint whose
 * config.json carries `cortex_bench_generator: version` is there; returns whether it wrote.
 */
export async function ensureCheckpoint(
  folder: string,
  tensors: TensorPlan[],
  configText: string,
  version: string,
  log: (line: string) => void = () => {},
): Promise<boolean> {
  try {
    const config = JSON.parse(await Deno.readTextFile(`${folder}/config.json`));
    const weights = await Deno.stat(`${folder}/model.safetensors`);
    if (config.cortex_bench_generator === version && weights.size > 0) return false;
  } catch {
    // missing or unreadable: (re)write
  }
  await Deno.mkdir(folder, { recursive: true });
  const header: Record<string, unknown> = { __metadata__: { format: "pt", generator: "cortex bench_model" } };
  let offset = 0;
  for (const tensor of tensors) {
    const bytes = tensor.shape.reduce((a, b) => a * b, 1) * 2;
    header[tensor.name] = { dtype: "BF16", shape: tensor.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let headerText = JSON.stringify(header);
  headerText += " ".repeat((8 - ((8 + headerText.length) % 8)) % 8); // keep the data 8-byte aligned
  const temporary = `${folder}/model.safetensors.partial`;
  const file = await Deno.open(temporary, { write: true, create: true, truncate: true });
  try {
    const prefix = new Uint8Array(8);
    new DataView(prefix.buffer).setBigUint64(0, BigInt(headerText.length), true);
    await writeAll(file, prefix);
    await writeAll(file, new TextEncoder().encode(headerText));
    const chunk = new Uint16Array(8 * 2 ** 20);
    const state = { s: 0x2545f491 };
    for (const tensor of tensors) {
      let left = tensor.shape.reduce((a, b) => a * b, 1);
      while (left > 0) {
        const part = chunk.subarray(0, Math.min(left, chunk.length));
        if (tensor.fill === "ones") part.fill(0x3f80);
        else fillRandom(part, state);
        await writeAll(file, new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
        left -= part.length;
      }
    }
  } finally {
    file.close();
  }
  await Deno.rename(temporary, `${folder}/model.safetensors`);
  await Deno.writeTextFile(`${folder}/config.json`, configText);
  log(`wrote ${(offset / 2 ** 30).toFixed(2)} GiB of bf16 weights to ${folder}`);
  return true;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}
