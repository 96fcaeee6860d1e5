// hybrid_forward.cpp — one batched forward pass of a Qwen3.5 / Qwen3-Next hybrid, against the Backend
// ops, in transformers' order. Full-attention layers are Qwen3's with an output gate (q_proj's gate
// half, σ-gated before o_proj), (1 + w) q/k norms (folded into the weights at load) and partial
// rotary; Gated DeltaNet layers carry each sequence's conv and recurrent state in its slot, so prefill
// chunks and decode tokens of different sequences mix in one batch as for dense models.
#include <algorithm>

#include "error.h"
#include "hybrid.h"
#include "moe.h"

namespace cx {
namespace {

// The DeltaNet row buffers of RunState's size (grown with it).
void ensure_linear_rows(Model& model, int rows) {
  LinearStates& ls = model.linear;
  if (rows <= ls.rows) return;
  for (auto& [pointer, bytes] : ls.row_buffers) model.backend.deallocate(pointer, bytes);
  ls.row_buffers.clear();
  const ModelConfig& c = model.config;
  const size_t n = static_cast<size_t>(rows);
  auto floats = [&](size_t count) {
    void* pointer = model.backend.allocate(count * sizeof(float));
    ls.row_buffers.emplace_back(pointer, count * sizeof(float));
    return static_cast<float*>(pointer);
  };
  ls.qkv = floats(n * static_cast<size_t>(ls.shape.channels()));
  ls.mixed = floats(n * static_cast<size_t>(ls.shape.channels()));
  ls.z = floats(n * static_cast<size_t>(ls.shape.v_heads) * ls.shape.v_dim);
  ls.core = floats(n * static_cast<size_t>(ls.shape.v_heads) * ls.shape.v_dim);
  ls.b = floats(n * static_cast<size_t>(ls.shape.v_heads));
  ls.a = floats(n * static_cast<size_t>(ls.shape.v_heads));
  ls.gate = floats(n * static_cast<size_t>(c.q_dim()));
  const size_t shared_hidden = static_cast<size_t>(c.shared_expert_intermediate_size);
  ls.shared = floats(n * static_cast<size_t>(c.hidden_size));
  ls.shared_logit = floats(n);
  ls.shared_gate = floats(n * shared_hidden);
  ls.shared_up = floats(n * shared_hidden);
  ls.rows = rows;
}

}  // namespace

void forward_hybrid(Model& model, const HostRows& host, float* logits, const std::atomic<bool>& cancel) {
  Backend& be = model.backend;
  const ModelConfig& c = model.config;
  const Weights& w = model.weights;
  const int n = static_cast<int>(host.tokens.size());
  const int m = static_cast<int>(host.logit_rows.size());
  const int dim = c.hidden_size;
  const BatchRows rows = start_forward(model, host);
  ensure_linear_rows(model, n);
  RunState& s = model.state;
  LinearStates& ls = model.linear;
  const DeltaNetShape& shape = ls.shape;
  for (int l = 0; l < c.layers; l++) {
    if (cancel.load(std::memory_order_relaxed)) throw Error(CX_ERR_INTERNAL,
        "the runtime is closing; forward pass abandoned");
    const LayerWeights& L = w.layers[static_cast<size_t>(l)];
    be.rmsnorm(s.xb, s.x, L.attn_norm, n, dim, c.rms_norm_eps);

    if (c.is_linear(l)) {
      // Gated DeltaNet: x += out_proj(gated_norm(delta_rule(silu(conv(qkv))), z)).
      float* conv = ls.conv + static_cast<size_t>(L.state_layer) * model.max_sequences * shape.conv_state_floats();
      float* recurrent = ls.recurrent
          + static_cast<size_t>(L.state_layer) * model.max_sequences * shape.recurrent_state_floats();
      be.matmul(ls.qkv, s.xb, L.in_qkv, n);
      be.matmul(ls.z, s.xb, L.in_z, n);
      be.matmul(ls.b, s.xb, L.in_b, n);
      be.matmul(ls.a, s.xb, L.in_a, n);
      be.conv1d_silu(ls.mixed, ls.qkv, conv, L.conv_weight, rows, shape);
      be.gated_delta_rule(ls.core, ls.mixed, ls.b, ls.a, L.a_log, L.dt_bias, recurrent, rows, shape);
      be.gated_rmsnorm(ls.core, ls.core, ls.z, L.linear_norm, n * shape.v_heads, shape.v_dim, c.rms_norm_eps);
      be.matmul_k_chunks(s.xb, ls.core, L.out_proj, n, model.k_chunks);
    } else {
      // Gated attention: x += o_proj(attention(rope(norm(q)), rope(norm(k)), v) · σ(gate)).
      be.matmul(s.q, s.xb, L.wq, n);
      be.matmul(ls.gate, s.xb, L.w_qgate, n);
      be.matmul(s.k, s.xb, L.wk, n);
      be.matmul(s.v, s.xb, L.wv, n);
      be.rmsnorm(s.q, s.q, L.q_norm, n * c.heads, c.head_dim, c.rms_norm_eps);
      be.rmsnorm(s.k, s.k, L.k_norm, n * c.kv_heads, c.head_dim, c.rms_norm_eps);
      be.rope(s.q, s.positions, n, c.heads, c.head_dim, w.rope);  // partial: w.rope.rotary_dim
      be.rope(s.k, s.positions, n, c.kv_heads, c.head_dim, w.rope);
      be.kv_store(model.kv, L.state_layer, s.k, s.v, rows);
      be.attention(s.att, s.q, model.kv, L.state_layer, rows, c.heads, c.kv_heads, c.head_dim);
      be.sigmoid_gate(s.att, ls.gate, static_cast<int64_t>(n) * c.q_dim());
      be.matmul_k_chunks(s.xb, s.att, L.wo, n, model.k_chunks);
    }
    if (model.collective) model.collective->all_reduce_sum(s.xb, static_cast<int64_t>(n) * dim);
    be.add(s.x, s.xb, static_cast<int64_t>(n) * dim);

    // MLP: x += down(silu(gate(h)) · up(h)) with h = RMSNorm(x); a sparse layer's routed experts
    // (moe.cpp) plus its shared expert scaled by σ(shared_expert_gate · h).
    be.rmsnorm(s.xb, s.x, L.ffn_norm, n, dim, c.rms_norm_eps);
    if (c.is_sparse(l)) {
      const bool shared = c.shared_expert_intermediate_size > 0;
      if (shared) {
        const ExpertWeights& e = L.shared_expert;
        be.matmul(ls.shared_gate, s.xb, e.w_gate, n);
        be.matmul(ls.shared_up, s.xb, e.w_up, n);
        be.swiglu(ls.shared_gate, ls.shared_gate, ls.shared_up, static_cast<int64_t>(n) * c.shared_expert_intermediate_size);
        be.matmul_k_chunks(ls.shared, ls.shared_gate, e.w_down, n, model.k_chunks);
        if (model.collective) model.collective->all_reduce_sum(ls.shared, static_cast<int64_t>(n) * dim);
        be.matmul(ls.shared_logit, s.xb, L.shared_expert_gate, n);
        be.sigmoid_scale_rows(ls.shared, ls.shared_logit, n, dim);
      }
      moe_block(model, L, s.xb, n);
      if (shared) be.add(s.xb, ls.shared, static_cast<int64_t>(n) * dim);
    } else {
      be.matmul(s.hb, s.xb, L.w_gate, n);
      be.matmul(s.hb2, s.xb, L.w_up, n);
      be.swiglu(s.hb, s.hb, s.hb2, static_cast<int64_t>(n) * c.intermediate_size);
      be.matmul_k_chunks(s.xb, s.hb, L.w_down, n, model.k_chunks);
      if (model.collective) model.collective->all_reduce_sum(s.xb, static_cast<int64_t>(n) * dim);
    }
    be.add(s.x, s.xb, static_cast<int64_t>(n) * dim);
  }
  finish_forward(model, m, logits);
}

int attention_layer_count(const ModelConfig& config) {
  int count = 0;
  for (int l = 0; l < config.layers; l++) count += config.is_linear(l) ? 0 : 1;
  return count;
}

int64_t hybrid_state_bytes(const ModelConfig& c, int slots) {
  if (!c.hybrid()) return 0;
  const int64_t linear_layers = c.layers - attention_layer_count(c);
  const int64_t channels = c.linear_conv_dim();
  const int64_t per_slot = channels * (c.linear_conv_kernel - 1)
      + static_cast<int64_t>(c.linear_v_heads) * c.linear_k_dim * c.linear_v_dim;
  // The live states and the snapshot of each slot (prefix reuse).
  return 2 * linear_layers * slots * per_slot * static_cast<int64_t>(sizeof(float));
}

void allocate_linear_states(Model& model) {
  const ModelConfig& c = model.config;
  LinearStates& ls = model.linear;
  ls.shape.k_heads = c.linear_k_heads;
  ls.shape.v_heads = c.linear_v_heads;
  ls.shape.k_dim = c.linear_k_dim;
  ls.shape.v_dim = c.linear_v_dim;
  ls.shape.kernel = c.linear_conv_kernel;
  int linear = 0, attention = 0;
  for (int l = 0; l < c.layers; l++) {
    model.weights.layers[static_cast<size_t>(l)].state_layer = c.is_linear(l) ? linear++ : attention++;
  }
  ls.layers = linear;
  const size_t slots = static_cast<size_t>(model.max_sequences);
  ls.conv = model.alloc_f32(std::max<size_t>(1, linear * slots * ls.shape.conv_state_floats()));
  ls.recurrent = model.alloc_f32(std::max<size_t>(1, linear * slots * ls.shape.recurrent_state_floats()));
  ls.snap_conv = model.alloc_f32(std::max<size_t>(1, linear * slots * ls.shape.conv_state_floats()));
  ls.snap_recurrent = model.alloc_f32(std::max<size_t>(1, linear * slots * ls.shape.recurrent_state_floats()));
  ls.snap_position.assign(slots, -1);
}

void copy_linear_states(Model& model, StateCopy what, int from, int to) {
  LinearStates& ls = model.linear;
  const size_t slots = static_cast<size_t>(model.max_sequences);
  const size_t sizes[2] = {ls.shape.conv_state_floats(), ls.shape.recurrent_state_floats()};
  float* const live[2] = {ls.conv, ls.recurrent};
  float* const snapshot[2] = {ls.snap_conv, ls.snap_recurrent};
  float* const* source = what == StateCopy::kSnapshot ? live : snapshot;
  float* const* target = what == StateCopy::kRestore ? live : snapshot;
  for (size_t l = 0; l < static_cast<size_t>(ls.layers); l++) {
    for (int b = 0; b < 2; b++) {
      model.backend.copy_within(target[b] + (l * slots + static_cast<size_t>(to)) * sizes[b],
          source[b] + (l * slots + static_cast<size_t>(from)) * sizes[b], sizes[b] * sizeof(float));
    }
  }
}

}  // namespace cx
