// gguf_model.cpp — GGUF metadata → ModelConfig, GGUF tensor names → the Hugging Face names the loader
// plans with. What the converter changed is undone explicitly: llama's attn_q / attn_k rows are in
// interleaved-RoPE order (config.rope_rows_interleaved; load.cpp restores rotate-half order) and
// Llama 3.1's rope scaling arrives as a rope_freqs tensor (config.rope_freq_factors). Every GGUF
// tensor must find a place; one that does not is refused by name, never ignored.
#include "gguf_model.h"

#include <cstring>

#include "error.h"
#include "moe.h"
#include "moe_math.h"

namespace cx {
namespace {

std::string file_name(const GgufSet& gguf) {
  const size_t slash = gguf.path().rfind('/');
  return slash == std::string::npos ? gguf.path() : gguf.path().substr(slash + 1);
}

int metadata_int(const GgufSet& gguf, const std::string& key, int fallback, bool required) {
  const GgufValue* value = gguf.find_value(key);
  if (value == nullptr) {
    if (required) throw Error(CX_ERR_BAD_MODEL, file_name(gguf) + " has no metadata '" + key + "'");
    return fallback;
  }
  if (value->type == GgufType::Array) throw Error(CX_ERR_UNSUPPORTED_ARCH, file_name(gguf) + ": metadata '" + key
      + "' is a per-layer array; only one value for every layer is supported");
  if (!value->is_integer() || value->integer < 1 || value->integer > 2147483647) {
    throw Error(CX_ERR_BAD_MODEL, file_name(gguf) + ": metadata '" + key + "' must be a positive integer");
  }
  return static_cast<int>(value->integer);
}

double metadata_number(const GgufSet& gguf, const std::string& key, double fallback, bool required) {
  const GgufValue* value = gguf.find_value(key);
  if (value == nullptr) {
    if (required) throw Error(CX_ERR_BAD_MODEL, file_name(gguf) + " has no metadata '" + key + "'");
    return fallback;
  }
  if (!value->is_number()) throw Error(CX_ERR_BAD_MODEL, file_name(gguf) + ": metadata '" + key
      + "' must be a number");
  return value->number;
}

// A token id (may be 0), or -1 when absent.
int token_id(const GgufSet& gguf, const std::string& key) {
  const GgufValue* value = gguf.find_value(key);
  if (value == nullptr) return -1;
  if (!value->is_integer() || value->integer < 0 || value->integer > 2147483647) {
    throw Error(CX_ERR_BAD_MODEL, file_name(gguf) + ": metadata '" + key + "' must be a token id");
  }
  return static_cast<int>(value->integer);
}

// The HF name of a per-layer GGUF tensor suffix ("attn_q.weight" → "self_attn.q_proj.weight").
const char* layer_tensor_name(const std::string& suffix) {
  static const char* const table[][2] = {
      {"attn_norm.weight", "input_layernorm.weight"},
      {"attn_q.weight", "self_attn.q_proj.weight"},
      {"attn_k.weight", "self_attn.k_proj.weight"},
      {"attn_v.weight", "self_attn.v_proj.weight"},
      {"attn_output.weight", "self_attn.o_proj.weight"},
      {"attn_q_norm.weight", "self_attn.q_norm.weight"},
      {"attn_k_norm.weight", "self_attn.k_norm.weight"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"},
      {"ffn_gate.weight", "mlp.gate_proj.weight"},
      {"ffn_up.weight", "mlp.up_proj.weight"},
      {"ffn_down.weight", "mlp.down_proj.weight"},
      {"ffn_gate_inp.weight", "mlp.gate.weight"},  // qwen3moe's router; its experts: moe.h
  };
  for (const auto& row : table) {
    if (suffix == row[0]) return row[1];
  }
  return nullptr;
}

// "blk.12.attn_q.weight" → "model.layers.12.self_attn.q_proj.weight"; "" for an unknown name.
std::string hf_name(const std::string& name, int layers) {
  if (name == "token_embd.weight") return "model.embed_tokens.weight";
  if (name == "output.weight") return "lm_head.weight";
  if (name == "output_norm.weight") return "model.norm.weight";
  if (name.rfind("blk.", 0) != 0) return "";
  const size_t dot = name.find('.', 4);
  if (dot == std::string::npos || dot == 4) return "";
  const std::string number = name.substr(4, dot - 4);
  if (number.find_first_not_of("0123456789") != std::string::npos || number.size() > 6) return "";
  const int layer = std::stoi(number);
  if (layer >= layers || std::to_string(layer) != number) return "";
  const char* suffix = layer_tensor_name(name.substr(dot + 1));
  return suffix == nullptr ? "" : "model.layers." + number + "." + suffix;
}

}  // namespace

ModelConfig gguf_model_config(const GgufSet& gguf) {
  const std::string file = file_name(gguf);
  const GgufValue* arch_value = gguf.find_value("general.architecture");
  if (arch_value == nullptr || arch_value->type != GgufType::String) {
    throw Error(CX_ERR_BAD_MODEL, file + " has no string metadata 'general.architecture'");
  }
  const std::string arch = arch_value->string;
  ModelConfig config;
  if (arch == "qwen3") {
    config.architecture = Architecture::Qwen3;
    config.architecture_name = "Qwen3ForCausalLM";
    config.qk_norm = true;
  } else if (arch == "llama") {
    config.architecture = Architecture::Llama;
    config.architecture_name = "LlamaForCausalLM";
    config.rope_rows_interleaved = true;
  } else if (arch == "qwen3moe") {
    config.architecture = Architecture::Qwen3Moe;
    config.architecture_name = "Qwen3MoeForCausalLM";
    config.qk_norm = true;
  } else {
    throw Error(CX_ERR_UNSUPPORTED_ARCH, file + " has GGUF architecture '" + arch
        + "', which is not supported (supported: qwen3, qwen3moe, llama)");
  }
  const std::string p = arch + ".";
  config.hidden_size = metadata_int(gguf, p + "embedding_length", 0, true);
  config.layers = metadata_int(gguf, p + "block_count", 0, true);
  const bool moe = config.architecture == Architecture::Qwen3Moe;
  if (moe) {
    // llama.cpp's qwen3moe graph: every layer sparse, softmax gating, top-k weights always renormalised.
    config.num_experts = metadata_int(gguf, p + "expert_count", 0, true);
    config.experts_per_token = metadata_int(gguf, p + "expert_used_count", 0, true);
    config.moe_intermediate_size = metadata_int(gguf, p + "expert_feed_forward_length", 0, true);
    if (config.experts_per_token > config.num_experts || config.experts_per_token > kMaxExpertsPerToken) {
      throw Error(CX_ERR_BAD_MODEL, file + ": expert_used_count " + std::to_string(config.experts_per_token)
          + " exceeds expert_count " + std::to_string(config.num_experts) + " or the limit of "
          + std::to_string(kMaxExpertsPerToken));
    }
    config.norm_topk_prob = true;
    config.sparse_layers.assign(static_cast<size_t>(config.layers), true);
    const GgufValue* scale = gguf.find_value(p + "expert_weights_scale");
    if (scale != nullptr && (!scale->is_number() || (scale->number != 0 && scale->number != 1))) {
      throw Error(CX_ERR_UNSUPPORTED_ARCH, file + ": " + p + "expert_weights_scale "
          + (scale->is_number() ? std::to_string(scale->number) : std::string("?")) + " is not supported");
    }
    for (const char* key : {"expert_shared_count", "expert_shared_feed_forward_length", "leading_dense_block_count"}) {
      if (gguf.find_value(p + key) != nullptr) throw Error(CX_ERR_UNSUPPORTED_ARCH, file + " sets " + p + key
          + ", which llama.cpp's qwen3moe graph does not use; shared experts and dense blocks are not supported");
    }
  }
  config.intermediate_size = metadata_int(gguf, p + "feed_forward_length", config.moe_intermediate_size, !moe);
  config.heads = metadata_int(gguf, p + "attention.head_count", 0, true);
  config.kv_heads = metadata_int(gguf, p + "attention.head_count_kv", config.heads, false);
  if (config.heads % config.kv_heads != 0) {
    throw Error(CX_ERR_BAD_MODEL, file + ": attention.head_count (" + std::to_string(config.heads)
        + ") is not a multiple of attention.head_count_kv (" + std::to_string(config.kv_heads) + ")");
  }
  if (gguf.find_value(p + "attention.key_length") == nullptr && config.hidden_size % config.heads != 0) {
    throw Error(CX_ERR_BAD_MODEL, file + ": embedding_length is not a multiple of attention.head_count and "
        "attention.key_length is not given");
  }
  config.head_dim = metadata_int(gguf, p + "attention.key_length", config.hidden_size / config.heads, false);
  const int value_length = metadata_int(gguf, p + "attention.value_length", config.head_dim, false);
  if (value_length != config.head_dim) throw Error(CX_ERR_UNSUPPORTED_ARCH, file + ": attention.value_length "
      + std::to_string(value_length) + " differs from attention.key_length " + std::to_string(config.head_dim)
      + "; only equal key and value head sizes are supported");
  if (config.head_dim % 2 != 0) throw Error(CX_ERR_BAD_MODEL, file + ": head size " + std::to_string(config.head_dim)
      + " is odd; rotary embeddings need pairs");
  const int rope_dims = metadata_int(gguf, p + "rope.dimension_count", config.head_dim, false);
  if (rope_dims != config.head_dim) throw Error(CX_ERR_UNSUPPORTED_ARCH, file + ": rope.dimension_count "
      + std::to_string(rope_dims) + " rotates part of a head of " + std::to_string(config.head_dim)
      + "; only full-head rotary embeddings are supported");
  config.rope_theta = metadata_number(gguf, p + "rope.freq_base", 10000.0, false);
  if (!(config.rope_theta > 0)) throw Error(CX_ERR_BAD_MODEL, file + ": rope.freq_base must be positive");
  const GgufValue* scaling = gguf.find_value(p + "rope.scaling.type");
  if (scaling != nullptr && (scaling->type != GgufType::String || scaling->string != "none")) {
    const std::string name = scaling->type == GgufType::String ? scaling->string : "?";
    throw Error(CX_ERR_UNSUPPORTED_ARCH, file + " asks for rope scaling '" + name + "' (" + p
        + "rope.scaling.type); only unscaled rotary embeddings and Llama 3.1's rope_freqs are supported");
  }
  config.rms_norm_eps = static_cast<float>(metadata_number(gguf, p + "attention.layer_norm_rms_epsilon", 0, true));
  config.max_position_embeddings = metadata_int(gguf, p + "context_length", 2048, false);

  int vocab = metadata_int(gguf, p + "vocab_size", 0, false);
  const GgufValue* tokens = gguf.find_value("tokenizer.ggml.tokens");
  if (vocab == 0 && tokens != nullptr && tokens->type == GgufType::Array && !tokens->items.empty()) {
    vocab = static_cast<int>(tokens->items.size());
  }
  const TensorView* embed = gguf.find("token_embd.weight");
  if (vocab == 0 && embed != nullptr && embed->shape.size() == 2) vocab = static_cast<int>(embed->shape[0]);
  if (vocab == 0) throw Error(CX_ERR_BAD_MODEL, file + " states no vocabulary size (" + p
      + "vocab_size, tokenizer.ggml.tokens or token_embd.weight)");
  config.vocab_size = vocab;
  config.tie_word_embeddings = gguf.find("output.weight") == nullptr;

  config.bos_token_id = token_id(gguf, "tokenizer.ggml.bos_token_id");
  for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"}) {
    const int id = token_id(gguf, key);
    bool seen = false;
    for (int known : config.eos_token_ids) seen = seen || known == id;
    if (id >= 0 && !seen) config.eos_token_ids.push_back(id);
  }

