// hybrid_config.cpp — config.json of the Qwen3.5 / Qwen3-Next hybrids → ModelConfig. Qwen3.5 nests the
// text model's keys under `text_config` (the conditional-generation layout, weights under
// `model.language_model.*`, beside a vision tower the engine does not load); Qwen3-Next is flat. Every
// key is known: one that changes inference and is not implemented is refused naming it.
#include <algorithm>
#include <cmath>
#include <set>

#include "error.h"
#include "hybrid.h"
#include "json.h"

namespace cx {
namespace {

const Json* member(const Json& object, const std::string& key) {
  const Json* value = object.get(key);
  return value != nullptr && !value->is_null() ? value : nullptr;
}

int get_int(const Json& object, const std::string& key, int fallback, bool required = false) {
  const Json* value = member(object, key);
  if (value == nullptr) {
    if (required) throw Error(CX_ERR_BAD_MODEL, "config.json has no '" + key + "'");
    return fallback;
  }
  if (!value->is_number() || value->number != std::floor(value->number) || value->number < 0
      || value->number > 2147483647.0) {
    throw Error(CX_ERR_BAD_MODEL, "config.json '" + key + "' must be a non-negative integer");
  }
  return static_cast<int>(value->number);
}

double get_number(const Json& object, const std::string& key, double fallback) {
  const Json* value = member(object, key);
  if (value == nullptr) return fallback;
  if (!value->is_number()) throw Error(CX_ERR_BAD_MODEL, "config.json '" + key + "' must be a number");
  return value->number;
}

bool get_bool(const Json& object, const std::string& key, bool fallback) {
  const Json* value = member(object, key);
  if (value == nullptr) return fallback;
  if (value->kind != Json::Kind::Bool) throw Error(CX_ERR_BAD_MODEL, "config.json '" + key + "' must be true or false");
  return value->boolean;
}

// Keys that do not change what the text model computes (training, metadata, the vision tower, the
// multi-token-prediction head that plain decoding never runs), and those this file reads.
const std::set<std::string> kIgnoredKeys = {
    "_name_or_path", "architectures", "model_type", "transformers_version", "torch_dtype", "dtype", "use_cache",
    "cortex_bench_generator",
    "initializer_range", "attention_dropout", "output_router_logits", "router_aux_loss_coef", "pad_token_id",
    "vision_config", "image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id",
    "mtp_num_hidden_layers", "mtp_use_dedicated_embeddings", "mamba_ssm_dtype", "text_config", "bos_token_id",
    "eos_token_id", "tie_word_embeddings", "hidden_size", "intermediate_size", "num_hidden_layers",
    "num_attention_heads", "num_key_value_heads", "head_dim", "vocab_size", "max_position_embeddings",
    "rms_norm_eps", "attention_bias", "hidden_act", "rope_theta", "rope_parameters", "rope_scaling",
    "partial_rotary_factor", "layer_types", "full_attention_interval", "linear_conv_kernel_dim",
    "linear_key_head_dim", "linear_value_head_dim", "linear_num_key_heads", "linear_num_value_heads",
    "attn_output_gate", "use_sliding_window", "sliding_window", "max_window_layers", "decoder_sparse_step",
    "num_experts", "num_local_experts", "moe_intermediate_size", "shared_expert_intermediate_size",
    "num_experts_per_tok", "norm_topk_prob", "mlp_only_layers", "use_qk_norm", "mlp_bias"};

void refuse_unknown_keys(const Json& object, const std::string& where) {
  std::string unknown;
  for (const auto& [key, value] : object.object) {
    if (kIgnoredKeys.count(key) == 0) unknown += (unknown.empty() ? "'" : ", '") + key + "'";
  }
  if (!unknown.empty()) throw Error(CX_ERR_UNSUPPORTED_ARCH, "config.json" + where + " has keys this engine does not "
      "implement: " + unknown);
}

// Plain rotary embeddings over the first rotary_dim of each head. mrope (Qwen3.5's multimodal
// sections) is the plain rotary embedding when every position id is the text position.
void read_hybrid_rope(const Json& text, const Json& root, ModelConfig& c) {
  c.rope_theta = get_number(text, "rope_theta", 10000.0);
  double partial = get_number(text, "partial_rotary_factor", get_number(root, "partial_rotary_factor", 0.25));
  for (const char* key : {"rope_parameters", "rope_scaling"}) {
    const Json* rope = member(text, key);
    if (rope == nullptr) continue;
    if (!rope->is_object()) throw Error(CX_ERR_BAD_MODEL, std::string("config.json '") + key + "' must be an object");
    for (const auto& [name, value] : rope->object) {
      static const std::set<std::string> known = {"rope_type", "type", "rope_theta", "partial_rotary_factor",
          "mrope_section", "mrope_interleaved"};
      if (known.count(name) == 0) throw Error(CX_ERR_UNSUPPORTED_ARCH, std::string("config.json '") + key
          + "' has key '" + name + "', which this engine does not implement");
    }
    const Json* type = member(*rope, "rope_type");
    if (type == nullptr) type = member(*rope, "type");
    if (type != nullptr && (!type->is_string() || type->string != "default")) {
      throw Error(CX_ERR_UNSUPPORTED_ARCH, std::string("config.json '") + key + "' asks for rope type '"
          + (type->is_string() ? type->string : std::string("?")) + "'; " + c.architecture_name
          + " supports only 'default' rotary embeddings");
    }
    c.rope_theta = get_number(*rope, "rope_theta", c.rope_theta);
    partial = get_number(*rope, "partial_rotary_factor", partial);
  }
  if (!(c.rope_theta > 0)) throw Error(CX_ERR_BAD_MODEL, "config.json rope_theta must be positive");
  const int rotary = static_cast<int>(c.head_dim * partial);
  if (!(partial > 0 && partial <= 1) || rotary < 2 || rotary % 2 != 0) {
    throw Error(CX_ERR_BAD_MODEL, "config.json partial_rotary_factor " + std::to_string(partial) + " gives "
        + std::to_string(rotary) + " rotary dims of head_dim " + std::to_string(c.head_dim) + "; it must be even");
  }
  c.rotary_dim = rotary;
}

void read_layer_types(const Json& text, ModelConfig& c) {
  const Json* types = member(text, "layer_types");
  c.linear_layers.assign(static_cast<size_t>(c.layers), 0);
  if (types == nullptr) {
    const int interval = get_int(text, "full_attention_interval", 4);
    if (interval < 1) throw Error(CX_ERR_BAD_MODEL, "config.json full_attention_interval must be positive");
    for (int i = 0; i < c.layers; i++) c.linear_layers[static_cast<size_t>(i)] = (i + 1) % interval != 0;
    return;
  }
  if (!types->is_array() || static_cast<int>(types->array.size()) != c.layers) {
    throw Error(CX_ERR_BAD_MODEL, "config.json layer_types must list one type for each of the "
        + std::to_string(c.layers) + " layers");
  }
  for (int i = 0; i < c.layers; i++) {
    const Json& type = types->array[static_cast<size_t>(i)];
    const std::string name = type.is_string() ? type.string : "?";
    if (name != "linear_attention" && name != "full_attention") throw Error(CX_ERR_UNSUPPORTED_ARCH,
        "config.json layer_types[" + std::to_string(i) + "] is '" + name
        + "'; supported: linear_attention, full_attention");
    c.linear_layers[static_cast<size_t>(i)] = name == "linear_attention";
  }
}

void read_tokens(const Json& object, ModelConfig& c) {
  const Json* bos = member(object, "bos_token_id");
  if (bos != nullptr && bos->is_number() && c.bos_token_id < 0) c.bos_token_id = static_cast<int>(bos->number);
  const Json* eos = member(object, "eos_token_id");
  if (eos == nullptr || !c.eos_token_ids.empty()) return;
  if (eos->is_number()) c.eos_token_ids.push_back(static_cast<int>(eos->number));
  if (eos->is_array()) {
    for (const Json& id : eos->array) {
      if (id.is_number()) c.eos_token_ids.push_back(static_cast<int>(id.number));
    }
  }
}

// Sparse MLP layers (moe.h) with a σ-gated shared expert. Qwen3-Next: every decoder_sparse_step-th
// layer outside mlp_only_layers when num_experts > 0; Qwen3.5-MoE: every layer, top-k always renormalised.
void read_experts(const Json& text, ModelConfig& c, bool qwen3_5_moe) {
  c.num_experts = std::max(get_int(text, "num_experts", 0), get_int(text, "num_local_experts", 0));
  c.sparse_layers.assign(static_cast<size_t>(c.layers), false);
  if (c.num_experts == 0) {
    if (qwen3_5_moe) throw Error(CX_ERR_BAD_MODEL, "config.json of " + c.architecture_name + " has no num_experts");
    return;
  }
  c.experts_per_token = get_int(text, "num_experts_per_tok", 0, true);
  c.moe_intermediate_size = get_int(text, "moe_intermediate_size", 0, true);
  c.shared_expert_intermediate_size = get_int(text, "shared_expert_intermediate_size", 0);
  c.norm_topk_prob = qwen3_5_moe || get_bool(text, "norm_topk_prob", true);
  if (c.experts_per_token < 1 || c.experts_per_token > c.num_experts || c.moe_intermediate_size < 1) {
    throw Error(CX_ERR_BAD_MODEL, "config.json num_experts_per_tok (" + std::to_string(c.experts_per_token)
        + ") must be in [1, num_experts] and moe_intermediate_size positive");
  }
  const int step = qwen3_5_moe ? 1 : get_int(text, "decoder_sparse_step", 1);
  if (step < 1) throw Error(CX_ERR_BAD_MODEL, "config.json decoder_sparse_step must be positive");
  std::set<int> dense;
  const Json* only = member(text, "mlp_only_layers");
  if (only != nullptr && !qwen3_5_moe) {
    if (!only->is_array()) throw Error(CX_ERR_BAD_MODEL, "config.json mlp_only_layers must be a list of layer indexes");
    for (const Json& index : only->array) {
      if (index.is_number()) dense.insert(static_cast<int>(index.number));
    }
  }
  bool any_dense = false;
  for (int l = 0; l < c.layers; l++) {
    const bool sparse = dense.count(l) == 0 && (l + 1) % step == 0;
    c.sparse_layers[static_cast<size_t>(l)] = sparse;
    any_dense = any_dense || !sparse;
  }
  if (any_dense && c.intermediate_size < 1) throw Error(CX_ERR_BAD_MODEL, "config.json has dense MLP layers but no "
      "intermediate_size");
}

}  // namespace

bool is_hybrid_architecture(const std::string& name) {
  return name == "Qwen3_5ForConditionalGeneration" || name == "Qwen3_5ForCausalLM" || name == "Qwen3NextForCausalLM"
      || name == "Qwen3_5MoeForConditionalGeneration" || name == "Qwen3_5MoeForCausalLM";
}

ModelConfig read_hybrid_config(const Json& root, const std::string& architecture_name) {
  ModelConfig c;
  c.architecture_name = architecture_name;
  const bool next = architecture_name == "Qwen3NextForCausalLM";
  const bool qwen3_5_moe = architecture_name.rfind("Qwen3_5Moe", 0) == 0;
  c.architecture = next ? Architecture::Qwen3Next : Architecture::Qwen3_5;
  const Json* nested = member(root, "text_config");
  if (nested != nullptr && !nested->is_object()) throw Error(CX_ERR_BAD_MODEL, "config.json 'text_config' must be "
      "an object");
  const Json& text = nested != nullptr ? *nested : root;
  refuse_unknown_keys(root, "");
  if (nested != nullptr) refuse_unknown_keys(text, " text_config");
  c.text_prefix = architecture_name.find("ForConditionalGeneration") != std::string::npos ? "model.language_model." : "";

  c.hidden_size = get_int(text, "hidden_size", 0, true);
  c.intermediate_size = get_int(text, "intermediate_size", 0, !qwen3_5_moe);  // qwen3_5_moe: every MLP is sparse
  c.layers = get_int(text, "num_hidden_layers", 0, true);
  c.heads = get_int(text, "num_attention_heads", 0, true);
  c.kv_heads = get_int(text, "num_key_value_heads", c.heads);
  c.vocab_size = get_int(text, "vocab_size", 0, true);
  c.head_dim = get_int(text, "head_dim", c.heads > 0 ? c.hidden_size / c.heads : 0);
  c.max_position_embeddings = get_int(text, "max_position_embeddings", 32768);
  c.rms_norm_eps = static_cast<float>(get_number(text, "rms_norm_eps", 1e-6));
  c.tie_word_embeddings = get_bool(text, "tie_word_embeddings", get_bool(root, "tie_word_embeddings", false));
  c.attention_bias = get_bool(text, "attention_bias", false);
  if (c.layers < 1 || c.heads < 1 || c.kv_heads < 1 || c.head_dim < 1 || c.hidden_size < 1 || c.vocab_size < 1) {
    throw Error(CX_ERR_BAD_MODEL, "config.json sizes (hidden_size, num_hidden_layers, num_attention_heads, "
        "num_key_value_heads, head_dim, vocab_size) must be positive");
  }
  if (c.heads % c.kv_heads != 0) throw Error(CX_ERR_BAD_MODEL, "num_attention_heads (" + std::to_string(c.heads)
      + ") is not a multiple of num_key_value_heads (" + std::to_string(c.kv_heads) + ")");
  if (c.attention_bias) throw Error(CX_ERR_UNSUPPORTED_ARCH, "config.json sets attention_bias; " + architecture_name
      + " with attention biases is not supported");
  if (get_bool(text, "mlp_bias", false)) throw Error(CX_ERR_UNSUPPORTED_ARCH, "config.json sets mlp_bias; MLP biases "
      "are not supported");
  if (!get_bool(text, "attn_output_gate", true)) throw Error(CX_ERR_UNSUPPORTED_ARCH, "config.json sets "
      "attn_output_gate false; only gated attention is implemented for " + architecture_name);
  if (!get_bool(text, "use_qk_norm", true)) throw Error(CX_ERR_UNSUPPORTED_ARCH, "config.json sets use_qk_norm "
      "false; " + architecture_name + " always normalises q and k here");
  if (get_bool(text, "use_sliding_window", false)) throw Error(CX_ERR_UNSUPPORTED_ARCH, "config.json sets "
      "use_sliding_window; sliding-window attention is not implemented for " + architecture_name);
  const Json* act = member(text, "hidden_act");
  if (act != nullptr && (!act->is_string() || act->string != "silu")) throw Error(CX_ERR_UNSUPPORTED_ARCH,
      "hidden_act '" + (act->is_string() ? act->string : std::string("?")) + "' is not supported (only silu)");
  c.norm_plus_one = true;
  c.attn_output_gate = true;
  c.qk_norm = true;
  c.fused_linear_proj = next;
  c.linear_conv_kernel = get_int(text, "linear_conv_kernel_dim", 4);
  c.linear_k_dim = get_int(text, "linear_key_head_dim", 128);
  c.linear_v_dim = get_int(text, "linear_value_head_dim", 128);
  c.linear_k_heads = get_int(text, "linear_num_key_heads", 16);
  c.linear_v_heads = get_int(text, "linear_num_value_heads", 32);
  if (c.linear_conv_kernel < 1 || c.linear_k_dim < 1 || c.linear_v_dim < 1 || c.linear_k_heads < 1
      || c.linear_v_heads % c.linear_k_heads != 0) {
    throw Error(CX_ERR_BAD_MODEL, "config.json linear attention sizes must be positive and linear_num_value_heads ("
        + std::to_string(c.linear_v_heads) + ") a multiple of linear_num_key_heads ("
        + std::to_string(c.linear_k_heads) + ")");
  }
  read_layer_types(text, c);
  read_experts(text, c, qwen3_5_moe);
  read_hybrid_rope(text, root, c);
  read_tokens(text, c);
  read_tokens(root, c);
  return c;
}

}  // namespace cx
