/**
 * Converts the Qwen3-Next bench checkpoint (bench_next_model.ts: config.json + one model.safetensors,
 * per-expert layout) into a `qwen3next` GGUF that llama.cpp loads, as llama.cpp's converter
 * (`conversion/qwen.py`, Qwen3NextModel) writes it, so both engines run the same weights:
 * - the (1 + w) RMSNorm gains are stored as w + 1 (all but `linear_attn.norm`), F32;
 * - `A_log` is stored as `ssm_a` = −exp(A_log), `dt_bias` as `ssm_dt.bias`, F32;
 * - `conv1d` [channels, 1, kernel] is squeezed to `ssm_conv1d` dims [kernel, channels], F32;
 * - `in_proj_qkvz`, whose rows come per key head as [q, k, v, z], is regrouped into `attn_qkv`
 *   (every q head, then every k, then every v) and `attn_gate` (every z);
 * - the router (`ffn_gate_inp`) and the shared expert's gate (`ffn_gate_inp_shexp`, dims [hidden]) are
 *   F32; experts are stacked as `ffn_*_exps` [in, out, experts]; other matrices keep BF16.
 * @module
 */

import {
  type GgufMetadataEntry,
  ggufScalar,
  type GgufTensorSource,
  GgufValueType,
  writeGguf,
} from "../sources/gguf/mod.ts";
import {
  convert,
  readExactly,
  readSafetensorsHeader,
  type SafetensorsEntry,
  streamEntry,
} from "./_hf_tensors.ts";
import { configNumber, transformerMetadata } from "./qwen3_gguf.ts";

/** The GGUF metadata of a Qwen3-Next config: the Qwen keys, the experts, DeltaNet and partial rotary. */
export function qwen3NextMetadata(config: Record<string, unknown>): Record<string, GgufMetadataEntry> {
  if (config.model_type !== "qwen3_next") {
    throw new Error(`config.json: model_type ${JSON.stringify(config.model_type)} is not qwen3_next`);
  }
  if (config.rope_scaling) {
    throw new Error("config.json: rope_scaling is not written by the qwen3next converter");
  }
  // llama.cpp derives the layer types from full_attention_interval; other layer_types cannot be said.
  const interval = configNumber(config, "full_attention_interval", 4);
  const types = config.layer_types as string[] | undefined;
  if (types?.some((t, l) => t !== ((l + 1) % interval === 0 ? "full_attention" : "linear_attention"))) {
    throw new Error(
      `config.json: layer_types ${JSON.stringify(types)} is not every ${interval}th layer full attention`,
    );
  }
  if (config.norm_topk_prob !== true) {
    throw new Error("config.json: qwen3next GGUF renormalises the top-k weights");
  }
  const arch = "qwen3next";
  const u32 = (value: number): GgufMetadataEntry => ggufScalar(GgufValueType.UINT32, value);
  const n = (key: string, fallback?: number) => configNumber(config, key, fallback);
  const metadata = transformerMetadata(config, arch, "bf16", n("rope_theta", 10000));
  metadata[`${arch}.expert_count`] = u32(n("num_experts"));
  metadata[`${arch}.expert_used_count`] = u32(n("num_experts_per_tok"));
  metadata[`${arch}.expert_feed_forward_length`] = u32(n("moe_intermediate_size"));
  metadata[`${arch}.expert_shared_feed_forward_length`] = u32(n("shared_expert_intermediate_size"));
  metadata[`${arch}.ssm.conv_kernel`] = u32(n("linear_conv_kernel_dim"));
  metadata[`${arch}.ssm.state_size`] = u32(n("linear_key_head_dim"));
  metadata[`${arch}.ssm.group_count`] = u32(n("linear_num_key_heads"));
  metadata[`${arch}.ssm.time_step_rank`] = u32(n("linear_num_value_heads"));
  metadata[`${arch}.ssm.inner_size`] = u32(n("linear_value_head_dim") * n("linear_num_value_heads"));
  metadata[`${arch}.full_attention_interval`] = u32(n("full_attention_interval", 4));
  metadata[`${arch}.rope.dimension_count`] = u32(
    Math.floor(n("head_dim") * n("partial_rotary_factor", 0.25)),
  );
  return metadata;
}

