// kernels_attention.cuh — causal GQA attention over the f32 KV cache. One block of 128 threads per
// (row, head[, split]): the row's query head is staged in shared memory, keys are scored a tile of
// 128 positions at a time (one position per thread), and an online softmax (running max and sum,
// rescaled per tile) accumulates the values, so any context length runs in fixed shared memory.
// When rows × heads is too small to fill the GPU (decode), each row's positions are also split
// across blocks (flash-decoding); a second kernel merges the per-split (max, sum, vector) triples.
// Compiled by kernels_attention.cu (nvcc) and kernels_check.cpp (host emulation).
#pragma once

#include "kernels.h"

namespace cx {

/** Online-softmax merge of a partial (max, sum) into a running one: returns the factor by which the
 * running sum and accumulators must be scaled. `*m` becomes the new max. */
CX_HD float online_rescale(float* m, float tile_max) {
  const float m_new = fmaxf(*m, tile_max);
  const float correction = expf(*m - m_new);  // exp(-inf) = 0 on the first tile
  *m = m_new;
  return correction;
}

namespace {

constexpr int kAttnThreads = 128;  // also the tile of positions scored per step
constexpr int kAttnDimsPerThread = kMaxAttentionHeadDim / kAttnThreads;

template <bool kVec4>
CX_DEVICE float dot_head(const float* q_shared, const float* key, int head_dim) {
  float sum = 0.0f;
  if constexpr (kVec4) {
    float lanes[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int d = 0; d < head_dim; d += 4) {
      const float4 a = *reinterpret_cast<const float4*>(q_shared + d);
      const float4 b = load_float4(key + d);
      lanes[0] += a.x * b.x;
      lanes[1] += a.y * b.y;
      lanes[2] += a.z * b.z;
      lanes[3] += a.w * b.w;
    }
    sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  } else {
    for (int d = 0; d < head_dim; d++) sum += q_shared[d] * key[d];
  }
  return sum;
}

/** Grid (rows, heads, splits). With splits == 1 writes the normalised output; otherwise writes the
 * split's unnormalised accumulator, max and sum into `partial` for attention_merge_kernel. */
template <bool kVec4>
CX_GLOBAL void CX_BOUNDS(128)
    attention_kernel(float* out, float* partial, const float* q, const float* keys, const float* values,
                     int slots, int context, int layer, const int32_t* row_slots,
                     const int32_t* positions, int heads, int kv_heads, int head_dim, float scale, int chunk,
                     int window) {
  CX_SHARED float scratch[32];
  CX_DYNAMIC_SHARED(float, shared);
  float* q_shared = shared;                      // head_dim
  float* p_shared = shared + head_dim;           // kAttnThreads
  float* reduce = p_shared + kAttnThreads;       // kAttnThreads (group partial sums)
  const int r = static_cast<int>(blockIdx.x);
  const int h = static_cast<int>(blockIdx.y);
  const int split = static_cast<int>(blockIdx.z);
  const int splits = static_cast<int>(gridDim.z);
  const int tid = static_cast<int>(threadIdx.x);

  const int slot = row_slots[r];
  int length = positions[r] + 1;
  if (length > context) length = context;
  const bool valid_slot = slot >= 0 && slot < slots;
  // The splits tile [first, first + context), so a sliding window's positions are covered too.
  const int start = attention_start(positions[r], window) + split * chunk;
  int end = start + chunk < length ? start + chunk : length;
  if (!valid_slot) end = start;  // an invalid row attends to nothing (its output is NaN)

  const int kv_head = h / (heads / kv_heads);
  const float* q_row = q + (static_cast<size_t>(r) * heads + h) * head_dim;
  for (int d = tid; d < head_dim; d += kAttnThreads) q_shared[d] = q_row[d];
  const size_t base = valid_slot ? kv_offset(slots, context, kv_heads, head_dim, layer, slot, kv_head, 0) : 0;
  const float* key_base = keys + base;
  const float* value_base = values + base;

  // Threads split the value accumulation: `groups` groups of head_dim threads each take every
  // groups-th position of a tile (head_dim <= 128); wider heads give each thread several dims.
  const int groups = head_dim <= kAttnThreads ? kAttnThreads / head_dim : 1;
  const int group = head_dim <= kAttnThreads ? tid / head_dim : 0;
  const int lane_dim = head_dim <= kAttnThreads ? tid % head_dim : tid;
  float acc[kAttnDimsPerThread];
  CX_UNROLL
  for (int i = 0; i < kAttnDimsPerThread; i++) acc[i] = 0.0f;
  float running_max = -INFINITY;
  float running_sum = 0.0f;
  CX_SYNC();

  for (int t0 = start; t0 < end; t0 += kAttnThreads) {
    const int t = t0 + tid;
    float score = -INFINITY;
    if (t < end) score = dot_head<kVec4>(q_shared, key_base + static_cast<size_t>(t) * head_dim, head_dim) * scale;
    const float correction = online_rescale(&running_max, block_max(score, scratch));
    const float p = t < end ? expf(score - running_max) : 0.0f;
    p_shared[tid] = p;
    running_sum = running_sum * correction + block_sum(p, scratch);  // its barriers publish p_shared
    const int tile = end - t0 < kAttnThreads ? end - t0 : kAttnThreads;
    CX_UNROLL
    for (int i = 0; i < kAttnDimsPerThread; i++) acc[i] *= correction;
    if (group < groups) {
      for (int tt = group; tt < tile; tt += groups) {
        const float weight = p_shared[tt];
        const float* value = value_base + static_cast<size_t>(t0 + tt) * head_dim;
        CX_UNROLL
        for (int i = 0; i < kAttnDimsPerThread; i++) {
          const int d = lane_dim + i * kAttnThreads;
          if (d < head_dim) acc[i] += weight * value[d];
        }
      }
    }
    CX_SYNC();  // p_shared is rewritten by the next tile
  }

  const size_t block = (static_cast<size_t>(r) * heads + h) * static_cast<size_t>(splits) + static_cast<size_t>(split);
  float* destination = splits == 1 ? out + (static_cast<size_t>(r) * heads + h) * head_dim
                                   : partial + block * static_cast<size_t>(head_dim);
  const float inverse = splits == 1 ? 1.0f / running_sum : 1.0f;
  if (groups > 1) {
    if (group < groups) reduce[group * head_dim + lane_dim] = acc[0];
    CX_SYNC();
    if (tid < head_dim) {
      float total = 0.0f;
      for (int g = 0; g < groups; g++) total += reduce[g * head_dim + tid];
      destination[tid] = total * inverse;
    }
  } else if (group == 0) {  // threads past the last whole head_dim group hold nothing
    CX_UNROLL
    for (int i = 0; i < kAttnDimsPerThread; i++) {
      const int d = lane_dim + i * kAttnThreads;
      if (d < head_dim) destination[d] = acc[i] * inverse;
    }
  }
  if (splits > 1 && tid == 0) {
    const size_t blocks = static_cast<size_t>(gridDim.x) * heads * static_cast<size_t>(splits);
    float* maxima = partial + blocks * static_cast<size_t>(head_dim);
    maxima[block] = running_max;
    maxima[blocks + block] = running_sum;
  }
}

/** Grid (rows, heads): merges the splits of one (row, head) into the normalised output. */
CX_GLOBAL void CX_BOUNDS(128)
    attention_merge_kernel(float* out, const float* partial, int heads, int head_dim, int splits) {
  const size_t row_head = static_cast<size_t>(blockIdx.x) * heads + blockIdx.y;
  const size_t blocks = static_cast<size_t>(gridDim.x) * heads * static_cast<size_t>(splits);
  const float* maxima = partial + blocks * static_cast<size_t>(head_dim);
  const float* sums = maxima + blocks;
  const size_t first = row_head * static_cast<size_t>(splits);
  float global_max = -INFINITY;
  for (int s = 0; s < splits; s++) global_max = fmaxf(global_max, maxima[first + s]);
  float total = 0.0f;
  for (int s = 0; s < splits; s++) {
    if (sums[first + s] > 0.0f) total += sums[first + s] * expf(maxima[first + s] - global_max);
  }
  const float inverse = 1.0f / total;
  for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float value = 0.0f;
    for (int s = 0; s < splits; s++) {
      if (sums[first + s] > 0.0f) {
        value += partial[(first + s) * static_cast<size_t>(head_dim) + d] * expf(maxima[first + s] - global_max);
      }
    }
    out[row_head * static_cast<size_t>(head_dim) + d] = value * inverse;
  }
}

}  // namespace

