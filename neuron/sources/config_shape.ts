/**
 * Reads the shape of a model's text stack from its `config.json` alone, with the keys and defaults the
 * engine uses (`cuda_plugin/src/config.cpp`, `hybrid_config.cpp`): enough to count every tensor the
 * engine loads before a single weight file is on disk. Both spellings are read (hub `num_experts` /
 * transformers 5.x `num_local_experts`; rope keys do not change shapes and are not read).
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import { linearLayers } from "./hybrid_layers.ts";

/** The architectures the engine serves, by `model_type`. */
export type ModelType = "llama" | "qwen3" | "qwen3_moe" | "qwen3_5" | "qwen3_5_moe" | "qwen3_next";

/** The tensor shapes a config implies (text model only: no vision tower, no MTP head). */
export interface ConfigShape {
  /** `model_type` (a `…_text` alias folded into its family). */
  modelType: ModelType;
  /** Prefix of the text model's tensors: `model.` or, for Qwen3.5's conditional-generation layout, `model.language_model.`. */
  prefix: string;
  hiddenSize: number;
  layers: number;
  vocabSize: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Dense MLP width; 0 when every layer is sparse and the config gives none. */
  intermediateSize: number;
  tieWordEmbeddings: boolean;
  /** q/k/v/o biases (`attention_bias`). */
  attentionBias: boolean;
  /** Per-head RMSNorm of q and k (every Qwen3 family). */
  qkNorm: boolean;
  /** q_proj also holds the output gate rows (hybrids' `attn_output_gate`), so it is twice as tall. */
  attnOutputGate: boolean;
  /** Per layer: a Gated DeltaNet layer (hybrids), else full attention. */
  linear: boolean[];
  /** Per layer: a sparse (experts) MLP, else dense. */
  sparse: boolean[];
  numExperts: number;
  moeIntermediateSize: number;
  /** Width of the σ-gated shared expert of each sparse layer (hybrids); 0: none. */
  sharedExpertIntermediateSize: number;
  /** DeltaNet sizes (hybrids). */
  linearKeyHeads: number;
  linearValueHeads: number;
  linearKeyHeadDim: number;
  linearValueHeadDim: number;
  linearConvKernel: number;
  /** Qwen3-Next stores the DeltaNet input projections fused (`in_proj_qkvz`, `in_proj_ba`). */
  fusedLinearProjections: boolean;
}

type Json = Record<string, unknown>;

const _MODEL_TYPES: Readonly<Record<string, ModelType>> = {
  llama: "llama",
  qwen3: "qwen3",
  qwen3_moe: "qwen3_moe",
  qwen3_5: "qwen3_5",
  qwen3_5_text: "qwen3_5",
  qwen3_5_moe: "qwen3_5_moe",
  qwen3_5_moe_text: "qwen3_5_moe",
  qwen3_next: "qwen3_next",
};

const _ARCHITECTURES: Readonly<Record<string, ModelType>> = {
  LlamaForCausalLM: "llama",
  Qwen3ForCausalLM: "qwen3",
  Qwen3MoeForCausalLM: "qwen3_moe",
  Qwen3_5ForConditionalGeneration: "qwen3_5",
  Qwen3_5ForCausalLM: "qwen3_5",
  Qwen3_5MoeForConditionalGeneration: "qwen3_5_moe",
  Qwen3_5MoeForCausalLM: "qwen3_5_moe",
  Qwen3NextForCausalLM: "qwen3_next",
};

function _bad(message: string): CortexError {
  return new CortexError(message, { code: "bad_model_folder", status: 422 });
}

/** The object holding the text model's keys: `text_config` when nested (Qwen3.5), else the config itself. */
export function textConfig(config: Json): Json {
  const nested = config.text_config;
  return nested !== null && typeof nested === "object" && !Array.isArray(nested) ? nested as Json : config;
}