/** How one GGUF tensor is made from the checkpoint. */
interface Plan {
  name: string;
  type: "F32" | "BF16";
  dims: number[];
  /** HF tensors read in order (a stack of experts, or one). */
  sources: string[];
  /** For one-source F32 tensors: a transform of the values. */
  values?: (x: number) => number;
  /** For row-regrouped matrices: the source rows in output order. */
  rows?: number[];
}

const plusOne = (x: number): number => x + 1;

/** The GGUF tensors of the checkpoint in `entries`, with `config`'s shapes. */
function planTensors(entries: Map<string, SafetensorsEntry>, config: Record<string, unknown>): Plan[] {
  const n = (key: string) => configNumber(config, key);
  const d = n("hidden_size");
  const [kh, vh, kd, vd] = [
    n("linear_num_key_heads"),
    n("linear_num_value_heads"),
    n("linear_key_head_dim"),
    n("linear_value_head_dim"),
  ];
  const ratio = vh / kh;
  const matrix = (name: string, source: string): Plan => {
    const shape = entries.get(source)?.shape;
    if (!shape) throw new Error(`tensor ${source} is missing`);
    return { name, type: "BF16", dims: [...shape].reverse(), sources: [source] };
  };
  const vector = (name: string, source: string, values?: (x: number) => number): Plan => {
    const shape = entries.get(source)?.shape;
    if (!shape) throw new Error(`tensor ${source} is missing`);
    return { name, type: "F32", dims: [shape.reduce((a, b) => a * b, 1)], sources: [source], values };
  };
  const plans: Plan[] = [
    matrix("token_embd.weight", "model.embed_tokens.weight"),
    vector("output_norm.weight", "model.norm.weight", plusOne),
    matrix("output.weight", "lm_head.weight"),
  ];
  for (let l = 0; l < n("num_hidden_layers"); l++) {
    const p = `model.layers.${l}.`;
    const b = `blk.${l}.`;
    plans.push(
      vector(`${b}attn_norm.weight`, `${p}input_layernorm.weight`, plusOne),
      vector(`${b}post_attention_norm.weight`, `${p}post_attention_layernorm.weight`, plusOne),
    );
    if (entries.has(`${p}self_attn.q_proj.weight`)) {
      plans.push(
        matrix(`${b}attn_q.weight`, `${p}self_attn.q_proj.weight`),
        matrix(`${b}attn_k.weight`, `${p}self_attn.k_proj.weight`),
        matrix(`${b}attn_v.weight`, `${p}self_attn.v_proj.weight`),
        matrix(`${b}attn_output.weight`, `${p}self_attn.o_proj.weight`),
        vector(`${b}attn_q_norm.weight`, `${p}self_attn.q_norm.weight`, plusOne),
        vector(`${b}attn_k_norm.weight`, `${p}self_attn.k_norm.weight`, plusOne),
      );
    } else {
      const a = `${p}linear_attn.`;
      // in_proj_qkvz rows per key head: q (kd), k (kd), v (ratio·vd), z (ratio·vd).
      const group = 2 * kd + 2 * ratio * vd;
      const part = (offset: number, length: number) =>
        Array.from({ length: kh }, (_, h) => Array.from({ length }, (_, r) => h * group + offset + r)).flat();
      const qkv = [...part(0, kd), ...part(kd, kd), ...part(2 * kd, ratio * vd)];
      const z = part(2 * kd + ratio * vd, ratio * vd);
      const conv = entries.get(`${a}conv1d.weight`)?.shape ?? [];
      plans.push(
        {
          name: `${b}attn_qkv.weight`,
          type: "BF16",
          dims: [d, qkv.length],
          sources: [`${a}in_proj_qkvz.weight`],
          rows: qkv,
        },
        {
          name: `${b}attn_gate.weight`,
          type: "BF16",
          dims: [d, z.length],
          sources: [`${a}in_proj_qkvz.weight`],
          rows: z,
        },
        {
          name: `${b}ssm_conv1d.weight`,
          type: "F32",
          dims: [conv[2], conv[0]],
          sources: [`${a}conv1d.weight`],
        },
        vector(`${b}ssm_a`, `${a}A_log`, (x) => -Math.exp(x)),
        vector(`${b}ssm_dt.bias`, `${a}dt_bias`),
        matrix(`${b}ssm_ba.weight`, `${a}in_proj_ba.weight`),
        vector(`${b}ssm_norm.weight`, `${a}norm.weight`),
        matrix(`${b}ssm_out.weight`, `${a}out_proj.weight`),
      );
    }
    const m = `${p}mlp.`;
    const experts = n("num_experts");
    const stack = (name: string, proj: string): Plan => {
      const sources = Array.from({ length: experts }, (_, e) => `${m}experts.${e}.${proj}.weight`);
      const shape = entries.get(sources[0])?.shape;
      if (!shape || sources.some((s) => !entries.has(s))) {
        throw new Error(`${m}experts.*.${proj} is incomplete`);
      }
      return { name, type: "BF16", dims: [...shape].reverse().concat(experts), sources };
    };
    plans.push(
      { ...matrix(`${b}ffn_gate_inp.weight`, `${m}gate.weight`), type: "F32" },
      stack(`${b}ffn_gate_exps.weight`, "gate_proj"),
      stack(`${b}ffn_up_exps.weight`, "up_proj"),
      stack(`${b}ffn_down_exps.weight`, "down_proj"),
      matrix(`${b}ffn_gate_shexp.weight`, `${m}shared_expert.gate_proj.weight`),
      matrix(`${b}ffn_up_shexp.weight`, `${m}shared_expert.up_proj.weight`),
      matrix(`${b}ffn_down_shexp.weight`, `${m}shared_expert.down_proj.weight`),
      vector(`${b}ffn_gate_inp_shexp.weight`, `${m}shared_expert_gate.weight`),
    );
  }
  const used = new Set(plans.flatMap((plan) => plan.sources));
  const unused = [...entries.keys()].filter((name) => !used.has(name));
  if (unused.length > 0) {
    throw new Error(`tensors with no qwen3next GGUF name: ${unused.slice(0, 5).join(", ")}`);
  }
  return plans;
}