AttentionPlan plan_attention(int rows, int heads, int context, int multiprocessors) {
  AttentionPlan plan;
  const int64_t blocks = static_cast<int64_t>(rows) * heads;
  const int max_splits = (context + 511) / 512;  // at least 512 positions per split
  int64_t splits = 1;
  if (blocks > 0 && blocks < 2 * static_cast<int64_t>(multiprocessors)) {
    splits = (2 * static_cast<int64_t>(multiprocessors) + blocks - 1) / blocks;
  }
  if (splits > max_splits) splits = max_splits;
  if (splits > 65535) splits = 65535;
  if (splits < 1) splits = 1;
  int chunk = static_cast<int>((context + splits - 1) / splits);
  chunk = ((chunk + kAttnThreads - 1) / kAttnThreads) * kAttnThreads;
  if (chunk < kAttnThreads) chunk = kAttnThreads;
  plan.chunk = chunk;
  plan.splits = (context + chunk - 1) / chunk;
  if (plan.splits < 1) plan.splits = 1;
  return plan;
}

size_t attention_workspace_floats(const AttentionPlan& plan, int rows, int heads, int head_dim) {
  if (plan.splits <= 1) return 0;
  return static_cast<size_t>(rows) * static_cast<size_t>(heads) * static_cast<size_t>(plan.splits) *
         (static_cast<size_t>(head_dim) + 2);
}

