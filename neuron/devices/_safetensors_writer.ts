/**
 * A minimal safetensors writer for tests: builds small synthetic models (random weights) and
 * deliberately broken files in temporary folders.
 * @module
 */

/** One tensor to write. Values are given as f32 and stored in `dtype`. */
export interface TensorSpec {
  name: string;
  dtype: "F32" | "BF16" | "F16";
  shape: number[];
  values: Float32Array;
}

function toBf16(value: number): number {
  const bits = new Uint32Array(new Float32Array([value]).buffer)[0];
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

function toF16(value: number): number {
  const bits = new Uint32Array(new Float32Array([value]).buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  const mantissa = bits & 0x7fffff;
  if (exponent <= 0) return sign;
  if (exponent >= 31) return sign | 0x7c00;
  return sign | (exponent << 10) | (mantissa >>> 13);
}

/** Serialises tensors into the safetensors layout (8-byte length, JSON header, data). */
export function encodeSafetensors(tensors: TensorSpec[]): Uint8Array {
  const header: Record<string, unknown> = {};
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const tensor of tensors) {
    const size = tensor.dtype === "F32" ? 4 : 2;
    const blob = new Uint8Array(tensor.values.length * size);
    const view = new DataView(blob.buffer);
    tensor.values.forEach((value, i) => {
      if (tensor.dtype === "F32") view.setFloat32(i * 4, value, true);
      else view.setUint16(i * 2, tensor.dtype === "BF16" ? toBf16(value) : toF16(value), true);
    });
    header[tensor.name] = {
      dtype: tensor.dtype,
      shape: tensor.shape,
      data_offsets: [offset, offset + blob.length],
    };
    blobs.push(blob);
    offset += blob.length;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += " ";
  const jsonBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + jsonBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(jsonBytes.length), true);
  out.set(jsonBytes, 8);
  let at = 8 + jsonBytes.length;
  for (const blob of blobs) {
    out.set(blob, at);
    at += blob.length;
  }
  return out;
}

/** Shape of a synthetic Llama/Qwen3 model. */
export interface SyntheticShape {
  architecture: "LlamaForCausalLM" | "Qwen3ForCausalLM";
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  dtype: "F32" | "BF16" | "F16";
  tied: boolean;
}

/** A small Qwen3 (6 heads of 16 over 2 KV heads, MLP 80, 2 layers, vocab 96, f32, untied) that the
 * loader and kernel tests vary. */
export const SMALL_QWEN3: SyntheticShape = {
  architecture: "Qwen3ForCausalLM",
  hidden: 48,
  intermediate: 80,
  layers: 2,
  heads: 6,
  kvHeads: 2,
  headDim: 16,
  vocab: 96,
  dtype: "F32",
  tied: false,
};

/** Deterministic pseudo-random values in [-scale, scale). */
function randomValues(count: number, seed: number, scale: number): Float32Array {
  let state = seed >>> 0 || 1;
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    values[i] = ((state >>> 0) / 4294967296 * 2 - 1) * scale;
  }
  return values;
}

/** The tensors of a synthetic model (norm weights near 1, matrices small and random). */
export function syntheticTensors(shape: SyntheticShape): TensorSpec[] {
  const { hidden, intermediate, heads, kvHeads, headDim, vocab, dtype } = shape;
  let seed = 7;
  const matrix = (name: string, rows: number, cols: number): TensorSpec => ({
    name,
    dtype,
    shape: [rows, cols],
    values: randomValues(rows * cols, seed++, 1 / Math.sqrt(cols)),
  });
  const norm = (name: string, size: number): TensorSpec => ({
    name,
    dtype,
    shape: [size],
    values: randomValues(size, seed++, 0.1).map((v) => 1 + v),
  });
  const tensors = [matrix("model.embed_tokens.weight", vocab, hidden), norm("model.norm.weight", hidden)];
  if (!shape.tied) tensors.push(matrix("lm_head.weight", vocab, hidden));
  for (let l = 0; l < shape.layers; l++) {
    const p = `model.layers.${l}.`;
    tensors.push(
      matrix(`${p}self_attn.q_proj.weight`, heads * headDim, hidden),
      matrix(`${p}self_attn.k_proj.weight`, kvHeads * headDim, hidden),
      matrix(`${p}self_attn.v_proj.weight`, kvHeads * headDim, hidden),
      matrix(`${p}self_attn.o_proj.weight`, hidden, heads * headDim),
      matrix(`${p}mlp.gate_proj.weight`, intermediate, hidden),
      matrix(`${p}mlp.up_proj.weight`, intermediate, hidden),
      matrix(`${p}mlp.down_proj.weight`, hidden, intermediate),
      norm(`${p}input_layernorm.weight`, hidden),
      norm(`${p}post_attention_layernorm.weight`, hidden),
    );
    if (shape.architecture === "Qwen3ForCausalLM") {
      tensors.push(
        norm(`${p}self_attn.q_norm.weight`, headDim),
        norm(`${p}self_attn.k_norm.weight`, headDim),
      );
    }
  }
  return tensors;
}

/** config.json of a synthetic model. */
export function syntheticConfig(shape: SyntheticShape): Record<string, unknown> {
  return {
    architectures: [shape.architecture],
    hidden_size: shape.hidden,
    intermediate_size: shape.intermediate,
    num_hidden_layers: shape.layers,
    num_attention_heads: shape.heads,
    num_key_value_heads: shape.kvHeads,
    head_dim: shape.headDim,
    vocab_size: shape.vocab,
    max_position_embeddings: 256,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: shape.tied,
    hidden_act: "silu",
    bos_token_id: 1,
    eos_token_id: [2, 3],
  };
}

/** Writes a synthetic model folder (config.json + model.safetensors) into `folder`. */
export async function writeSyntheticModel(folder: string, shape: SyntheticShape): Promise<void> {
  await Deno.mkdir(folder, { recursive: true });
  await Deno.writeTextFile(`${folder}/config.json`, JSON.stringify(syntheticConfig(shape), null, 1));
  await Deno.writeFile(`${folder}/model.safetensors`, encodeSafetensors(syntheticTensors(shape)));
}