/** Writes the Qwen3-Next checkpoint in `folder` to `path` as a bf16 `qwen3next` GGUF; returns its bytes. */
export async function writeQwen3NextGguf(folder: string, path: string): Promise<number> {
  const config = JSON.parse(await Deno.readTextFile(`${folder}/config.json`)) as Record<string, unknown>;
  const metadata = qwen3NextMetadata(config);
  const weightsPath = `${folder}/model.safetensors`;
  const { entries, data } = await readSafetensorsHeader(weightsPath);
  const plans = planTensors(entries, config);
  const source = await Deno.open(weightsPath, { read: true });
  try {
    const tensors: GgufTensorSource[] = plans.map((plan) => ({
      name: plan.name,
      type: plan.type,
      dims: plan.dims,
      data: async (write) => {
        for (const name of plan.sources) {
          const entry = entries.get(name)!;
          const what = `${weightsPath}: ${name}`;
          if (!plan.rows) {
            await streamEntry(source, data, entry, plan.type, write, what, plan.values);
            continue;
          }
          const rowBytes = entry.shape[1] * (entry.dtype === "F32" ? 4 : 2);
          for (const row of plan.rows) {
            const bytes = await readExactly(source, data + entry.begin + row * rowBytes, rowBytes, what);
            await write(convert(bytes, entry.dtype, plan.type));
          }
        }
      },
    }));
    return await writeGguf(path, metadata, tensors);
  } finally {
    source.close();
  }
}
