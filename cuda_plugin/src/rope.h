// rope.h — rotary position embeddings as transformers 5.x builds them: the config's rope type and
// parameters (either spelling), and the inverse frequencies + attention factor they imply.
#pragma once

#include <vector>

#include "config.h"
#include "json.h"

namespace cx {

/** How an architecture reads partial_rotary_factor. Llama and Qwen3 rotate the whole head in
 * transformers (their default RoPE ignores the factor and the scaled ones fail on it), so for them
 * a factor other than 1 is refused; the hybrids honour it, with their own default when absent. */
struct RopeReadOptions {
  bool partial_rotary = false;
  double default_partial_rotary_factor = 1.0;
  // qwen3_5's text model: rope_parameters may carry M-RoPE's `mrope_section` / `mrope_interleaved`.
  // A text-only position is the same on all three axes, so M-RoPE is then plain RoPE; the section
  // must still cover rotary_dim / 2 frequencies.
  bool text_mrope = false;
};

/** Reads the RoPE settings of one (text) config object into config.rope_theta, config.rope_scaling
 * and config.rotary_dim: `rope_parameters` (transformers 5.x) or `rope_scaling` (hub checkpoints;
 * it wins when both are present, as in transformers), `type` or `rope_type`, `rope_theta` inside
 * either or at the top level, and `partial_rotary_factor` inside or at the top level. Needs
 * config.head_dim and config.max_position_embeddings already set. Types: default, linear, llama3,
 * yarn; any other type or an unknown key throws unsupported_architecture naming it. */
void read_rope_config(const Json& object, ModelConfig& config, const RopeReadOptions& options = {});

/** The rotary table of a model: rotary_dim / 2 inverse frequencies in f32 (computed in transformers'
 * order of f32 operations, so they match its values bit for bit) and the factor cos and sin are
 * multiplied by (YaRN's attention factor; 1 otherwise). A GGUF's rope_freq_factors divide the
 * frequencies as llama.cpp does. */
struct RopeTable {
  std::vector<float> inv_freq;
  float attention_scale = 1.0f;
};
RopeTable rope_table(const ModelConfig& config);

}  // namespace cx