/**
 * The shape `config` implies. Throws a 422 naming the key: `unsupported_architecture` for a
 * `model_type` the engine does not serve, `bad_model_folder` for a missing or malformed shape key.
 *
 * @example
 * ```ts
 * import { readConfigShape } from "./config_shape.ts";
 * const config = JSON.parse(Deno.readTextFileSync("neuron/testdata/configs/Qwen3-30B-A3B/config.json"));
 * readConfigShape(config).numExperts; // 128
 * ```
 */
export function readConfigShape(config: Json): ConfigShape {
  const modelType = _modelType(config);
  const text = textConfig(config);
  const where = text === config ? "config.json" : "config.json text_config";
  const int = (key: string, fallback?: number): number => {
    const value = text[key];
    if (value === undefined || value === null) {
      if (fallback !== undefined) return fallback;
      throw _bad(`${where} has no '${key}'`);
    }
    if (!Number.isSafeInteger(value) || (value as number) < 0) {
      throw _bad(`${where} '${key}' must be a non-negative integer, not ${JSON.stringify(value)}`);
    }
    return value as number;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const value = text[key] ?? config[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "boolean") throw _bad(`${where} '${key}' must be true or false`);
    return value;
  };
  const hybrid = modelType === "qwen3_5" || modelType === "qwen3_5_moe" || modelType === "qwen3_next";
  const hiddenSize = _positive(int("hidden_size"), "hidden_size", where);
  const layers = _positive(int("num_hidden_layers"), "num_hidden_layers", where);
  const heads = _positive(int("num_attention_heads"), "num_attention_heads", where);
  const vocabSize = _positive(int("vocab_size"), "vocab_size", where);
  if (text.head_dim == null && !hybrid && hiddenSize % heads !== 0) {
    throw _bad(
      `${where} has no 'head_dim' and hidden_size ${hiddenSize} is not a multiple of num_attention_heads`,
    );
  }
  const linear = hybrid ? _linearLayers(text, layers, where) : Array<boolean>(layers).fill(false);
  const experts = _experts(text, modelType, layers, where, int);
  const anyDense = experts.sparse.some((s) => !s);
  return {
    modelType,
    prefix: _prefix(config, modelType),
    hiddenSize,
    layers,
    vocabSize,
    heads,
    kvHeads: int("num_key_value_heads", heads),
    headDim: int("head_dim", Math.floor(hiddenSize / heads)),
    intermediateSize: anyDense
      ? _positive(int("intermediate_size"), "intermediate_size", where)
      : int("intermediate_size", 0),
    tieWordEmbeddings: bool("tie_word_embeddings", false),
    attentionBias: bool("attention_bias", false),
    qkNorm: modelType !== "llama",
    attnOutputGate: hybrid,
    linear,
    ...experts,
    linearKeyHeads: hybrid ? int("linear_num_key_heads", 16) : 0,
    linearValueHeads: hybrid ? int("linear_num_value_heads", 32) : 0,
    linearKeyHeadDim: hybrid ? int("linear_key_head_dim", 128) : 0,
    linearValueHeadDim: hybrid ? int("linear_value_head_dim", 128) : 0,
    linearConvKernel: hybrid ? int("linear_conv_kernel_dim", 4) : 0,
    fusedLinearProjections: modelType === "qwen3_next",
  };
}

function _positive(value: number, key: string, where: string): number {
  if (value < 1) throw _bad(`${where} '${key}' must be positive`);
  return value;
}

/** `model_type` (root first: Qwen3.5's text_config says `qwen3_5_text`), else `architectures[0]`. */
function _modelType(config: Json): ModelType {
  const declared = config.model_type ?? textConfig(config).model_type;
  if (typeof declared === "string") {
    const known = _MODEL_TYPES[declared];
    if (known === undefined) {
      throw new CortexError(
        `config.json 'model_type' is '${declared}'; the engine serves ${
          Object.keys(_MODEL_TYPES).join(", ")
        }`,
        { code: "unsupported_architecture", status: 422 },
      );
    }
    return known;
  }
  const architectures = config.architectures;
  const name = Array.isArray(architectures) ? architectures[0] : undefined;
  if (typeof name === "string" && _ARCHITECTURES[name] !== undefined) return _ARCHITECTURES[name];
  throw _bad(`config.json has no 'model_type' (nor an 'architectures' entry the engine serves)`);
}

