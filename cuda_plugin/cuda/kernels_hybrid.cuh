// kernels_hybrid.cuh — the Qwen3.5 / Qwen3-Next hybrid ops: the gated-attention output gate, the
// shared expert's gate, the causal conv1d of Gated DeltaNet with its per-slot state, the gated delta rule
// (recurrent form) and the gated RMSNorm. Per-element math from hybrid_math.h, as the CPU backend's
// (cpu/hybrid_kernels.h). Compiled by kernels_hybrid.cu (nvcc) and kernels_check.cpp (host emulation).
#pragma once

#include "hybrid_math.h"
#include "kernels.h"

namespace cx {

namespace {

constexpr int kHybridThreads = 256;

// DeltaNetShape's sizes, for device code (its member functions are host-only).
CX_DEVICE int shape_channels(const DeltaNetShape& s) { return 2 * s.k_heads * s.k_dim + s.v_heads * s.v_dim; }
CX_DEVICE size_t shape_conv_floats(const DeltaNetShape& s) {
  return static_cast<size_t>(shape_channels(s)) * (s.kernel - 1);
}
CX_DEVICE size_t shape_recurrent_floats(const DeltaNetShape& s) {
  return static_cast<size_t>(s.v_heads) * s.k_dim * s.v_dim;
}

CX_GLOBAL void sigmoid_gate_kernel(float* x, const float* gate, int64_t count) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    x[i] *= sigmoid(gate[i]);
  }
}

CX_GLOBAL void sigmoid_scale_rows_kernel(float* y, const float* gate, int64_t count, int dim) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    y[i] *= sigmoid(gate[i / dim]);
  }
}

/** One thread per channel, walking the rows in order (a sequence's rows carry its conv state). */
CX_GLOBAL void conv1d_silu_kernel(float* out, const float* x, float* conv_state, const float* weight,
    const int32_t* slots, const int32_t* positions, int n, DeltaNetShape shape) {
  const int channels = shape_channels(shape);
  const int taps = shape.kernel - 1;
  for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < channels;
       c += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float* w = weight + c * shape.kernel;
    for (int r = 0; r < n; r++) {
      float* state = conv_state + static_cast<size_t>(slots[r]) * shape_conv_floats(shape) + c * taps;
      if (positions[r] == 0) {
        for (int j = 0; j < taps; j++) state[j] = 0.0f;
      }
      const float input = x[static_cast<int64_t>(r) * channels + c];
      float sum = 0.0f;
      for (int j = 0; j < taps; j++) sum += w[j] * state[j];
      sum += w[taps] * input;
      for (int j = 0; j + 1 < taps; j++) state[j] = state[j + 1];
      if (taps > 0) state[taps - 1] = input;
      out[static_cast<int64_t>(r) * channels + c] = silu(sum);
    }
  }
}

/** Blocks (value head, column tile): thread j of tile t owns column t·blockDim + j of the head's state
 * S[k_dim][v_dim] (the delta rule never mixes columns), so the state is read and written coalesced and
 * a head's columns spread over several SMs. Shared memory holds the row's normalised q and k (2·k_dim
 * floats, each tile computing them alike). Rows are walked in order. */
CX_GLOBAL void CX_BOUNDS(64) gated_delta_rule_kernel(float* out, const float* qkv, const float* b,
    const float* a, const float* a_log, const float* dt_bias, float* recurrent, const int32_t* slots,
    const int32_t* positions, int n, DeltaNetShape shape) {
  CX_SHARED float scratch[32];
  CX_DYNAMIC_SHARED(float, qk);
  const int head = static_cast<int>(blockIdx.x);
  const int dk = shape.k_dim, dv = shape.v_dim;
  const int column = static_cast<int>(blockIdx.y * blockDim.x + threadIdx.x);
  const int channels = shape_channels(shape);
  const int key_head = head / (shape.v_heads / shape.k_heads);
  const int key_dim = shape.k_heads * dk;
  const float q_scale = 1.0f / sqrtf(static_cast<float>(dk));
  const int t = static_cast<int>(threadIdx.x);
  for (int r = 0; r < n; r++) {
    const float* row = qkv + static_cast<int64_t>(r) * channels;
    const float* q_in = row + static_cast<int64_t>(key_head) * dk;
    const float* k_in = row + key_dim + static_cast<int64_t>(key_head) * dk;
    float qq = 0.0f, kk = 0.0f;
    for (int i = t; i < dk; i += blockDim.x) {
      qq += q_in[i] * q_in[i];
      kk += k_in[i] * k_in[i];
    }
    const float q_norm = l2_inverse_norm(block_sum(qq, scratch));
    const float k_norm = l2_inverse_norm(block_sum(kk, scratch));
    for (int i = t; i < dk; i += blockDim.x) {
      qk[i] = q_in[i] * q_norm * q_scale;
      qk[dk + i] = k_in[i] * k_norm;
    }
    CX_SYNC();
    if (column < dv) {
      const int j = column;
      float* s = recurrent + static_cast<size_t>(slots[r]) * shape_recurrent_floats(shape)
          + static_cast<size_t>(head) * dk * dv + j;
      if (positions[r] == 0) {
        for (int i = 0; i < dk; i++) s[static_cast<int64_t>(i) * dv] = 0.0f;
      }
      const int64_t gate_at = static_cast<int64_t>(r) * shape.v_heads + head;
      const float beta = sigmoid(b[gate_at]);
      const float decay = delta_decay(a[gate_at], a_log[head], dt_bias[head]);
      float kv_mem = 0.0f;
      for (int i = 0; i < dk; i++) {
        const float decayed = s[static_cast<int64_t>(i) * dv] * decay;
        s[static_cast<int64_t>(i) * dv] = decayed;
        kv_mem += decayed * qk[dk + i];
      }
      const float delta = (row[2 * key_dim + static_cast<int64_t>(head) * dv + j] - kv_mem) * beta;
      float o = 0.0f;
      for (int i = 0; i < dk; i++) {
        const float updated = s[static_cast<int64_t>(i) * dv] + qk[dk + i] * delta;
        s[static_cast<int64_t>(i) * dv] = updated;
        o += updated * qk[i];
      }
      out[static_cast<int64_t>(r) * shape.v_heads * dv + static_cast<int64_t>(head) * dv + j] = o;
    }
    CX_SYNC();  // qk is rewritten for the next row
  }
}

