// config.cpp — config.json → ModelConfig. Accepts transformers 4.x and 5.x spellings (rope.h reads
// rope_parameters / rope_scaling and rope_theta wherever they are).
#include "config.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>

#include "error.h"
#include "hybrid.h"
#include "json.h"
#include "moe_math.h"
#include "rope.h"
#include "safetensors.h"

namespace cx {
namespace {

const Json* member(const Json& object, const std::string& key) {
  const Json* value = object.get(key);
  return value != nullptr && !value->is_null() ? value : nullptr;
}

int required_int(const Json& object, const std::string& key) {
  const Json* value = member(object, key);
  if (value == nullptr) throw Error(CX_ERR_BAD_MODEL, "config.json has no '" + key + "'");
  if (!value->is_number() || value->number != std::floor(value->number) || value->number < 1
      || value->number > 2147483647.0) {
    throw Error(CX_ERR_BAD_MODEL, "config.json '" + key + "' must be a positive integer");
  }
  return static_cast<int>(value->number);
}

int optional_int(const Json& object, const std::string& key, int fallback) {
  return member(object, key) == nullptr ? fallback : required_int(object, key);
}

// Like optional_int, but 0 is allowed (max_window_layers: 0 = every layer slides).
int optional_int0(const Json& object, const std::string& key, int fallback) {
  const Json* value = member(object, key);
  if (value == nullptr) return fallback;
  if (!value->is_number() || value->number != std::floor(value->number) || value->number < 0
      || value->number > 2147483647.0) {
    throw Error(CX_ERR_BAD_MODEL, "config.json '" + key + "' must be a non-negative integer");
  }
  return static_cast<int>(value->number);
}

double optional_number(const Json& object, const std::string& key, double fallback) {
  const Json* value = member(object, key);
  if (value == nullptr) return fallback;
  if (!value->is_number()) throw Error(CX_ERR_BAD_MODEL, "config.json '" + key + "' must be a number");
  return value->number;
}

bool optional_bool(const Json& object, const std::string& key, bool fallback) {
  const Json* value = member(object, key);
  if (value == nullptr) return fallback;
  if (value->kind != Json::Kind::Bool) throw Error(CX_ERR_BAD_MODEL, "config.json '" + key
      + "' must be true or false");
  return value->boolean;
}

// Qwen3's sliding window, as transformers 5.17's Qwen3Config reads it: sliding_window counts only with
// use_sliding_window; layer_types (when absent: layers from max_window_layers on slide) says which
// layers use it; a sliding layer attends to the last sliding_window positions (key > query − window).
void read_sliding_window(const Json& root, ModelConfig& config) {
  const bool use = optional_bool(root, "use_sliding_window", false);
  // Absent: Qwen3Config's default of 4096; null: no window.
  const bool absent = root.get("sliding_window") == nullptr;
  const int window = !use ? 0 : absent ? 4096 : optional_int(root, "sliding_window", 0);
  const Json* types = member(root, "layer_types");
  std::vector<bool> sliding(static_cast<size_t>(config.layers), false);
  if (types != nullptr) {
    if (!types->is_array() || types->array.size() != static_cast<size_t>(config.layers)) {
      throw Error(CX_ERR_BAD_MODEL, "config.json 'layer_types' must list one type for each of the "
          + std::to_string(config.layers) + " layers");
    }
    for (size_t l = 0; l < sliding.size(); l++) {
      const Json& type = types->array[l];
      const std::string name = type.is_string() ? type.string : "?";
      if (name != "full_attention" && name != "sliding_attention") throw Error(CX_ERR_UNSUPPORTED_ARCH,
          "config.json 'layer_types' names '" + name + "' for layer " + std::to_string(l)
          + "; supported: full_attention, sliding_attention");
      sliding[l] = name == "sliding_attention";
    }
  } else if (window > 0) {
    const int first = optional_int0(root, "max_window_layers", 28);
    for (int l = first; l < config.layers; l++) sliding[static_cast<size_t>(l)] = true;
  }
  const bool any = std::find(sliding.begin(), sliding.end(), true) != sliding.end();
  if (!any) return;
  if (window <= 0) throw Error(CX_ERR_UNSUPPORTED_ARCH, "config.json 'layer_types' has sliding_attention layers but "
      "use_sliding_window / sliding_window give no window");
  config.attention_windows.assign(static_cast<size_t>(config.layers), 0);
  for (size_t l = 0; l < sliding.size(); l++) config.attention_windows[l] = sliding[l] ? window : 0;
}

void read_special_tokens(const Json& root, ModelConfig& config) {
  const Json* bos = member(root, "bos_token_id");
  if (bos != nullptr && bos->is_number()) config.bos_token_id = static_cast<int>(bos->number);
  const Json* eos = member(root, "eos_token_id");
  if (eos != nullptr && eos->is_number()) config.eos_token_ids.push_back(static_cast<int>(eos->number));
  if (eos != nullptr && eos->is_array()) {
    for (const Json& id : eos->array) {
      if (id.is_number()) config.eos_token_ids.push_back(static_cast<int>(id.number));
    }
  }
}

// Qwen3MoeForCausalLM: the expert count in either spelling (hub: num_experts, transformers 5.x:
// num_local_experts), top-k, expert width, norm_topk_prob, and which layers are sparse exactly as
// transformers decides it: not in mlp_only_layers and (layer + 1) % decoder_sparse_step == 0.
// Ignored because they only matter in training: router_aux_loss_coef, output_router_logits.
void read_moe(const Json& root, ModelConfig& config) {
  const Json* local = member(root, "num_local_experts");
  config.num_experts = local != nullptr ? required_int(root, "num_local_experts") : required_int(root, "num_experts");
  if (local != nullptr && member(root, "num_experts") != nullptr && required_int(root, "num_experts")
      != config.num_experts) {
    throw Error(CX_ERR_BAD_MODEL, "config.json gives num_experts " + std::to_string(required_int(root, "num_experts"))
        + " and num_local_experts " + std::to_string(config.num_experts) + "; they must agree");
  }
  config.experts_per_token = required_int(root, "num_experts_per_tok");
  if (config.experts_per_token > config.num_experts) throw Error(CX_ERR_BAD_MODEL, "config.json num_experts_per_tok "
      + std::to_string(config.experts_per_token) + " exceeds the " + std::to_string(config.num_experts) + " experts");
  if (config.experts_per_token > kMaxExpertsPerToken) throw Error(CX_ERR_UNSUPPORTED_ARCH, "config.json "
      "num_experts_per_tok " + std::to_string(config.experts_per_token) + " is above the limit of "
      + std::to_string(kMaxExpertsPerToken));
  config.moe_intermediate_size = required_int(root, "moe_intermediate_size");
  config.norm_topk_prob = optional_bool(root, "norm_topk_prob", false);
  const int step = optional_int(root, "decoder_sparse_step", 1);
  std::vector<bool> dense(static_cast<size_t>(config.layers), false);
  const Json* only = member(root, "mlp_only_layers");
  if (only != nullptr) {
    if (!only->is_array()) throw Error(CX_ERR_BAD_MODEL, "config.json 'mlp_only_layers' must be a list of layers");
    for (const Json& layer : only->array) {
      if (!layer.is_number() || layer.number != std::floor(layer.number) || layer.number < 0
          || layer.number >= config.layers) {
        throw Error(CX_ERR_BAD_MODEL, "config.json 'mlp_only_layers' holds a value that is not a layer index below "
            + std::to_string(config.layers));
      }
      dense[static_cast<size_t>(layer.number)] = true;
    }
  }
  config.sparse_layers.assign(static_cast<size_t>(config.layers), false);
  for (int l = 0; l < config.layers; l++) {
    config.sparse_layers[static_cast<size_t>(l)] = !dense[static_cast<size_t>(l)] && (l + 1) % step == 0;
  }
  for (const char* key : {"shared_expert_intermediate_size", "n_shared_experts", "first_k_dense_replace"}) {
    if (member(root, key) != nullptr) throw Error(CX_ERR_UNSUPPORTED_ARCH, std::string("config.json sets '") + key
        + "', which Qwen3MoeForCausalLM does not have; shared experts are not supported");
  }
}

}  // namespace

ModelConfig read_model_config(const std::string& folder) {
  struct stat info {};
  if (::stat(folder.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    throw Error(CX_ERR_NOT_FOUND, "model folder " + folder + " does not exist");
  }
  const std::string path = folder + "/config.json";
  if (::stat(path.c_str(), &info) != 0) throw Error(CX_ERR_BAD_MODEL, "model folder " + folder
      + " has no config.json");
  MappedFile file(path);
  const Json root = parse_json(reinterpret_cast<const char*>(file.data()), file.size(), "config.json");
  if (!root.is_object()) throw Error(CX_ERR_BAD_MODEL, "config.json is not a JSON object");

  ModelConfig config;
  const Json* architectures = member(root, "architectures");
  if (architectures == nullptr || !architectures->is_array() || architectures->array.empty()
      || !architectures->array[0].is_string()) {
    throw Error(CX_ERR_BAD_MODEL, "config.json has no 'architectures' list");
  }
  config.architecture_name = architectures->array[0].string;
  if (is_hybrid_architecture(config.architecture_name)) return read_hybrid_config(root, config.architecture_name);
  if (config.architecture_name == "LlamaForCausalLM") {
    config.architecture = Architecture::Llama;
  } else if (config.architecture_name == "Qwen3ForCausalLM") {
    config.architecture = Architecture::Qwen3;
    config.qk_norm = true;
  } else if (config.architecture_name == "Qwen3MoeForCausalLM") {
    config.architecture = Architecture::Qwen3Moe;
    config.qk_norm = true;
  } else {
    throw Error(CX_ERR_UNSUPPORTED_ARCH, "architecture '" + config.architecture_name
        + "' is not supported (supported: LlamaForCausalLM, Qwen3ForCausalLM, Qwen3MoeForCausalLM, "
        "Qwen3_5ForConditionalGeneration, Qwen3_5ForCausalLM, Qwen3_5MoeForConditionalGeneration, Qwen3NextForCausalLM)");
  }

  config.hidden_size = required_int(root, "hidden_size");
  config.intermediate_size = required_int(root, "intermediate_size");
  config.layers = required_int(root, "num_hidden_layers");
  config.heads = required_int(root, "num_attention_heads");
  config.kv_heads = optional_int(root, "num_key_value_heads", config.heads);
  config.vocab_size = required_int(root, "vocab_size");
  config.max_position_embeddings = optional_int(root, "max_position_embeddings", 2048);
  config.rms_norm_eps = static_cast<float>(optional_number(root, "rms_norm_eps", 1e-6));
  config.tie_word_embeddings = optional_bool(root, "tie_word_embeddings", false);
  config.attention_bias = optional_bool(root, "attention_bias", false);
  if (optional_bool(root, "mlp_bias", false)) throw Error(CX_ERR_UNSUPPORTED_ARCH,
      "config.json sets mlp_bias; MLP biases are not supported");
  if (config.heads % config.kv_heads != 0) {
    throw Error(CX_ERR_BAD_MODEL, "num_attention_heads (" + std::to_string(config.heads)
        + ") is not a multiple of num_key_value_heads (" + std::to_string(config.kv_heads) + ")");
  }
  if (member(root, "head_dim") != nullptr) {
    config.head_dim = required_int(root, "head_dim");
  } else {
    if (config.hidden_size % config.heads != 0) throw Error(CX_ERR_BAD_MODEL,
        "hidden_size is not a multiple of num_attention_heads and head_dim is not given");
    config.head_dim = config.hidden_size / config.heads;
  }
  if (config.head_dim % 2 != 0) throw Error(CX_ERR_BAD_MODEL, "head_dim " + std::to_string(config.head_dim)
      + " is odd; rotary embeddings need pairs");
  const Json* act = member(root, "hidden_act");
  if (act != nullptr && (!act->is_string() || act->string != "silu")) {
    throw Error(CX_ERR_UNSUPPORTED_ARCH, "hidden_act '" + (act->is_string() ? act->string : std::string("?"))
        + "' is not supported (only silu)");
  }
  read_rope_config(root, config);
  if (config.architecture == Architecture::Qwen3) read_sliding_window(root, config);
  read_special_tokens(root, config);
  if (config.architecture == Architecture::Qwen3Moe) read_moe(root, config);
  return config;
}

}  // namespace cx