/** As the engine decides it: a `…ForConditionalGeneration` keeps its text model under `model.language_model.`. */
function _prefix(config: Json, modelType: ModelType): string {
  if (modelType !== "qwen3_5" && modelType !== "qwen3_5_moe") return "model.";
  const architectures = config.architectures;
  const name = Array.isArray(architectures) && typeof architectures[0] === "string" ? architectures[0] : null;
  const conditional = name !== null
    ? name.endsWith("ForConditionalGeneration")
    : textConfig(config) !== config;
  return conditional ? "model.language_model." : "model.";
}

function _linearLayers(text: Json, layers: number, where: string): boolean[] {
  if (text.layer_types != null) {
    if (!Array.isArray(text.layer_types) || text.layer_types.length !== layers) {
      throw _bad(`${where} 'layer_types' must list one type for each of the ${layers} layers`);
    }
  }
  // A hybrid giving neither layer_types nor full_attention_interval gets the engine's interval of 4.
  return linearLayers({ ...text, full_attention_interval: text.full_attention_interval ?? 4 });
}

/** Which layers are sparse and the expert sizes, as the engine's read_moe / read_experts decide. */
function _experts(
  text: Json,
  modelType: ModelType,
  layers: number,
  where: string,
  int: (key: string, fallback?: number) => number,
): Pick<ConfigShape, "sparse" | "numExperts" | "moeIntermediateSize" | "sharedExpertIntermediateSize"> {
  const none = { sparse: Array<boolean>(layers).fill(false), numExperts: 0, moeIntermediateSize: 0 };
  if (modelType === "llama" || modelType === "qwen3") return { ...none, sharedExpertIntermediateSize: 0 };
  const local = int("num_local_experts", 0);
  const hub = int("num_experts", 0);
  if (local > 0 && hub > 0 && local !== hub) {
    throw _bad(`${where} gives num_experts ${hub} and num_local_experts ${local}; they must agree`);
  }
  const numExperts = local || hub;
  if (numExperts === 0) {
    // The dense hybrids (qwen3_5, an expert-less qwen3_next) have dense MLPs only.
    if (modelType === "qwen3_moe" || modelType === "qwen3_5_moe") {
      throw _bad(`${where} has no 'num_experts' (or 'num_local_experts')`);
    }
    return { ...none, sharedExpertIntermediateSize: 0 };
  }
  const moeIntermediateSize = _positive(int("moe_intermediate_size"), "moe_intermediate_size", where);
  if (modelType === "qwen3_moe" && text.shared_expert_intermediate_size != null) {
    throw new CortexError(
      `${where} sets 'shared_expert_intermediate_size', which Qwen3MoeForCausalLM does not have`,
      { code: "unsupported_architecture", status: 422 },
    );
  }
  const sharedExpertIntermediateSize = int("shared_expert_intermediate_size", 0);
  // qwen3_5_moe: every layer is sparse, whatever decoder_sparse_step and mlp_only_layers say.
  if (modelType === "qwen3_5_moe") {
    return {
      sparse: Array<boolean>(layers).fill(true),
      numExperts,
      moeIntermediateSize,
      sharedExpertIntermediateSize,
    };
  }
  const step = _positive(int("decoder_sparse_step", 1), "decoder_sparse_step", where);
  const dense = new Set<number>();
  const only = text.mlp_only_layers ?? [];
  if (!Array.isArray(only)) throw _bad(`${where} 'mlp_only_layers' must be a list of layer indexes`);
  for (const layer of only) {
    if (!Number.isInteger(layer) || layer < 0 || layer >= layers) {
      throw _bad(
        `${where} 'mlp_only_layers' holds ${JSON.stringify(layer)}, not a layer index below ${layers}`,
      );
    }
    dense.add(layer);
  }
  const sparse = Array.from({ length: layers }, (_, l) => !dense.has(l) && (l + 1) % step === 0);
  return { sparse, numExperts, moeIntermediateSize, sharedExpertIntermediateSize };
}