/** One block per row: weight · RMSNorm(x) · silu(z). */
CX_GLOBAL void CX_BOUNDS(1024) gated_rmsnorm_kernel(float* out, const float* x, const float* z, const float* weight,
    int dim, float eps) {
  CX_SHARED float scratch[32];
  const int64_t r = blockIdx.x;
  const float* row = x + r * dim;
  float squares = 0.0f;
  for (int j = threadIdx.x; j < dim; j += blockDim.x) squares += row[j] * row[j];
  const float scale = rms_scale(block_sum(squares, scratch), dim, eps);
  for (int j = threadIdx.x; j < dim; j += blockDim.x) {
    out[r * dim + j] = gated_rmsnorm_element(row[j], scale, weight[j], z[r * dim + j]);
  }
}

int threads_for(int width) {
  int threads = (width + 31) / 32 * 32;
  return threads < 32 ? 32 : threads > 1024 ? 1024 : threads;
}

}  // namespace

void launch_sigmoid_gate(float* x, const float* gate, int64_t count, cudaStream_t stream) {
  if (count <= 0) return;
  launch("sigmoid_gate", sigmoid_gate_kernel, grid_for(count, kHybridThreads), kHybridThreads, 0, stream, x, gate,
      count);
}

void launch_sigmoid_scale_rows(float* y, const float* gate, int rows, int dim, cudaStream_t stream) {
  const int64_t count = static_cast<int64_t>(rows) * dim;
  if (count <= 0) return;
  launch("sigmoid_scale_rows", sigmoid_scale_rows_kernel, grid_for(count, kHybridThreads), kHybridThreads, 0, stream,
      y, gate, count, dim);
}

void launch_conv1d_silu(float* out, const float* x, float* conv_state, const float* weight, const int32_t* slots,
    const int32_t* positions, int n, const DeltaNetShape& shape, cudaStream_t stream) {
  if (n <= 0) return;
  launch("conv1d_silu", conv1d_silu_kernel, grid_for(shape.channels(), 128), 128, 0, stream, out, x, conv_state,
      weight, slots, positions, n, shape);
}

void launch_gated_delta_rule(float* out, const float* qkv, const float* b, const float* a, const float* a_log,
    const float* dt_bias, float* recurrent, const int32_t* slots, const int32_t* positions, int n,
    const DeltaNetShape& shape, cudaStream_t stream) {
  if (n <= 0) return;
  // 64-column tiles: a 128-wide head is two blocks, so 48 heads fill 96 SMs.
  const int threads = threads_for(shape.v_dim < 64 ? shape.v_dim : 64);
  const dim3 grid(static_cast<unsigned>(shape.v_heads), static_cast<unsigned>((shape.v_dim + threads - 1) / threads));
  launch("gated_delta_rule", gated_delta_rule_kernel, grid, static_cast<unsigned>(threads),
      sizeof(float) * 2 * static_cast<size_t>(shape.k_dim), stream, out, qkv, b, a, a_log, dt_bias, recurrent, slots,
      positions, n, shape);
}

void launch_gated_rmsnorm(float* out, const float* x, const float* z, const float* weight, int rows, int dim,
    float eps, cudaStream_t stream) {
  if (rows <= 0 || dim <= 0) return;
  launch("gated_rmsnorm", gated_rmsnorm_kernel, static_cast<unsigned>(rows), static_cast<unsigned>(threads_for(dim)),
      0, stream, out, x, z, weight, dim, eps);
}

}  // namespace cx
