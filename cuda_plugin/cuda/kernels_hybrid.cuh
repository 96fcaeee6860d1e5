// kernels_hybrid.cuh — the Qwen3.5 / Qwen3-Next hybrid ops: the gated-attention output gate, the
// shared expert's gate, the causal conv1d of Gated DeltaNet with its per-slot state, the gated delta rule
// (chunked form for a sequence's run of rows, recurrent form for lone rows) and the gated RMSNorm.
// Per-element math from hybrid_math.h, as the CPU backend's (cpu/hybrid_kernels.h). Compiled by
// kernels_hybrid.cu (nvcc) and kernels_check.cpp (host emulation).
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

/** Whether row r belongs to a run of several rows of one sequence (continues_run, hybrid_math.h). */
CX_DEVICE bool in_run_of_rows(const int32_t* slots, const int32_t* positions, int n, int r) {
  return continues_run(slots, positions, r) || (r + 1 < n && continues_run(slots, positions, r + 1));
}

/** Blocks (value head, column tile): thread j of tile t owns column t·blockDim + j of the head's state
 * S[k_dim][v_dim] (the delta rule never mixes columns), so the state is read and written coalesced and
 * a head's columns spread over several SMs. Shared memory holds the row's normalised q and k (2·k_dim
 * floats, each tile computing them alike). Rows are walked in order; with `skip_runs` the rows of runs
 * of several rows are left to the chunked kernel. */
