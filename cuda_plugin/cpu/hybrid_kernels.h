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

/** The gated delta rule of value head `head`, recurrent form, over rows [first, first + count) (count < 0:
 * every row); `scratch` holds 2·k_dim + v_dim floats. */
static inline void delta_rule_head(float* out, const float* qkv, const float* b, const float* a, const float* a_log,
    const float* dt_bias, float* recurrent, const BatchRows& rows, const DeltaNetShape& shape, int head,
    float* scratch, int first = 0, int count = -1) {
  const int dk = shape.k_dim, dv = shape.v_dim;
  const int channels = shape.channels();
  const int key_head = head / (shape.v_heads / shape.k_heads);
  const int key_dim = shape.k_heads * dk;
  const float q_scale = 1.0f / sqrtf(static_cast<float>(dk));
  float* q = scratch;
  float* k = scratch + dk;
  float* kv_mem = scratch + 2 * dk;
  const int end = count < 0 ? rows.n : first + count;
  for (int r = first; r < end; r++) {
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

/** Floats of scratch delta_rule_head_chunked needs (kDeltaChunk: hybrid_math.h). */
static inline size_t delta_chunk_scratch_floats(const DeltaNetShape& shape) {
  const size_t c = kDeltaChunk, dk = static_cast<size_t>(shape.k_dim), dv = static_cast<size_t>(shape.v_dim);
  return c * (3 * dk + 2 * dv) + c * c + 2 * c + dv;
}

/** The gated delta rule of value head `head` over rows [first, first + count) of one sequence, in
 * chunks of kDeltaChunk tokens (transformers' torch_chunk_gated_delta_rule, the same algebra as the
 * recurrent form): within a chunk the delta updates are condensed by forward substitution through
 * (I + L), L[i][j] = β_i (k_i·k_j) e^(cum_i − cum_j) for j < i, and the state is read and written once. */
static inline void delta_rule_head_chunked(float* out, const float* qkv, const float* b, const float* a,
    const float* a_log, const float* dt_bias, float* recurrent, const BatchRows& rows, const DeltaNetShape& shape,
    int head, int first, int count, float* scratch) {
  const int dk = shape.k_dim, dv = shape.v_dim, C = kDeltaChunk;
  const int channels = shape.channels();
  const int key_head = head / (shape.v_heads / shape.k_heads);
  const int key_dim = shape.k_heads * dk;
  const float q_scale = 1.0f / sqrtf(static_cast<float>(dk));
  float* q = scratch;                // [C][dk] normalised, scaled
  float* k = q + C * dk;             // [C][dk] normalised
  float* w = k + C * dk;             // [C][dk] (I + L)^-1 (β k e^cum)
  float* u = w + C * dk;             // [C][dv] (I + L)^-1 (β v), then the new values
  float* o = u + C * dv;             // [C][dv] outputs
  float* l = o + C * dv;             // [C][C] L, then the intra-chunk attention
  float* cum = l + C * C;            // [C] cumulative log decay
  float* beta = cum + C;             // [C]
  float* tmp = beta + C;             // [dv]
  float* s = recurrent + static_cast<size_t>(rows.slots[first]) * shape.recurrent_state_floats()
      + static_cast<size_t>(head) * dk * dv;
  if (rows.positions[first] == 0) std::memset(s, 0, sizeof(float) * static_cast<size_t>(dk) * dv);
  for (int c0 = 0; c0 < count; c0 += C) {
    const int n = count - c0 < C ? count - c0 : C;
    float running = 0.0f;
    for (int t = 0; t < n; t++) {
      const int r = first + c0 + t;
      const float* row = qkv + static_cast<size_t>(r) * channels;
      const float* q_in = row + static_cast<size_t>(key_head) * dk;
      const float* k_in = row + key_dim + static_cast<size_t>(key_head) * dk;
      float qq = 0.0f, kk = 0.0f;
      for (int i = 0; i < dk; i++) {
        qq += q_in[i] * q_in[i];
        kk += k_in[i] * k_in[i];
      }
      const float q_norm = l2_inverse_norm(qq), k_norm = l2_inverse_norm(kk);
      for (int i = 0; i < dk; i++) {
        q[t * dk + i] = q_in[i] * q_norm * q_scale;
        k[t * dk + i] = k_in[i] * k_norm;
      }
      const size_t gate_at = static_cast<size_t>(r) * shape.v_heads + head;
      beta[t] = sigmoid(b[gate_at]);
      running += delta_log_decay(a[gate_at], a_log[head], dt_bias[head]);
      cum[t] = running;
      const float* v = row + 2 * key_dim + static_cast<size_t>(head) * dv;
      const float growth = expf(cum[t]);
      for (int j = 0; j < dv; j++) u[t * dv + j] = beta[t] * v[j];
      for (int i = 0; i < dk; i++) w[t * dk + i] = beta[t] * k[t * dk + i] * growth;
    }
    // Forward substitution through (I + L) for u and w, row by row.
    for (int t = 0; t < n; t++) {
      for (int j = 0; j < t; j++) {
        float kk = 0.0f;
        for (int i = 0; i < dk; i++) kk += k[t * dk + i] * k[j * dk + i];
        const float lij = beta[t] * kk * delta_decay_between(cum[t], cum[j]);
        for (int x = 0; x < dv; x++) u[t * dv + x] -= lij * u[j * dv + x];
        for (int i = 0; i < dk; i++) w[t * dk + i] -= lij * w[j * dk + i];
      }
    }
    // New values (u − wᵀS) and the outputs' read of the old state ((q e^cum)ᵀS).
    for (int t = 0; t < n; t++) {
      const float growth = expf(cum[t]);
      for (int x = 0; x < dv; x++) {
        tmp[x] = 0.0f;
        o[t * dv + x] = 0.0f;
      }
      for (int i = 0; i < dk; i++) {
        const float* s_row = s + static_cast<size_t>(i) * dv;
        const float wi = w[t * dk + i], qi = q[t * dk + i] * growth;
        for (int x = 0; x < dv; x++) {
          tmp[x] += wi * s_row[x];
          o[t * dv + x] += qi * s_row[x];
        }
      }
      for (int x = 0; x < dv; x++) u[t * dv + x] -= tmp[x];
    }
    // Intra-chunk attention: out_t += Σ_{j≤t} (q_t·k_j) e^(cum_t − cum_j) · new value_j.
    for (int t = 0; t < n; t++) {
      for (int j = 0; j <= t; j++) {
        float qk = 0.0f;
        for (int i = 0; i < dk; i++) qk += q[t * dk + i] * k[j * dk + i];
        const float weight = qk * delta_decay_between(cum[t], cum[j]);
        for (int x = 0; x < dv; x++) o[t * dv + x] += weight * u[j * dv + x];
      }
    }
    // The state: S·e^cum_last + Σ_j (k_j e^(cum_last − cum_j)) ⊗ new value_j.
    const float last = cum[n - 1], chunk_decay = expf(last);
    for (int i = 0; i < dk; i++) {
      float* s_row = s + static_cast<size_t>(i) * dv;
      for (int x = 0; x < dv; x++) s_row[x] *= chunk_decay;
      for (int j = 0; j < n; j++) {
        const float kj = k[j * dk + i] * delta_decay_between(last, cum[j]);
        for (int x = 0; x < dv; x++) s_row[x] += kj * u[j * dv + x];
      }
    }
    for (int t = 0; t < n; t++) {
      float* dst = out + static_cast<size_t>(first + c0 + t) * shape.v_heads * dv + static_cast<size_t>(head) * dv;
      std::memcpy(dst, o + t * dv, sizeof(float) * static_cast<size_t>(dv));
    }
  }
}

/** The gated delta rule of value head `head` over the whole batch: a sequence's run of several rows
 * (prefill) in the chunked form, a lone row (decode) in the recurrent form; `scratch` holds
 * max(2·k_dim + v_dim, delta_chunk_scratch_floats) floats. */
static inline void delta_rule_head_runs(float* out, const float* qkv, const float* b, const float* a,
    const float* a_log, const float* dt_bias, float* recurrent, const BatchRows& rows, const DeltaNetShape& shape,
    int head, float* scratch) {
  for (int first = 0; first < rows.n;) {
    int end = first + 1;
    while (end < rows.n && continues_run(rows.slots, rows.positions, end)) end++;
    if (end - first > 1) {
      delta_rule_head_chunked(out, qkv, b, a, a_log, dt_bias, recurrent, rows, shape, head, first, end - first,
          scratch);
    } else {
      delta_rule_head(out, qkv, b, a, a_log, dt_bias, recurrent, rows, shape, head, scratch, first, 1);
    }
    first = end;
  }
}

}  // namespace cx
