// config.h — the model hyper-parameters the engine needs, read from a Hugging Face config.json.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cx {

/** Architectures the engine runs. */
enum class Architecture { Llama, Qwen3, Qwen3Moe, Qwen3_5, Qwen3Next };

/** A RoPE scaling as transformers reads it (rope.h). Only the fields of `type` are meaningful. */
struct RopeScaling {
  std::string type = "default";  // default, linear, llama3, yarn
  double factor = 1.0;           // linear, llama3, yarn
  double low_freq_factor = 1.0;  // llama3
  double high_freq_factor = 4.0;
  int original_max_position_embeddings = 0;  // llama3, yarn
  double beta_fast = 32.0;                   // yarn
  double beta_slow = 1.0;
  bool truncate = true;
  double attention_factor = 1.0;  // yarn: resolved from attention_factor or mscale / mscale_all_dim
};

/** Hyper-parameters of a decoder-only transformer (llama2.c's Config, plus what Qwen3 adds). */
struct ModelConfig {
  std::string architecture_name;  // as in config.json, e.g. "Qwen3ForCausalLM"
  Architecture architecture = Architecture::Llama;
  int hidden_size = 0;        // dim
  int intermediate_size = 0;  // hidden_dim of the MLP
  int layers = 0;
  int heads = 0;
  int kv_heads = 0;
  int head_dim = 0;
  int vocab_size = 0;
  int max_position_embeddings = 0;
  float rms_norm_eps = 1e-6f;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  int rotary_dim = 0;  // the leading dims of each head RoPE rotates (head_dim unless partial_rotary_factor)
  // Sliding-window attention (Qwen3 use_sliding_window): per layer, how many latest positions a
  // query attends to (itself included); 0 = all. Empty = every layer full.
  std::vector<int> attention_windows;
  bool tie_word_embeddings = false;
  bool attention_bias = false;
  bool qk_norm = false;  // Qwen3: RMSNorm over each head of q and k before RoPE
  // GGUF llama: the converter stored attn_q / attn_k rows in llama.cpp's interleaved-RoPE order within
  // each head; the loader puts them back in rotate-half order (tensor_layout.cpp, unpermute_rope_rows).
  bool rope_rows_interleaved = false;
  // GGUF rope_freqs (Llama 3.1 scaling): inv_freq[i] is divided by rope_freq_factors[i]; empty = none.
  std::vector<float> rope_freq_factors;
  int bos_token_id = -1;
  std::vector<int> eos_token_ids;
  // Qwen3-MoE (moe.cpp): a sparse layer routes each token to `experts_per_token` of `num_experts`
  // SwiGLU experts of width moe_intermediate_size; sparse_layers[l] says which layers are sparse
  // (decoder_sparse_step, mlp_only_layers); the others are dense MLPs of intermediate_size.
  int num_experts = 0;
  int experts_per_token = 0;
  int moe_intermediate_size = 0;
  bool norm_topk_prob = false;
  std::vector<bool> sparse_layers;
  // Qwen3.5 / Qwen3-Next hybrids (hybrid_config.cpp): Gated DeltaNet layers between gated full-attention
  // layers. Empty linear_layers = every layer is plain attention.
  bool norm_plus_one = false;      // RMSNorms (not the gated one) apply (1 + w)
  bool attn_output_gate = false;   // q_proj doubled: per head [query | gate]; attention output · σ(gate)
  std::vector<uint8_t> linear_layers;  // per layer: 1 = Gated DeltaNet ("linear_attention")
  int linear_k_heads = 0, linear_v_heads = 0, linear_k_dim = 0, linear_v_dim = 0, linear_conv_kernel = 0;
  bool fused_linear_proj = false;  // qwen3_next: in_proj_qkvz / in_proj_ba grouped per key head
  std::string text_prefix;         // "model.language_model." in the conditional-generation layout
  int shared_expert_intermediate_size = 0;  // sparse layers' σ-gated shared expert (0: none)

  bool hybrid() const { return !linear_layers.empty(); }
  bool is_linear(int layer) const { return hybrid() && linear_layers[static_cast<size_t>(layer)] != 0; }
  int linear_key_dim() const { return linear_k_heads * linear_k_dim; }
  int linear_value_dim() const { return linear_v_heads * linear_v_dim; }
  int linear_conv_dim() const { return 2 * linear_key_dim() + linear_value_dim(); }
  int rope_dim() const { return rotary_dim > 0 ? rotary_dim : head_dim; }

  int q_dim() const { return heads * head_dim; }
  int kv_dim() const { return kv_heads * head_dim; }
  bool is_sparse(int layer) const {
    return layer < static_cast<int>(sparse_layers.size()) && sparse_layers[static_cast<size_t>(layer)];
  }
  int layer_window(int layer) const {
    return attention_windows.empty() ? 0 : attention_windows[static_cast<size_t>(layer)];
  }
};

/** Reads and validates `folder`/config.json. Throws cx::Error (bad_model, unsupported_architecture). */
ModelConfig read_model_config(const std::string& folder);

}  // namespace cx
