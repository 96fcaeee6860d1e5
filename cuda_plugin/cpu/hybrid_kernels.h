// hybrid_kernels.h — the CPU backend's inner loops for the Qwen3.5 / Qwen3-Next hybrid layers: one
// channel of the causal conv, one value head of the gated delta rule, one row of the gated RMSNorm.
// Each walks the batch's rows in order, so a sequence's rows (consecutive, positions rising) carry
// its conv and recurrent state from token to token; a row at position 0 starts from a zero state.
#pragma once

#include <cstring>

#include "backend.h"
#include "hybrid_math.h"

namespace cx {

/** Causal depthwise conv + SiLU of one channel over every row. */
static inline void conv1d_silu_channel(float* out, const float* x, float* conv_state, const float* weight,
    const BatchRows& rows, const DeltaNetShape& shape, int channel) {
  const int channels = shape.channels();
  const int taps = shape.kernel - 1;  // the state holds the channel's previous `taps` inputs, oldest first
  const float* w = weight + static_cast<size_t>(channel) * shape.kernel;
  for (int r = 0; r < rows.n; r++) {
    float* state = conv_state + static_cast<size_t>(rows.slots[r]) * shape.conv_state_floats()
        + static_cast<size_t>(channel) * taps;
    if (rows.positions[r] == 0) std::memset(state, 0, sizeof(float) * static_cast<size_t>(taps));
    const float input = x[static_cast<size_t>(r) * channels + channel];
    float sum = 0.0f;
    for (int j = 0; j < taps; j++) sum += w[j] * state[j];
    sum += w[taps] * input;
    for (int j = 0; j + 1 < taps; j++) state[j] = state[j + 1];
    if (taps > 0) state[taps - 1] = input;
    out[static_cast<size_t>(r) * channels + channel] = silu(sum);
  }
}

/** The gated delta rule of value head `head` over every row; `scratch` holds 2·k_dim + v_dim floats. */
static inline void delta_rule_head(float* out, const float* qkv, const float* b, const float* a, const float* a_log,
    const float* dt_bias, float* recurrent, const BatchRows& rows, const DeltaNetShape& shape, int head,
    float* scratch) {
  const int dk = shape.k_dim, dv = shape.v_dim;
  const int channels = shape.channels();
  const int key_head = head / (shape.v_heads / shape.k_heads);
  const int key_dim = shape.k_heads * dk;
  const float q_scale = 1.0f / sqrtf(static_cast<float>(dk));
  float* q = scratch;
  float* k = scratch + dk;
  float* kv_mem = scratch + 2 * dk;
  for (int r = 0; r < rows.n; r++) {
    float* s = recurrent + static_cast<size_t>(rows.slots[r]) * shape.recurrent_state_floats()
        + static_cast<size_t>(head) * dk * dv;
    if (rows.positions[r] == 0) std::memset(s, 0, sizeof(float) * static_cast<size_t>(dk) * dv);
    const float* row = qkv + static_cast<size_t>(r) * channels;
    const float* q_in = row + static_cast<size_t>(key_head) * dk;
    const float* k_in = row + key_dim + static_cast<size_t>(key_head) * dk;
    const float* v = row + 2 * key_dim + static_cast<size_t>(head) * dv;
    float qq = 0.0f, kk = 0.0f;
    for (int i = 0; i < dk; i++) {
      qq += q_in[i] * q_in[i];
      kk += k_in[i] * k_in[i];
    }
    const float q_norm = l2_inverse_norm(qq), k_norm = l2_inverse_norm(kk);
    for (int i = 0; i < dk; i++) {
      q[i] = q_in[i] * q_norm * q_scale;
      k[i] = k_in[i] * k_norm;
    }
    const size_t gate_at = static_cast<size_t>(r) * shape.v_heads + head;
    const float beta = sigmoid(b[gate_at]);
    const float decay = delta_decay(a[gate_at], a_log[head], dt_bias[head]);
    for (int j = 0; j < dv; j++) kv_mem[j] = 0.0f;
    for (int i = 0; i < dk; i++) {
      float* s_row = s + static_cast<size_t>(i) * dv;
      for (int j = 0; j < dv; j++) {
        s_row[j] *= decay;
        kv_mem[j] += s_row[j] * k[i];
      }
    }
    for (int j = 0; j < dv; j++) kv_mem[j] = (v[j] - kv_mem[j]) * beta;  // now the delta
    float* o = out + static_cast<size_t>(r) * shape.v_heads * dv + static_cast<size_t>(head) * dv;
    for (int j = 0; j < dv; j++) o[j] = 0.0f;
    for (int i = 0; i < dk; i++) {
      float* s_row = s + static_cast<size_t>(i) * dv;
      for (int j = 0; j < dv; j++) {
        s_row[j] += k[i] * kv_mem[j];
        o[j] += s_row[j] * q[i];
      }
    }
  }
}

/** Rotate-half RoPE over the first `rotary_dim` of each head of one row; `trig` holds rotary_dim floats. */
static inline void rope_partial_row(float* x, int32_t position, int heads, int head_dim, int rotary_dim,
    const float* inv_freq, float* trig) {
  const int half = rotary_dim / 2;
  for (int i = 0; i < half; i++) {
    const float angle = rope_angle(position, inv_freq[i]);
    trig[i] = cosf(angle);
    trig[half + i] = sinf(angle);
  }
  for (int h = 0; h < heads; h++) {
    float* head = x + static_cast<int64_t>(h) * head_dim;
    for (int i = 0; i < half; i++) rope_rotate(head + i, head + half + i, trig[i], trig[half + i]);
  }
}

}  // namespace cx
