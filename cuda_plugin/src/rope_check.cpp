// rope_check.cpp — checks rope.cpp natively (built and run by rope_test.ts): for every case of
// testdata/rope_frequencies.json (config fragments and the inv_freq / attention scaling transformers
// computed for them) read_rope_config + rope_table must give the same f32 values (within the one ulp
// of torch's vectorised pow); and every refused
// RoPE config must throw the right status naming the offending key. Prints "N checks, M failed".
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "error.h"
#include "json.h"
#include "rope.h"

namespace {

int checks = 0;
int failures = 0;

void expect(bool ok, const std::string& what) {
  checks++;
  if (ok) return;
  failures++;
  std::fprintf(stderr, "FAIL: %s\n", what.c_str());
}

// ULPs between two finite f32 values of the same sign.
int64_t ulps(float a, float b) {
  int32_t ia = 0, ib = 0;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  return ia > ib ? static_cast<int64_t>(ia) - ib : static_cast<int64_t>(ib) - ia;
}

cx::ModelConfig config_for(const cx::Json& fragment, const cx::RopeReadOptions& options) {
  cx::ModelConfig config;
  config.architecture_name = "test";
  config.head_dim = static_cast<int>(fragment.get("head_dim")->number);
  config.max_position_embeddings = static_cast<int>(fragment.get("max_position_embeddings")->number);
  cx::read_rope_config(fragment, config, options);
  return config;
}

void check_case(const cx::Json& c) {
  const std::string name = c.get("name")->string;
  cx::RopeReadOptions options;
  options.partial_rotary = c.get("partial_rotary")->boolean;
  options.default_partial_rotary_factor = c.get("default_partial_rotary_factor")->number;
  options.text_mrope = c.get("text_mrope") != nullptr && c.get("text_mrope")->boolean;
  try {
    const cx::RopeTable table = cx::rope_table(config_for(*c.get("config"), options));
    const std::vector<cx::Json>& want = c.get("inv_freq")->array;
    expect(table.inv_freq.size() == want.size(), name + ": " + std::to_string(table.inv_freq.size())
        + " frequencies, transformers has " + std::to_string(want.size()));
    int64_t worst = 0;
    for (size_t i = 0; i < want.size() && i < table.inv_freq.size(); i++) {
      worst = std::max(worst, ulps(table.inv_freq[i], static_cast<float>(want[i].number)));
    }
    // torch raises base^x with SLEEF's vectorised powf (1-ulp accuracy), we with the correctly
    // rounded powf: a few frequencies of some tables part by one ulp (2942.7270 vs 2942.7273 for
    // 1e6^(74/128)); everything after the pow is the same f32 arithmetic.
    expect(worst <= 1, name + ": inv_freq differs from transformers' by up to " + std::to_string(worst) + " ulp");
    const float scale = static_cast<float>(c.get("attention_scale")->number);
    expect(table.attention_scale == scale, name + ": attention scale " + std::to_string(table.attention_scale)
        + ", transformers " + std::to_string(scale));
    std::printf("ok   %s (%zu frequencies, attention scale %.7g)\n", name.c_str(), want.size(), scale);
  } catch (const cx::Error& error) {
    expect(false, name + ": threw " + error.what());
  }
}

struct Refusal {
  const char* json;
  bool partial_rotary;
  cx_status code;
  const char* names;  // the message must contain this
};

void check_refusals() {
  const Refusal refusals[] = {
      {R"({"rope_scaling": {"type": "dynamic", "factor": 2.0}})", false, CX_ERR_UNSUPPORTED_ARCH,
       "'rope_scaling.rope_type' is 'dynamic'"},
      {R"({"rope_scaling": {"rope_type": "longrope", "short_factor": [1], "long_factor": [2]}})", false,
       CX_ERR_UNSUPPORTED_ARCH, "'rope_scaling.rope_type' is 'longrope'"},
      {R"({"rope_parameters": {"rope_type": "ntk-by-parts", "rope_theta": 10000.0}})", false,
       CX_ERR_UNSUPPORTED_ARCH, "'rope_parameters.rope_type' is 'ntk-by-parts'"},
      {R"({"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64,
          "short_factor": 1}})", false, CX_ERR_UNSUPPORTED_ARCH, "'rope_scaling.short_factor'"},
      {R"({"rope_scaling": {"rope_type": "linear", "factor": 2.0, "low_freq_factor": 1.0}})", false,
       CX_ERR_UNSUPPORTED_ARCH, "'rope_scaling.low_freq_factor'"},
      {R"({"rope_parameters": {"rope_type": "default", "rope_theta": 1e6, "factor": 2.0}})", false,
       CX_ERR_UNSUPPORTED_ARCH, "'rope_parameters.factor'"},
      {R"({"rope_parameters": {"full_attention": {"rope_type": "default"}}})", false, CX_ERR_UNSUPPORTED_ARCH,
       "'rope_parameters.full_attention'"},
      {R"({"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0}})", false, CX_ERR_BAD_MODEL,
       "'high_freq_factor'"},
      {R"({"rope_scaling": {"rope_type": "linear"}})", false, CX_ERR_BAD_MODEL, "'factor'"},
      {R"({"partial_rotary_factor": 0.5})", false, CX_ERR_UNSUPPORTED_ARCH, "'partial_rotary_factor'"},
      {R"({"rope_parameters": {"rope_type": "default", "partial_rotary_factor": 0.5}})", false,
       CX_ERR_UNSUPPORTED_ARCH, "'partial_rotary_factor'"},
      {R"({"partial_rotary_factor": 1.5})", true, CX_ERR_BAD_MODEL, "partial_rotary_factor"},
      {R"({"rope_theta": -1})", false, CX_ERR_BAD_MODEL, "rope_theta"},
      // M-RoPE keys only where the architecture reads them (qwen3_5's text model).
      {R"({"rope_parameters": {"rope_type": "default", "mrope_section": [16, 8, 8]}})", false,
       CX_ERR_UNSUPPORTED_ARCH, "'rope_parameters.mrope_section'"},
  };
  for (const Refusal& r : refusals) {
    const cx::Json json = cx::parse_json(r.json, std::strlen(r.json), "case");
    cx::ModelConfig config;
    config.architecture_name = "LlamaForCausalLM";
    config.head_dim = 64;
    config.max_position_embeddings = 4096;
    cx::RopeReadOptions options;
    options.partial_rotary = r.partial_rotary;
    try {
      cx::read_rope_config(json, config, options);
      expect(false, std::string(r.json) + ": accepted");
    } catch (const cx::Error& error) {
      const std::string message = error.what();
      expect(error.code() == r.code && message.find(r.names) != std::string::npos,
          std::string(r.json) + ": status " + std::to_string(error.code()) + " '" + message + "'");
      std::printf("ok   refused: %s\n", message.c_str());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: rope_check rope_frequencies.json\n");
    return 2;
  }
  std::ifstream file(argv[1]);
  std::stringstream text;
  text << file.rdbuf();
  const std::string body = text.str();
  const cx::Json root = cx::parse_json(body.data(), body.size(), argv[1]);
  for (const cx::Json& c : root.get("cases")->array) check_case(c);
  check_refusals();
  std::printf("%d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