  const TensorView* freqs = gguf.find("rope_freqs.weight");
  if (freqs != nullptr) {
    if (freqs->dtype != DType::F32 || freqs->elements() != config.head_dim / 2) {
      throw Error(CX_ERR_BAD_MODEL, file + ": rope_freqs.weight must be " + std::to_string(config.head_dim / 2)
          + " F32 values; it is " + freqs->dtype_tag + " " + freqs->shape_text());
    }
    config.rope_freq_factors.resize(static_cast<size_t>(config.head_dim / 2));
    std::memcpy(config.rope_freq_factors.data(), freqs->data, config.rope_freq_factors.size() * sizeof(float));
    for (float factor : config.rope_freq_factors) {
      if (!(factor > 0)) throw Error(CX_ERR_BAD_MODEL, file + ": rope_freqs.weight holds a factor that is not "
          "positive");
    }
  }
  return config;
}

GgufModel open_gguf_model(const std::string& path) {
  GgufSet gguf = GgufSet::open(path);
  GgufModel model;
  model.config = gguf_model_config(gguf);
  for (const auto& file : gguf.files()) model.tensors.adopt(file);
  for (const auto& [name, view] : gguf.tensors()) {
    if (name == "rope_freqs.weight") continue;  // read into config.rope_freq_factors
    if (model.config.num_experts > 0 && add_gguf_expert_views(model.tensors, name, view, model.config.layers,
        model.config.num_experts)) continue;
    const std::string hf = hf_name(name, model.config.layers);
    if (hf.empty()) {
      throw Error(CX_ERR_UNSUPPORTED_ARCH, view.file + " holds tensor '" + name + "', which the engine's "
          + model.config.architecture_name + " graph has no place for (" + view.dtype_tag + " " + view.shape_text()
          + ")");
    }
    model.tensors.add_view(hf, view, name);
  }
  return model;
}

}  // namespace cx