CX_GLOBAL void CX_BOUNDS(64) gated_delta_rule_kernel(float* out, const float* qkv, const float* b,
    const float* a, const float* a_log, const float* dt_bias, float* recurrent, const int32_t* slots,
    const int32_t* positions, int n, int skip_runs, DeltaNetShape shape) {
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
    if (skip_runs && in_run_of_rows(slots, positions, n, r)) continue;  // the same for the whole block
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

// The chunked kernel's block: warp g of kDeltaGroups takes the chunk's tokens g, g + 8, … and the
// state's rows g, g + 8, …; lane x takes column x of a kDeltaTile-column tile of the state.
constexpr int kDeltaTile = 32;
constexpr int kDeltaGroups = 8;
constexpr int kDeltaThreads = kDeltaTile * kDeltaGroups;
constexpr int kDeltaTokensPerGroup = kDeltaChunk / kDeltaGroups;
constexpr int kDeltaMatrixStride = kDeltaChunk + 1;  // padded rows: a warp reading a column hits 32 banks
constexpr int kMaxDeltaRuns = 64;                    // runs per launch of the chunked kernel

/** The runs of one chunked launch (block z takes run z), passed by value as a kernel argument. */
struct DeltaRuns {
  int32_t first[kMaxDeltaRuns];  // the run's first row
  int32_t rows[kMaxDeltaRuns];   // its rows (> 1)
};

/** Row t and column j ≤ t of entry e of a lower triangle stored row by row. */
CX_DEVICE void triangle_entry(int e, int* t, int* j) {
  int row = static_cast<int>((sqrtf(8.0f * static_cast<float>(e) + 1.0f) - 1.0f) * 0.5f);
  while (row > 0 && row * (row + 1) / 2 > e) row--;
  while ((row + 1) * (row + 2) / 2 <= e) row++;
  *t = row;
  *j = e - row * (row + 1) / 2;
}

/** The chunked gated delta rule (delta_rule_head_chunked's algebra, cpu/hybrid_kernels.h) over runs of
 * several rows of one sequence. Blocks (value head, column tile, run): runs are distinct sequences and
 * state columns never mix, so every block is independent; lane x owns column tile·32 + x of the head's
 * state S[k_dim][v_dim], which stays in the slot's global memory (read once, written once per chunk).
 * Per chunk of kDeltaChunk tokens, in shared memory: the normalised q and k, β, the cumulative log
 * decays cum, and one matrix holding P[t][j] = (q_t·k_j) e^(cum_t − cum_j) for j ≤ t on and below its
 * diagonal and L[t][j] = β_t (k_t·k_j) e^(cum_t − cum_j) for j < t transposed above it. Then ũ_t =
 * β_t (v_t − e^cum_t k_tᵀS) is forward-substituted through (I + L), which equals the CPU's
 * (I + L)⁻¹βv − ((I + L)⁻¹ βk e^cum)ᵀS; out_t = e^cum_t q_tᵀS + Σ_{j≤t} P[t][j] ũ_j; and S ←
 * e^cum_last S + Σ_j (k_j e^(cum_last − cum_j)) ⊗ ũ_j. */
CX_GLOBAL void CX_BOUNDS(kDeltaThreads) gated_delta_rule_chunked_kernel(float* out, const float* qkv,
    const float* b, const float* a, const float* a_log, const float* dt_bias, float* recurrent,
    const int32_t* slots, const int32_t* positions, DeltaRuns runs, DeltaNetShape shape) {
  CX_DYNAMIC_SHARED(float, shared);
  const int C = kDeltaChunk, G = kDeltaGroups, W = kDeltaTile, M = kDeltaMatrixStride;
  const int head = static_cast<int>(blockIdx.x);
  const int dk = shape.k_dim, dv = shape.v_dim, K = dk + 1;  // K: padded row of q and k
  float* qs = shared;       // [C][K] normalised q, scaled by k_dim^-½
  float* ks = qs + C * K;   // [C][K] normalised k
  float* mat = ks + C * K;  // [C][M] P on and below the diagonal, Lᵀ above
  float* us = mat + C * M;  // [C][W] the tile's new values ũ
  float* cum = us + C * W;  // [C] cumulative log decay
  float* beta = cum + C;    // [C]
  float* to_last = beta + C;  // [C] e^(cum_last − cum_j)
  const int lane = static_cast<int>(threadIdx.x) % 32, group = static_cast<int>(threadIdx.x) / 32;
  const int column = static_cast<int>(blockIdx.y) * W + lane;
  const bool owns_column = column < dv;
  const int channels = shape_channels(shape);
  const int key_head = head / (shape.v_heads / shape.k_heads);
  const int key_dim = shape.k_heads * dk;
  const float q_scale = 1.0f / sqrtf(static_cast<float>(dk));
  const int first = runs.first[blockIdx.z], count = runs.rows[blockIdx.z];
  // Row i of the owned column is s[i · v_dim]; zeroed where the run starts the sequence.
  float* s = recurrent + static_cast<size_t>(slots[first]) * shape_recurrent_floats(shape)
      + static_cast<size_t>(head) * dk * dv + (owns_column ? column : 0);
  if (positions[first] == 0 && owns_column) {
    for (int i = group; i < dk; i += G) s[static_cast<int64_t>(i) * dv] = 0.0f;
  }
  for (int c0 = 0; c0 < count; c0 += C) {
    const int n = count - c0 < C ? count - c0 : C;
    // 1. Stage the chunk: a warp per token normalises q and k; lane 0 takes β and the log decay.
    for (int t = group; t < n; t += G) {
      const int64_t r = first + c0 + t;
      const float* row = qkv + r * channels;
      const float* q_in = row + static_cast<int64_t>(key_head) * dk;
      const float* k_in = row + key_dim + static_cast<int64_t>(key_head) * dk;
      float qq = 0.0f, kk = 0.0f;
      for (int i = lane; i < dk; i += 32) {
        qq += q_in[i] * q_in[i];
        kk += k_in[i] * k_in[i];
      }
      const float q_norm = l2_inverse_norm(warp_sum(qq)), k_norm = l2_inverse_norm(warp_sum(kk));
      for (int i = lane; i < dk; i += 32) {
        qs[t * K + i] = q_in[i] * q_norm * q_scale;
        ks[t * K + i] = k_in[i] * k_norm;
      }
      if (lane == 0) {
        const int64_t gate_at = r * shape.v_heads + head;
        beta[t] = sigmoid(b[gate_at]);
        cum[t] = delta_log_decay(a[gate_at], a_log[head], dt_bias[head]);
      }
    }
    CX_SYNC();
    if (threadIdx.x == 0) {  // summed in token order, as the CPU does
      for (int t = 1; t < n; t++) cum[t] += cum[t - 1];
    }
    CX_SYNC();
    // 2. The chunk's matrix, one lower-triangle entry per thread at a time; and e^(cum_last − cum_j).
    if (static_cast<int>(threadIdx.x) < n) to_last[threadIdx.x] = delta_decay_between(cum[n - 1], cum[threadIdx.x]);
    for (int e = static_cast<int>(threadIdx.x); e < n * (n + 1) / 2; e += kDeltaThreads) {
      int t = 0, j = 0;
      triangle_entry(e, &t, &j);
      float qk = 0.0f, kk = 0.0f;
      for (int i = 0; i < dk; i++) {
        qk += qs[t * K + i] * ks[j * K + i];
        kk += ks[t * K + i] * ks[j * K + i];
      }
      const float decay = delta_decay_between(cum[t], cum[j]);
      mat[t * M + j] = qk * decay;
      if (j < t) mat[j * M + t] = beta[t] * kk * decay;
    }
    // 3. Read the old state once: the warp's tokens' q·S and k·S for the lane's column.
    float o[kDeltaTokensPerGroup], k_state[kDeltaTokensPerGroup];
    CX_UNROLL
    for (int u = 0; u < kDeltaTokensPerGroup; u++) o[u] = k_state[u] = 0.0f;
    for (int i = 0; i < dk; i++) {
      const float state = owns_column ? s[static_cast<int64_t>(i) * dv] : 0.0f;
      CX_UNROLL
      for (int u = 0; u < kDeltaTokensPerGroup; u++) {
        const int t = group + u * G;
        if (t < n) {
          o[u] += qs[t * K + i] * state;
          k_state[u] += ks[t * K + i] * state;
        }
      }
    }
    CX_UNROLL
    for (int u = 0; u < kDeltaTokensPerGroup; u++) {
      const int t = group + u * G;
      if (t < n) {
        const float growth = expf(cum[t]);
        const float v = owns_column
            ? qkv[(first + c0 + t) * static_cast<int64_t>(channels) + 2 * key_dim + static_cast<int64_t>(head) * dv
                  + column]
            : 0.0f;
        us[t * W + lane] = beta[t] * (v - growth * k_state[u]);
        o[u] *= growth;
      }
    }
    // 4. Forward substitution ũ ← (I + L)⁻¹ ũ, a block of G tokens at a time: each thread subtracts the
    //    earlier blocks' part for one (token, column), then warp 0 finishes inside the block in order.
    //    (The first block's threads start from their own ũ; its barriers order the rest of steps 2–3.)
    for (int t0 = 0; t0 < n; t0 += G) {
      const int t = t0 + group;
      if (t < n) {
        float value = us[t * W + lane];
        for (int j = 0; j < t0; j++) value -= mat[j * M + t] * us[j * W + lane];
        us[t * W + lane] = value;
      }
      CX_SYNC();
      if (group == 0) {
        const int end = t0 + G < n ? t0 + G : n;
        for (int tt = t0 + 1; tt < end; tt++) {
          float value = us[tt * W + lane];
          for (int j = t0; j < tt; j++) value -= mat[j * M + tt] * us[j * W + lane];
          us[tt * W + lane] = value;
        }
      }
      CX_SYNC();
    }
    // 5. Outputs: add the intra-chunk attention Σ_{j≤t} P[t][j] ũ_j.
    CX_UNROLL
    for (int u = 0; u < kDeltaTokensPerGroup; u++) {
      const int t = group + u * G;
      if (t < n) {
        for (int j = 0; j <= t; j++) o[u] += mat[t * M + j] * us[j * W + lane];
        if (owns_column) {
          out[(first + c0 + t) * static_cast<int64_t>(shape.v_heads) * dv + static_cast<int64_t>(head) * dv + column] =
              o[u];
        }
      }
    }
    // 6. The state, the warp's rows of the lane's column (step 3's reads are behind the barriers of 4).
    if (owns_column) {
      const float chunk_decay = expf(cum[n - 1]);
      for (int i = group; i < dk; i += G) {
        float value = s[static_cast<int64_t>(i) * dv] * chunk_decay;
        for (int j = 0; j < n; j++) value += ks[j * K + i] * to_last[j] * us[j * W + lane];
        s[static_cast<int64_t>(i) * dv] = value;
      }
    }
    CX_SYNC();  // the next chunk restages shared memory and reads the whole column
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

size_t gated_delta_rule_chunked_shared_bytes(const DeltaNetShape& shape) {
  const size_t chunk = kDeltaChunk, padded_key = static_cast<size_t>(shape.k_dim) + 1;
  return sizeof(float) * (2 * chunk * padded_key + chunk * kDeltaMatrixStride + chunk * kDeltaTile + 3 * chunk);
}

void launch_gated_delta_rule(float* out, const float* qkv, const float* b, const float* a, const float* a_log,
    const float* dt_bias, float* recurrent, const BatchRows& rows, const DeltaNetShape& shape,
    size_t max_shared_bytes, cudaStream_t stream) {
  if (rows.n <= 0) return;
  const size_t chunk_bytes = gated_delta_rule_chunked_shared_bytes(shape);
  const bool chunked = rows.host_slots != nullptr && rows.host_positions != nullptr && chunk_bytes <= max_shared_bytes;
  // Runs of several rows, planned on the host as the CPU backend splits them; each is a distinct sequence.
  DeltaRuns runs{};
  int run_count = 0;
  bool lone_rows = !chunked;
  auto launch_runs = [&] {
    allow_dynamic_shared("gated_delta_rule_chunked", gated_delta_rule_chunked_kernel, chunk_bytes);
    const dim3 grid(static_cast<unsigned>(shape.v_heads), static_cast<unsigned>((shape.v_dim + kDeltaTile - 1) / kDeltaTile),
        static_cast<unsigned>(run_count));
    launch("gated_delta_rule_chunked", gated_delta_rule_chunked_kernel, grid, static_cast<unsigned>(kDeltaThreads),
        chunk_bytes, stream, out, qkv, b, a, a_log, dt_bias, recurrent, rows.slots, rows.positions, runs, shape);
    run_count = 0;
  };
  for (int first = 0; chunked && first < rows.n;) {
    int end = first + 1;
    while (end < rows.n && continues_run(rows.host_slots, rows.host_positions, end)) end++;
    if (end - first == 1) {
      lone_rows = true;
    } else {
      runs.first[run_count] = first;
      runs.rows[run_count] = end - first;
      if (++run_count == kMaxDeltaRuns) launch_runs();
    }
    first = end;
  }
  if (run_count > 0) launch_runs();
  if (!lone_rows) return;
  // 64-column tiles: a 128-wide head is two blocks, so 48 heads fill 96 SMs.
  const int threads = threads_for(shape.v_dim < 64 ? shape.v_dim : 64);
  const dim3 grid(static_cast<unsigned>(shape.v_heads), static_cast<unsigned>((shape.v_dim + threads - 1) / threads));
  launch("gated_delta_rule", gated_delta_rule_kernel, grid, static_cast<unsigned>(threads),
      sizeof(float) * 2 * static_cast<size_t>(shape.k_dim), stream, out, qkv, b, a, a_log, dt_bias, recurrent,
      rows.slots, rows.positions, rows.n, chunked ? 1 : 0, shape);
}

void launch_gated_rmsnorm(float* out, const float* x, const float* z, const float* weight, int rows, int dim,
    float eps, cudaStream_t stream) {
  if (rows <= 0 || dim <= 0) return;
  launch("gated_rmsnorm", gated_rmsnorm_kernel, static_cast<unsigned>(rows), static_cast<unsigned>(threads_for(dim)),
      0, stream, out, x, z, weight, dim, eps);
}

}  // namespace cx
