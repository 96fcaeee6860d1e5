// moe.cpp — Qwen3-MoE's sparse MLP, as transformers' Qwen3MoeSparseMoeBlock computes it: router
// logits (a matmul in f32), softmax over every expert in f32, top-k, renormalisation iff
// norm_topk_prob, then for each expert that any token chose one SwiGLU over exactly those tokens
// (gather rows → gate/up GEMM → SiLU·up → down GEMM), and per token the weighted sum of its experts'
// outputs in ascending expert order (transformers' index_add_ order). Decode reads only the chosen
// experts' weights. Each token's result depends on its own row alone, so a sequence's output does
// not depend on which others share the step. Under tensor parallelism every rank routes alike (the
// router is replicated) and holds a column share of every expert; the experts' partial outputs are
// summed over the ranks before they are weighted, so TP=2 rounds exactly like TP=1.
#include "moe.h"

#include <algorithm>

#include "error.h"
#include "model.h"
#include "moe_math.h"

namespace cx {

MoeState::~MoeState() {
  for (auto& [pointer, bytes] : allocations) backend.deallocate(pointer, bytes);
}

namespace {

// Grows the state's device buffers to `rows` tokens.
void ensure_moe_state(Model& model, int rows) {
  if (!model.moe) model.moe = std::make_unique<MoeState>(model.backend);
  MoeState& s = *model.moe;
  if (rows <= s.rows) return;
  for (auto& [pointer, bytes] : s.allocations) s.backend.deallocate(pointer, bytes);
  s.allocations.clear();
  const ModelConfig& c = model.config;
  const size_t n = static_cast<size_t>(rows);
  const size_t assigned = n * static_cast<size_t>(c.experts_per_token);
  auto buffer = [&](size_t bytes) {
    void* pointer = s.backend.allocate(bytes);
    s.allocations.emplace_back(pointer, bytes);
    return pointer;
  };
  s.logits = static_cast<float*>(buffer(n * c.num_experts * sizeof(float)));
  s.inputs = static_cast<float*>(buffer(assigned * c.hidden_size * sizeof(float)));
  s.gate = static_cast<float*>(buffer(assigned * c.moe_intermediate_size * sizeof(float)));
  s.up = static_cast<float*>(buffer(assigned * c.moe_intermediate_size * sizeof(float)));
  s.outputs = static_cast<float*>(buffer(assigned * c.hidden_size * sizeof(float)));
  s.gather = static_cast<int32_t*>(buffer(assigned * sizeof(int32_t)));
  s.combine_rows = static_cast<int32_t*>(buffer(assigned * sizeof(int32_t)));
  s.combine_weights = static_cast<float*>(buffer(assigned * sizeof(float)));
  s.rows = rows;
}

// Routes every token on the host and builds the grouping: for expert e, grouped rows
// offsets[e] .. offsets[e] + counts[e] hold its tokens in ascending order; each token's k choices
// are listed by ascending expert index with their grouped row and weight.
void route(MoeState& s, const ModelConfig& c, int n) {
  const int experts = c.num_experts, k = c.experts_per_token;
  const size_t assigned = static_cast<size_t>(n) * k;
  s.probs.resize(static_cast<size_t>(experts));
  s.ids.resize(assigned);
  s.weights.resize(assigned);
  s.counts.assign(static_cast<size_t>(experts), 0);
  for (int t = 0; t < n; t++) {
    int32_t* ids = s.ids.data() + static_cast<size_t>(t) * k;
    float* weights = s.weights.data() + static_cast<size_t>(t) * k;
    moe_route_token(s.host_logits.data() + static_cast<size_t>(t) * experts, experts, k, c.norm_topk_prob,
        s.probs.data(), ids, weights);
    // Ascending expert order for the sum (insertion sort of k ≤ kMaxExpertsPerToken pairs).
    for (int j = 1; j < k; j++) {
      for (int i = j; i > 0 && ids[i - 1] > ids[i]; i--) {
        std::swap(ids[i - 1], ids[i]);
        std::swap(weights[i - 1], weights[i]);
      }
    }
    for (int j = 0; j < k; j++) s.counts[static_cast<size_t>(ids[j])]++;
  }
  s.offsets.assign(static_cast<size_t>(experts) + 1, 0);
  for (int e = 0; e < experts; e++) s.offsets[e + 1] = s.offsets[e] + s.counts[e];
  std::vector<int>& next = s.counts;  // reused as the fill cursor; counts are offsets[e+1] - offsets[e]
  for (int e = 0; e < experts; e++) next[e] = s.offsets[e];
  s.host_gather.resize(assigned);
  s.host_combine_rows.resize(assigned);
  s.host_combine_weights.resize(assigned);
  for (int t = 0; t < n; t++) {
    for (int j = 0; j < k; j++) {
      const size_t at = static_cast<size_t>(t) * k + j;
      const int row = next[static_cast<size_t>(s.ids[at])]++;
      s.host_gather[static_cast<size_t>(row)] = t;
      s.host_combine_rows[at] = row;
      s.host_combine_weights[at] = s.weights[at];
    }
  }
}

}  // namespace

void moe_block(Model& model, const LayerWeights& layer, float* xb, int n) {
  Backend& be = model.backend;
  const ModelConfig& c = model.config;
  const int dim = c.hidden_size, hidden = c.moe_intermediate_size, k = c.experts_per_token;
  const int assigned = n * k;
  ensure_moe_state(model, n);
  MoeState& s = *model.moe;

  // The router runs in f32 whatever the experts' dtype; its logits come to the host for routing.
  be.matmul(s.logits, xb, layer.router, n);
  s.host_logits.resize(static_cast<size_t>(n) * c.num_experts);
  be.copy_to_host(s.host_logits.data(), s.logits, s.host_logits.size() * sizeof(float));
  route(s, c, n);
  be.copy_to_device(s.gather, s.host_gather.data(), sizeof(int32_t) * assigned);
  be.copy_to_device(s.combine_rows, s.host_combine_rows.data(), sizeof(int32_t) * assigned);
  be.copy_to_device(s.combine_weights, s.host_combine_weights.data(), sizeof(float) * assigned);

  // One GEMM per expert over the tokens that chose it; experts nobody chose are not read.
  be.gather_rows(s.inputs, xb, s.gather, assigned, dim);
  for (int e = 0; e < c.num_experts; e++) {
    const int first = s.offsets[static_cast<size_t>(e)];
    const int rows = s.offsets[static_cast<size_t>(e) + 1] - first;
    if (rows == 0) continue;
    const ExpertWeights& expert = layer.experts[static_cast<size_t>(e)];
    const size_t at_hidden = static_cast<size_t>(first) * hidden;
    be.matmul(s.gate + at_hidden, s.inputs + static_cast<size_t>(first) * dim, expert.w_gate, rows);
    be.matmul(s.up + at_hidden, s.inputs + static_cast<size_t>(first) * dim, expert.w_up, rows);
    be.swiglu(s.gate + at_hidden, s.gate + at_hidden, s.up + at_hidden, static_cast<int64_t>(rows) * hidden);
    be.matmul_k_chunks(s.outputs + static_cast<size_t>(first) * dim, s.gate + at_hidden, expert.w_down, rows,
        model.k_chunks);
  }
  if (model.collective) model.collective->all_reduce_sum(s.outputs, static_cast<int64_t>(assigned) * dim);
  be.moe_combine(xb, s.outputs, s.combine_rows, s.combine_weights, n, k, dim);
}

std::string expert_tensor_name(int layer, int expert, const std::string& proj) {
  return "model.layers." + std::to_string(layer) + ".mlp.experts." + std::to_string(expert) + "." + proj + ".weight";
}

namespace {

// Expert e's [rows, cols] slice of a [experts, rows, cols] stack: whole rows, so quantized blocks stay intact.
TensorView expert_slice(const TensorView& stack, int expert, int64_t first_row, int64_t rows) {
  TensorView view = stack;
  const int64_t stack_rows = stack.shape[1], cols = stack.shape[2];
  const size_t row_bytes = dtype_row_bytes(stack.dtype, cols);
  view.shape = {rows, cols};
  view.data = stack.data + (static_cast<size_t>(expert) * stack_rows + first_row) * row_bytes;
  view.bytes = static_cast<size_t>(rows) * row_bytes;
  return view;
}

}  // namespace

bool add_gguf_expert_views(SafetensorsSet& set, const std::string& gguf_name, const TensorView& view, int layers,
    int experts) {
  static const char* const kinds[][2] = {
      {"ffn_gate_exps.weight", "gate_proj"}, {"ffn_up_exps.weight", "up_proj"}, {"ffn_down_exps.weight", "down_proj"}};
  if (gguf_name.rfind("blk.", 0) != 0) return false;
  const size_t dot = gguf_name.find('.', 4);
  if (dot == std::string::npos || dot == 4) return false;
  const std::string number = gguf_name.substr(4, dot - 4);
  if (number.find_first_not_of("0123456789") != std::string::npos || number.size() > 6) return false;
  const int layer = std::stoi(number);
  if (layer >= layers || std::to_string(layer) != number) return false;
  const std::string suffix = gguf_name.substr(dot + 1);
  for (const auto& kind : kinds) {
    if (suffix != kind[0]) continue;
    if (view.shape.size() != 3 || view.shape[0] != experts) {
      throw Error(CX_ERR_BAD_MODEL, view.file + ": tensor '" + gguf_name + "' has shape " + view.shape_text()
          + "; expected [" + std::to_string(experts) + " experts, rows, cols] (expert_count)");
    }
    for (int e = 0; e < experts; e++) {
      set.add_view(expert_tensor_name(layer, e, kind[1]), expert_slice(view, e, 0, view.shape[1]),
          gguf_name + "[" + std::to_string(e) + "]");
    }
    return true;
  }
  return false;
}

void add_fused_expert_views(SafetensorsSet& set, const ModelConfig& c) {
  for (int l = 0; l < c.layers; l++) {
    if (!c.is_sparse(l)) continue;
    const std::string p = "model.layers." + std::to_string(l) + ".mlp.experts.";
    const TensorView* gate_up = set.find(p + "gate_up_proj");
    const TensorView* down = set.find(p + "down_proj");
    if (gate_up == nullptr && down == nullptr) continue;
    if (gate_up == nullptr || down == nullptr) throw Error(CX_ERR_BAD_MODEL, "layer " + std::to_string(l)
        + " has only one of the fused expert tensors '" + p + "gate_up_proj' and '" + p + "down_proj'");
    const int64_t hidden = c.moe_intermediate_size, dim = c.hidden_size;
    const std::vector<int64_t> gate_up_shape{c.num_experts, 2 * hidden, dim}, down_shape{c.num_experts, dim, hidden};
    if (gate_up->shape != gate_up_shape || down->shape != down_shape) {
      throw Error(CX_ERR_BAD_MODEL, "fused expert tensors '" + p + "gate_up_proj' " + gate_up->shape_text() + " and '"
          + p + "down_proj' " + down->shape_text() + " do not match config.json's experts (expected ["
          + std::to_string(c.num_experts) + ", " + std::to_string(2 * hidden) + ", " + std::to_string(dim) + "] and ["
          + std::to_string(c.num_experts) + ", " + std::to_string(dim) + ", " + std::to_string(hidden) + "])");
    }
    const TensorView gate_up_view = *gate_up, down_view = *down;  // add_view may move the map's nodes
    for (int e = 0; e < c.num_experts; e++) {
      const std::string at = "[" + std::to_string(e) + "]";
      // transformers chunks gate_up_proj's output in two: the first half is the gate, the second up.
      set.add_view(expert_tensor_name(l, e, "gate_proj"), expert_slice(gate_up_view, e, 0, hidden),
          p + "gate_up_proj" + at + "[:" + std::to_string(hidden) + "]");
      set.add_view(expert_tensor_name(l, e, "up_proj"), expert_slice(gate_up_view, e, hidden, hidden),
          p + "gate_up_proj" + at + "[" + std::to_string(hidden) + ":]");
      set.add_view(expert_tensor_name(l, e, "down_proj"), expert_slice(down_view, e, 0, dim), p + "down_proj" + at);
    }
  }
}

}  // namespace cx
