// forward.cpp — one batched forward pass of a Llama / Qwen3 decoder, written once against the
// Backend ops. The batch is a flat list of token rows; each row carries its sequence's KV slot and
// its position, so prefill chunks and single decode tokens of different sequences mix freely.
// Under tensor parallelism `model` is one rank's shard (config holds its heads and MLP width) and
// the partial o_proj / down_proj outputs are summed over the ranks before the residual add. Those
// two matmuls sum k in Model::k_chunks chunks, so that every tensor-parallel degree adds the same way.
#include <atomic>

#include "error.h"
#include "hybrid.h"
#include "model.h"
#include "moe.h"

namespace cx {

void forward(Model& model, const HostRows& host, float* logits, const std::atomic<bool>& cancel) {
  if (model.config.hybrid()) return forward_hybrid(model, host, logits, cancel);
  Backend& be = model.backend;
  const ModelConfig& c = model.config;
  const Weights& w = model.weights;
  const int n = static_cast<int>(host.tokens.size());
  const int m = static_cast<int>(host.logit_rows.size());
  const int dim = c.hidden_size;
  const BatchRows rows = start_forward(model, host);
  RunState& s = model.state;
  for (int l = 0; l < c.layers; l++) {
    if (cancel.load(std::memory_order_relaxed)) throw Error(CX_ERR_INTERNAL,
        "the runtime is closing; forward pass abandoned");
    const LayerWeights& L = w.layers[static_cast<size_t>(l)];

    // Attention: x += o_proj(attention(rope(q), rope(k), v)) over RMSNorm(x).
    be.rmsnorm(s.xb, s.x, L.attn_norm, n, dim, c.rms_norm_eps);
    be.matmul(s.q, s.xb, L.wq, n);
    be.matmul(s.k, s.xb, L.wk, n);
    be.matmul(s.v, s.xb, L.wv, n);
    if (c.attention_bias) {
      be.add_bias(s.q, L.q_bias, n, c.q_dim());
      be.add_bias(s.k, L.k_bias, n, c.kv_dim());
      be.add_bias(s.v, L.v_bias, n, c.kv_dim());
    }
    if (c.qk_norm) {
      be.rmsnorm(s.q, s.q, L.q_norm, n * c.heads, c.head_dim, c.rms_norm_eps);
      be.rmsnorm(s.k, s.k, L.k_norm, n * c.kv_heads, c.head_dim, c.rms_norm_eps);
    }
    be.rope(s.q, s.positions, n, c.heads, c.head_dim, w.rope);
    be.rope(s.k, s.positions, n, c.kv_heads, c.head_dim, w.rope);
    be.kv_store(model.kv, l, s.k, s.v, rows);
    be.attention(s.att, s.q, model.kv, l, rows, c.heads, c.kv_heads, c.head_dim, c.layer_window(l));
    be.matmul_k_chunks(s.xb, s.att, L.wo, n, model.k_chunks);
    if (model.collective) model.collective->all_reduce_sum(s.xb, static_cast<int64_t>(n) * dim);
    if (c.attention_bias) be.add_bias(s.xb, L.o_bias, n, dim);
    be.add(s.x, s.xb, static_cast<int64_t>(n) * dim);

    // MLP: x += down(silu(gate(h)) · up(h)) with h = RMSNorm(x); a sparse layer's experts (moe.cpp).
    be.rmsnorm(s.xb, s.x, L.ffn_norm, n, dim, c.rms_norm_eps);
    if (c.is_sparse(l)) {
      moe_block(model, L, s.xb, n);
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

BatchRows start_forward(Model& model, const HostRows& host) {
  Backend& be = model.backend;
  const int n = static_cast<int>(host.tokens.size());
  const int m = static_cast<int>(host.logit_rows.size());
  model.ensure_state(n, m);
  RunState& s = model.state;
  be.copy_to_device(s.tokens, host.tokens.data(), sizeof(int32_t) * n);
  be.copy_to_device(s.slots, host.slots.data(), sizeof(int32_t) * n);
  be.copy_to_device(s.positions, host.positions.data(), sizeof(int32_t) * n);
  if (m > 0) be.copy_to_device(s.gather, host.logit_rows.data(), sizeof(int32_t) * m);
  BatchRows rows;
  rows.n = n;
  rows.tokens = s.tokens;
  rows.slots = s.slots;
  rows.positions = s.positions;
  rows.host_slots = host.slots.data();
  rows.host_positions = host.positions.data();
  be.embed(s.x, model.weights.embed, s.tokens, n);
  return rows;
}

void finish_forward(Model& model, int m, float* logits) {
  if (m == 0) return;
  Backend& be = model.backend;
  const ModelConfig& c = model.config;
  RunState& s = model.state;
  // Only the rows whose logits are wanted go through the final norm and the classifier.
  be.gather_rows(s.xb, s.x, s.gather, m, c.hidden_size);
  be.rmsnorm(s.xb, s.xb, model.weights.final_norm, m, c.hidden_size, c.rms_norm_eps);
  be.matmul(s.logits, s.xb, model.weights.lm_head, m);
  be.copy_to_host(logits, s.logits, sizeof(float) * static_cast<size_t>(m) * c.vocab_size);
}

}  // namespace cx
