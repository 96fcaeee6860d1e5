// config.h — the model hyper-parameters the engine needs, read from a Hugging Face config.json.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cx {

/** Architectures the engine runs. */
enum class Architecture { Llama, Qwen3, Qwen3Moe };

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

  int q_dim() const { return heads * head_dim; }
  int kv_dim() const { return kv_heads * head_dim; }
  bool is_sparse(int layer) const {
    return layer < static_cast<int>(sparse_layers.size()) && sparse_layers[static_cast<size_t>(layer)];
  }
};

/** Reads and validates `folder`/config.json. Throws cx::Error (bad_model, unsupported_architecture). */
ModelConfig read_model_config(const std::string& folder);

}  // namespace cx