void launch_attention(float* out, const float* q, const KvCache& cache, int layer, const int32_t* slots,
                      const int32_t* positions, int rows, int heads, int kv_heads, int head_dim, int window,
                      const AttentionPlan& plan, float* workspace, cudaStream_t stream) {
  if (rows <= 0 || heads <= 0) return;
  if (head_dim < 1 || head_dim > kMaxAttentionHeadDim) {
    throw Error(CX_ERR_UNSUPPORTED_ARCH, "CUDA attention supports head_dim 1.." + std::to_string(kMaxAttentionHeadDim) +
                                             ", got " + std::to_string(head_dim));
  }
  if (kv_heads <= 0 || heads % kv_heads != 0) {
    throw Error(CX_ERR_INVALID_ARGUMENT, "attention heads (" + std::to_string(heads) +
                                             ") must be a multiple of kv heads (" + std::to_string(kv_heads) + ")");
  }
  if (heads > 65535 || plan.splits > 65535) {
    throw Error(CX_ERR_UNSUPPORTED_ARCH, "CUDA attention grid too large (heads " + std::to_string(heads) + ")");
  }
  if (plan.splits > 1 && workspace == nullptr) throw Error(CX_ERR_INTERNAL, "attention workspace missing");
  const float scale = 1.0f / sqrtf(static_cast<float>(head_dim));
  const size_t shared_bytes = sizeof(float) * (static_cast<size_t>(head_dim) + 2 * kAttnThreads);
  const dim3 grid(static_cast<unsigned>(rows), static_cast<unsigned>(heads), static_cast<unsigned>(plan.splits));
  const bool vec4 = head_dim % 4 == 0 && reinterpret_cast<uintptr_t>(cache.keys) % 16 == 0;
  auto kernel = vec4 ? attention_kernel<true> : attention_kernel<false>;
  launch("attention", kernel, grid, kAttnThreads, shared_bytes, stream, out, workspace, q, cache.keys, cache.values,
         cache.slots, cache.context, layer, slots, positions, heads, kv_heads, head_dim, scale,
         plan.chunk, window);
  if (plan.splits > 1) {
    launch("attention_merge", attention_merge_kernel, dim3(static_cast<unsigned>(rows), static_cast<unsigned>(heads)),
           kAttnThreads, 0, stream, out, static_cast<const float*>(workspace), heads, head_dim, plan.splits);
  }
}

}  // namespace cx
