// moe.h — the sparse (mixture-of-experts) MLP of Qwen3-MoE: the router, the grouping of a batch's
// tokens by expert, the experts' SwiGLU GEMMs and the weighted combination, written against the
// Backend ops like forward.cpp; plus the loader's view of expert tensors in every file layout.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "backend.h"
#include "config.h"
#include "safetensors.h"

namespace cx {

class Model;
struct LayerWeights;

/** A sparse layer's buffers, grown to the largest batch seen (never shrunk, so decode allocates
 * nothing). Device buffers hold `rows` tokens × experts_per_token assignments. */
struct MoeState {
  explicit MoeState(Backend& backend_ref) : backend(backend_ref) {}
  ~MoeState();
  MoeState(const MoeState&) = delete;
  MoeState& operator=(const MoeState&) = delete;

  Backend& backend;
  int rows = 0;
  float* logits = nullptr;           // [rows, experts] router logits
  float* inputs = nullptr;           // [rows·k, dim] the tokens' rows, grouped by expert
  float* gate = nullptr;             // [rows·k, moe_hidden]
  float* up = nullptr;               // [rows·k, moe_hidden]
  float* outputs = nullptr;          // [rows·k, dim] each expert's output for its tokens
  int32_t* gather = nullptr;         // [rows·k] token of each grouped row
  int32_t* combine_rows = nullptr;   // [rows·k] grouped row of each (token, choice), choices by expert
  float* combine_weights = nullptr;  // [rows·k] routing weight of each (token, choice)
  std::vector<std::pair<void*, size_t>> allocations;
  // Host copies and the routing of the current pass.
  std::vector<float> host_logits, probs, weights, host_combine_weights;
  std::vector<int32_t> ids, host_gather, host_combine_rows;
  std::vector<int> counts, offsets;
};

/** The sparse MLP of one layer: `xb` holds RMSNorm(x) for n token rows on entry and the experts'
 * weighted sum (every tensor-parallel rank's share added) on return. */
void moe_block(Model& model, const LayerWeights& layer, float* xb, int n);

/** The loader's name of expert `expert`'s `proj` ("gate_proj", "up_proj", "down_proj") in `layer`:
 * transformers' per-expert layout, `model.layers.L.mlp.experts.E.<proj>.weight`. */
std::string expert_tensor_name(int layer, int expert, const std::string& proj);

/** GGUF: when `gguf_name` is `blk.L.ffn_{gate,up,down}_exps.weight` ([experts, rows, cols]), adds one
 * view per expert under expert_tensor_name and returns true; false for any other name. Throws
 * bad_model for a stack whose expert count is not `experts`. */
bool add_gguf_expert_views(SafetensorsSet& set, const std::string& gguf_name, const TensorView& view, int layers,
    int experts);

/** Safetensors with transformers' fused expert parameters (`mlp.experts.gate_up_proj`
 * [experts, 2·moe_hidden, dim] and `mlp.experts.down_proj` [experts, dim, moe_hidden]): adds the
 * per-expert views the loader plans with. Files in the per-expert layout are left as they are. */
void add_fused_expert_views(SafetensorsSet& set, const ModelConfig& config);

}  // namespace cx
