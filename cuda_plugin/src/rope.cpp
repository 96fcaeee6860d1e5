// rope.cpp — RoPE config (both spellings) → ModelConfig, and the inverse-frequency table. The table
// is computed with the same f32 operations, in the same order, as transformers 5.17's
// modeling_rope_utils (torch evaluates `scalar / tensor` as reciprocal(tensor) · scalar, so that is
// what we do too); rope_test.ts checks the values against numbers transformers computed.
#include "rope.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "error.h"

namespace cx {
namespace {

const Json* member(const Json& object, const std::string& key) {
  const Json* value = object.get(key);
  return value != nullptr && !value->is_null() ? value : nullptr;
}

double number_of(const Json& object, const std::string& where, const std::string& key, double fallback) {
  const Json* value = member(object, key);
  if (value == nullptr) return fallback;
  if (!value->is_number()) throw Error(CX_ERR_BAD_MODEL, "config.json '" + where + key + "' must be a number");
  return value->number;
}

// The keys each rope type reads (besides rope_type / type, rope_theta and partial_rotary_factor).
std::vector<std::string> keys_of(const std::string& type) {
  if (type == "linear") return {"factor"};
  if (type == "llama3") return {"factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"};
  if (type == "yarn") {
    return {"factor", "original_max_position_embeddings", "beta_fast", "beta_slow", "attention_factor", "mscale",
        "mscale_all_dim", "truncate"};
  }
  return {};
}

double yarn_mscale(double scale, double mscale) { return scale <= 1 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0; }

void read_scaling(const Json& rope, const std::string& key, ModelConfig& config, bool text_mrope) {
  const std::string where = key + ".";
  RopeScaling& s = config.rope_scaling;
  const Json* type = member(rope, "rope_type");
  if (type == nullptr) type = member(rope, "type");
  if (type != nullptr && !type->is_string()) throw Error(CX_ERR_BAD_MODEL, "config.json '" + where
      + "rope_type' must be a string");
  s.type = type != nullptr ? type->string : "default";
  if (s.type != "default" && s.type != "linear" && s.type != "llama3" && s.type != "yarn") {
    throw Error(CX_ERR_UNSUPPORTED_ARCH, "config.json '" + where + "rope_type' is '" + s.type
        + "'; supported rope types: default, linear, llama3, yarn");
  }
  const std::vector<std::string> allowed = keys_of(s.type);
  for (const auto& [name, value] : rope.object) {
    if (name == "rope_type" || name == "type" || name == "rope_theta" || name == "partial_rotary_factor") continue;
    if (text_mrope && (name == "mrope_section" || name == "mrope_interleaved")) continue;
    if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
    throw Error(CX_ERR_UNSUPPORTED_ARCH, "config.json '" + where + name + "' is not supported with rope type '"
        + s.type + "'" + (allowed.empty() ? std::string() : " (it reads: " + [&] {
          std::string list;
          for (const std::string& k : allowed) list += (list.empty() ? "" : ", ") + k;
          return list;
        }() + ")"));
  }
  if (s.type == "default") return;

  auto positive = [&](const std::string& name, double value) {
    if (!(value > 0) || !std::isfinite(value)) throw Error(CX_ERR_BAD_MODEL, "config.json '" + where + name
        + "' must be a positive number");
    return value;
  };
  auto required = [&](const std::string& name) {
    if (member(rope, name) == nullptr) throw Error(CX_ERR_BAD_MODEL, "config.json '" + key + "' (rope type '" + s.type
        + "') has no '" + name + "'");
    return positive(name, number_of(rope, where, name, 0));
  };
  // transformers fills original_max_position_embeddings from max_position_embeddings when absent.
  const double original = number_of(rope, where, "original_max_position_embeddings", config.max_position_embeddings);
  s.original_max_position_embeddings = static_cast<int>(positive("original_max_position_embeddings", original));
  if (s.type == "linear") {
    s.factor = required("factor");
  } else if (s.type == "llama3") {
    s.factor = required("factor");
    s.low_freq_factor = required("low_freq_factor");
    s.high_freq_factor = required("high_freq_factor");
    if (!(s.high_freq_factor > s.low_freq_factor)) throw Error(CX_ERR_BAD_MODEL, "config.json '" + where
        + "high_freq_factor' must exceed low_freq_factor");
  } else {  // yarn
    s.factor = member(rope, "factor") != nullptr
        ? positive("factor", number_of(rope, where, "factor", 0))
        : static_cast<double>(config.max_position_embeddings) / s.original_max_position_embeddings;
    // `or 32` / `or 1` in transformers: a 0 also falls back to the default.
    const double beta_fast = number_of(rope, where, "beta_fast", 0);
    const double beta_slow = number_of(rope, where, "beta_slow", 0);
    s.beta_fast = beta_fast != 0 ? beta_fast : 32.0;
    s.beta_slow = beta_slow != 0 ? beta_slow : 1.0;
    const Json* truncate = member(rope, "truncate");
    if (truncate != nullptr && truncate->kind != Json::Kind::Bool) throw Error(CX_ERR_BAD_MODEL, "config.json '"
        + where + "truncate' must be true or false");
    s.truncate = truncate == nullptr || truncate->boolean;
    if (member(rope, "attention_factor") != nullptr) {
      s.attention_factor = positive("attention_factor", number_of(rope, where, "attention_factor", 0));
    } else {
      const double mscale = number_of(rope, where, "mscale", 0);
      const double mscale_all_dim = number_of(rope, where, "mscale_all_dim", 0);
      s.attention_factor = mscale != 0 && mscale_all_dim != 0
          ? yarn_mscale(s.factor, mscale) / yarn_mscale(s.factor, mscale_all_dim)
          : yarn_mscale(s.factor, 1.0);
    }
  }
}

}  // namespace

void read_rope_config(const Json& object, ModelConfig& config, const RopeReadOptions& options) {
  config.rope_theta = number_of(object, "", "rope_theta", config.rope_theta);
  double partial = number_of(object, "", "partial_rotary_factor", options.default_partial_rotary_factor);
  // transformers: `self.rope_parameters = rope_scaling or self.rope_parameters`.
  const Json* rope = nullptr;
  std::string key;
  for (const char* name : {"rope_scaling", "rope_parameters"}) {
    const Json* value = member(object, name);
    if (value == nullptr) continue;
    if (!value->is_object()) throw Error(CX_ERR_BAD_MODEL, std::string("config.json '") + name + "' must be an object");
    if (value->object.empty()) continue;
    rope = value;
    key = name;
    break;
  }
  config.rope_scaling = RopeScaling();
  if (rope != nullptr) {
    config.rope_theta = number_of(*rope, key + ".", "rope_theta", config.rope_theta);
    partial = number_of(*rope, key + ".", "partial_rotary_factor", partial);
    read_scaling(*rope, key, config, options.text_mrope);
  }
  if (!(config.rope_theta > 0)) throw Error(CX_ERR_BAD_MODEL, "config.json rope_theta must be positive");
  if (!(partial > 0 && partial <= 1)) throw Error(CX_ERR_BAD_MODEL, "config.json partial_rotary_factor "
      + std::to_string(partial) + " must be in (0, 1]");
  if (partial != 1.0 && !options.partial_rotary) {
    throw Error(CX_ERR_UNSUPPORTED_ARCH, "config.json 'partial_rotary_factor' " + std::to_string(partial) + " is not "
        "supported for " + config.architecture_name + " (transformers rotates its whole head)");
  }
  config.rotary_dim = static_cast<int>(config.head_dim * partial);  // int() truncates, as in transformers
  if (config.rotary_dim < 2 || config.rotary_dim % 2 != 0) {
    throw Error(CX_ERR_BAD_MODEL, "partial_rotary_factor " + std::to_string(partial) + " of head_dim "
        + std::to_string(config.head_dim) + " rotates " + std::to_string(config.rotary_dim)
        + " dims; rotary embeddings need a positive even number");
  }
  const Json* section = rope != nullptr && options.text_mrope ? member(*rope, "mrope_section") : nullptr;
  if (section != nullptr) {
    double total = 0;
    for (const Json& part : section->is_array() ? section->array : std::vector<Json>()) {
      total += part.is_number() ? part.number : 0;
    }
    if (!section->is_array() || total != config.rotary_dim / 2) {
      throw Error(CX_ERR_BAD_MODEL, "config.json '" + key + ".mrope_section' must list frequencies adding up to "
          "rotary_dim / 2 = " + std::to_string(config.rotary_dim / 2));
    }
  }
}

RopeTable rope_table(const ModelConfig& config) {
  const int dim = config.rotary_dim > 0 ? config.rotary_dim : config.head_dim;
  const int half = dim / 2;
  const RopeScaling& s = config.rope_scaling;
  const float base = static_cast<float>(config.rope_theta);
  RopeTable table;
  std::vector<float>& inv = table.inv_freq;
  inv.resize(static_cast<size_t>(half));
  std::vector<float> pos_freqs(static_cast<size_t>(half));
  for (int i = 0; i < half; i++) {
    pos_freqs[i] = powf(base, static_cast<float>(2 * i) / static_cast<float>(dim));
    inv[i] = 1.0f / pos_freqs[i];
  }
  if (s.type == "linear") {
    for (float& f : inv) f /= static_cast<float>(s.factor);
  } else if (s.type == "llama3") {
    const float factor = static_cast<float>(s.factor);
    const double old_context = s.original_max_position_embeddings;
    const float low_wavelen = static_cast<float>(old_context / s.low_freq_factor);
    const float high_wavelen = static_cast<float>(old_context / s.high_freq_factor);
    for (float& f : inv) {
      const float wavelen = (1.0f / f) * static_cast<float>(2 * M_PI);
      const float scaled = wavelen > low_wavelen ? f / factor : f;
      const float smooth = ((1.0f / wavelen) * static_cast<float>(old_context) - static_cast<float>(s.low_freq_factor))
          / static_cast<float>(s.high_freq_factor - s.low_freq_factor);
      const float smoothed = (1.0f - smooth) * scaled / factor + smooth * scaled;
      const bool medium = !(wavelen < high_wavelen) && !(wavelen > low_wavelen);
      f = medium ? smoothed : scaled;
    }
  } else if (s.type == "yarn") {
    auto correction_dim = [&](double rotations) {
      return (dim * std::log(s.original_max_position_embeddings / (rotations * 2 * M_PI)))
          / (2 * std::log(config.rope_theta));
    };
    double low = correction_dim(s.beta_fast), high = correction_dim(s.beta_slow);
    if (s.truncate) {
      low = std::floor(low);
      high = std::ceil(high);
    }
    low = std::max(low, 0.0);
    high = std::min(high, static_cast<double>(dim - 1));
    if (low == high) high += 0.001;  // transformers: prevent a singularity
    const float factor = static_cast<float>(s.factor);
    for (int i = 0; i < half; i++) {
      const float interpolation = 1.0f / (factor * pos_freqs[i]);
      const float ramp = std::min(1.0f, std::max(0.0f, (static_cast<float>(i) - static_cast<float>(low))
          / static_cast<float>(high - low)));
      const float extrapolation_factor = 1.0f - ramp;
      inv[i] = interpolation * (1.0f - extrapolation_factor) + inv[i] * extrapolation_factor;
    }
    table.attention_scale = static_cast<float>(s.attention_factor);
  }
  if (!config.rope_freq_factors.empty()) {
    for (int i = 0; i < half; i++) inv[i] /= config.rope_freq_factors[static_cast<size_t>(i)];
  }
  return table;
}

}  // namespace cx
