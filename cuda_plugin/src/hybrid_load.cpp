// hybrid_load.cpp — a hybrid checkpoint's tensors under the names and layouts the loader plans with
// (hybrid.h, prepare_hybrid_tensors). Rows move whole, so quantized rows move as they are.
#include <cstring>

#include "error.h"
#include "hybrid.h"
#include "moe.h"

namespace cx {
namespace {

// The rows `picks` of a [rows, ...] tensor, copied into a new storage block, as a view named `name`.
TensorView pick_rows(const TensorView& view, const std::vector<int64_t>& picks, const std::string& name,
    std::vector<std::vector<uint8_t>>& storage) {
  const size_t row_bytes = view.bytes / static_cast<size_t>(view.shape[0]);
  storage.emplace_back(picks.size() * row_bytes);
  uint8_t* out = storage.back().data();
  for (size_t i = 0; i < picks.size(); i++) {
    std::memcpy(out + i * row_bytes, view.data + static_cast<size_t>(picks[i]) * row_bytes, row_bytes);
  }
  TensorView picked = view;
  picked.name = name;
  picked.shape[0] = static_cast<int64_t>(picks.size());
  picked.data = out;
  picked.bytes = picks.size() * row_bytes;
  return picked;
}

const TensorView& find_shaped(const ModelConfig& c, const SafetensorsSet& tensors, const std::string& name,
    int64_t rows, int64_t cols) {
  const TensorView* view = tensors.find(name);
  if (view == nullptr) {
    const std::string file_name = c.text_prefix.empty() ? name : c.text_prefix + name.substr(6);  // past "model."
    throw Error(CX_ERR_BAD_MODEL, "missing tensor '" + file_name + "' (needed by " + c.architecture_name + ")");
  }
  if (view->shape != std::vector<int64_t>{rows, cols}) {
    throw Error(CX_ERR_BAD_MODEL, "tensor '" + tensors.source_name(name) + "' has shape " + view->shape_text()
        + " but config.json implies [" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
  }
  return *view;
}

// q_proj holds, per head, head_dim query rows then head_dim output-gate rows.
void split_query_gate(const ModelConfig& c, SafetensorsSet& tensors, const std::string& p,
    std::vector<std::vector<uint8_t>>& storage) {
  const std::string name = p + "self_attn.q_proj.weight";
  const TensorView& view = find_shaped(c, tensors, name, 2LL * c.q_dim(), c.hidden_size);
  const std::string source = tensors.source_name(name);
  std::vector<int64_t> query, gate;
  for (int64_t h = 0; h < c.heads; h++) {
    for (int64_t j = 0; j < c.head_dim; j++) {
      query.push_back(h * 2 * c.head_dim + j);
      gate.push_back(h * 2 * c.head_dim + c.head_dim + j);
    }
  }
  TensorView gate_view = pick_rows(view, gate, source + " (gate rows)", storage);
  TensorView query_view = pick_rows(view, query, source + " (query rows)", storage);
  tensors.add_view(p + "self_attn.q_gate.weight", gate_view, source + " (gate rows)");
  tensors.add_view(name, query_view, source + " (query rows)");
}

// Qwen3-Next groups in_proj_qkvz per key head: [q k_dim | k k_dim | v r·v_dim | z r·v_dim] with r value
// heads per key head, and in_proj_ba as [b r | a r]; transformers' fix_query_key_value_ordering.
void split_fused_projections(const ModelConfig& c, SafetensorsSet& tensors, const std::string& p,
    std::vector<std::vector<uint8_t>>& storage) {
  const int64_t nk = c.linear_k_heads, dk = c.linear_k_dim, dv = c.linear_v_dim;
  const int64_t r = c.linear_v_heads / c.linear_k_heads;
  const int64_t group = 2 * dk + 2 * r * dv;
  const std::string qkvz_name = p + "linear_attn.in_proj_qkvz.weight";
  const TensorView& qkvz = find_shaped(c, tensors, qkvz_name, nk * group, c.hidden_size);
  std::vector<int64_t> q, k, v, z;
  for (int64_t g = 0; g < nk; g++) {
    for (int64_t j = 0; j < dk; j++) q.push_back(g * group + j);
    for (int64_t j = 0; j < dk; j++) k.push_back(g * group + dk + j);
    for (int64_t j = 0; j < r * dv; j++) v.push_back(g * group + 2 * dk + j);
    for (int64_t j = 0; j < r * dv; j++) z.push_back(g * group + 2 * dk + r * dv + j);
  }
  std::vector<int64_t> qkv = q;
  qkv.insert(qkv.end(), k.begin(), k.end());
  qkv.insert(qkv.end(), v.begin(), v.end());
  const std::string qkvz_source = tensors.source_name(qkvz_name);
  TensorView qkv_view = pick_rows(qkvz, qkv, qkvz_source + " (q, k, v rows)", storage);
  TensorView z_view = pick_rows(qkvz, z, qkvz_source + " (z rows)", storage);
  tensors.add_view(p + "linear_attn.in_proj_qkv.weight", qkv_view, qkvz_source + " (q, k, v rows)");
  tensors.add_view(p + "linear_attn.in_proj_z.weight", z_view, qkvz_source + " (z rows)");

  const std::string ba_name = p + "linear_attn.in_proj_ba.weight";
  const TensorView& ba = find_shaped(c, tensors, ba_name, 2 * nk * r, c.hidden_size);
  std::vector<int64_t> b, a;
  for (int64_t g = 0; g < nk; g++) {
    for (int64_t j = 0; j < r; j++) b.push_back(g * 2 * r + j);
    for (int64_t j = 0; j < r; j++) a.push_back(g * 2 * r + r + j);
  }
  const std::string ba_source = tensors.source_name(ba_name);
  TensorView b_view = pick_rows(ba, b, ba_source + " (b rows)", storage);
  TensorView a_view = pick_rows(ba, a, ba_source + " (a rows)", storage);
  tensors.add_view(p + "linear_attn.in_proj_b.weight", b_view, ba_source + " (b rows)");
  tensors.add_view(p + "linear_attn.in_proj_a.weight", a_view, ba_source + " (a rows)");
}

// [q | k | v] channel rows regrouped rank by rank: [q_0 | k_0 | v_0 | q_1 | k_1 | v_1 | ...].
void group_channels_by_rank(const ModelConfig& c, SafetensorsSet& tensors, const std::string& name, int tp_size,
    std::vector<std::vector<uint8_t>>& storage) {
  const TensorView* view = tensors.find(name);
  if (view == nullptr || view->shape.empty() || view->shape[0] != c.linear_conv_dim()) return;  // the plan reports it
  const int64_t key_dim = c.linear_key_dim(), value_dim = c.linear_value_dim();
  const int64_t key_share = key_dim / tp_size, value_share = value_dim / tp_size;
  std::vector<int64_t> order;
  for (int64_t r = 0; r < tp_size; r++) {
    for (int64_t j = 0; j < key_share; j++) order.push_back(r * key_share + j);
    for (int64_t j = 0; j < key_share; j++) order.push_back(key_dim + r * key_share + j);
    for (int64_t j = 0; j < value_share; j++) order.push_back(2 * key_dim + r * value_share + j);
  }
  const std::string source = tensors.source_name(name);
  TensorView grouped = pick_rows(*view, order, source + " (channels by rank)", storage);
  tensors.add_view(name, grouped, source + " (channels by rank)");
}

}  // namespace

void prepare_hybrid_tensors(const ModelConfig& c, SafetensorsSet& tensors, std::vector<std::vector<uint8_t>>& storage,
    int tp_size) {
  if (!c.text_prefix.empty()) {
    std::vector<std::pair<std::string, TensorView>> text;
    for (const auto& [name, view] : tensors.tensors()) {
      if (name.rfind(c.text_prefix, 0) == 0) text.emplace_back("model." + name.substr(c.text_prefix.size()), view);
    }
    for (auto& [name, view] : text) tensors.add_view(name, view, view.name);
  }
  if (c.num_experts > 0) add_fused_expert_views(tensors, c);  // qwen3_5_moe's gate_up_proj / down_proj
  for (int l = 0; l < c.layers; l++) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    if (!c.is_linear(l)) {
      split_query_gate(c, tensors, p, storage);
      continue;
    }
    if (c.fused_linear_proj) split_fused_projections(c, tensors, p, storage);
    if (tp_size > 1 && c.linear_k_heads % tp_size == 0) {
      group_channels_by_rank(c, tensors, p + "linear_attn.in_proj_qkv.weight", tp_size, storage);
      group_channels_by_rank(c, tensors, p + "linear_attn.conv1d.weight", tp_size, storage);
    }
  }
}

}  // namespace cx
