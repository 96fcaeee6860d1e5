// kernels_elementwise.cuh — the memory-bound ops of a forward pass: embedding lookup, RMSNorm,
// bias, RoPE, KV store, SwiGLU, residual add, row gather and dtype conversions. Per-element math
// comes from cx_math.h, the functions the CPU backend uses. Compiled by kernels_elementwise.cu
// (nvcc) and kernels_check.cpp (host emulation).
#pragma once

#include "kernels.h"

namespace cx {

namespace {

constexpr int kThreads = 256;

template <int D>
CX_GLOBAL void embed_kernel(float* out, const void* table, int64_t vocab, int64_t cols, const int32_t* tokens,
                            int n) {
  for (int64_t r = blockIdx.y; r < n; r += gridDim.y) {
    const int32_t token = tokens[r];
    const bool valid = token >= 0 && token < vocab;
    for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < cols;
         j += static_cast<int64_t>(gridDim.x) * blockDim.x) {
      out[r * cols + j] = valid ? widen_at<D>(table, static_cast<int64_t>(token) * cols + j) : NAN;
    }
  }
}

/** One warp per row: for short rows (q/k norms over head_dim). */
CX_GLOBAL void CX_BOUNDS(256) rmsnorm_warp_kernel(float* out, const float* x, const float* weight, int rows,
                                                  int dim, float eps) {
  const int lane = static_cast<int>(threadIdx.x) & 31;
  const int64_t r = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + (threadIdx.x >> 5);
  if (r >= rows) return;  // whole warps only
  const float* row = x + r * dim;
  float squares = 0.0f;
  for (int j = lane; j < dim; j += 32) squares += row[j] * row[j];
  const float scale = rms_scale(warp_sum(squares), dim, eps);
  for (int j = lane; j < dim; j += 32) out[r * dim + j] = rmsnorm_element(row[j], scale, weight[j]);
}

/** One block per row: for hidden-size rows. */
CX_GLOBAL void CX_BOUNDS(1024) rmsnorm_block_kernel(float* out, const float* x, const float* weight, int dim,
                                                    float eps) {
  CX_SHARED float scratch[32];
  const int64_t r = blockIdx.x;
  const float* row = x + r * dim;
  float squares = 0.0f;
  for (int j = threadIdx.x; j < dim; j += blockDim.x) squares += row[j] * row[j];
  const float scale = rms_scale(block_sum(squares, scratch), dim, eps);
  for (int j = threadIdx.x; j < dim; j += blockDim.x) out[r * dim + j] = rmsnorm_element(row[j], scale, weight[j]);
}

CX_GLOBAL void add_bias_kernel(float* x, const float* bias, int64_t count, int dim) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    x[i] += bias[i % dim];
  }
}

/** One thread per (row, head, pair); the pair is (i, i + rotary_dim/2) as in rotate_half over the
 * head's first rotary_dim dims; cos and sin are scaled by attention_scale. */
CX_GLOBAL void rope_kernel(float* x, const int32_t* positions, int64_t n, int heads, int head_dim, int rotary_dim,
                           const float* inv_freq, float attention_scale) {
  const int half = rotary_dim / 2;
  const int64_t per_row = static_cast<int64_t>(heads) * half;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < n * per_row;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = idx / per_row;
    const int h = static_cast<int>((idx % per_row) / half);
    const int i = static_cast<int>(idx % half);
    const float angle = rope_angle(positions[r], inv_freq[i]);
    float* head = x + (r * heads + h) * head_dim;
    rope_rotate(head + i, head + half + i, cosf(angle) * attention_scale, sinf(angle) * attention_scale);
  }
}

CX_GLOBAL void kv_store_kernel(float* keys, float* values, int slots, int context, int kv_heads, int head_dim,
                               int layer, const float* k, const float* v, const int32_t* row_slots,
                               const int32_t* positions, int64_t n) {
  const int kv_dim = kv_heads * head_dim;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < n * kv_dim;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = idx / kv_dim;
    const int j = static_cast<int>(idx % kv_dim);
    const int slot = row_slots[r];
    const int position = positions[r];
    if (slot < 0 || slot >= slots || position < 0 || position >= context) continue;
    const size_t at = kv_offset(slots, context, kv_heads, head_dim, layer, slot, j / head_dim, position) +
                      static_cast<size_t>(j % head_dim);
    keys[at] = k[idx];
    values[at] = v[idx];
  }
}

CX_GLOBAL void swiglu_kernel(float* out, const float* gate, const float* up, int64_t count) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    out[i] = swiglu(gate[i], up[i]);
  }
}

CX_GLOBAL void add_kernel(float* x, const float* y, int64_t count) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    x[i] += y[i];
  }
}

CX_GLOBAL void gather_rows_kernel(float* out, const float* x, const int32_t* rows, int64_t m, int dim) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < m * dim;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    out[i] = x[static_cast<int64_t>(rows[i / dim]) * dim + i % dim];
  }
}

template <int D>
CX_GLOBAL void widen_kernel(float* out, const void* w, int64_t offset, int64_t count) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    out[i] = widen_at<D>(w, offset + i);
  }
}

template <int D>
CX_GLOBAL void narrow_kernel(uint16_t* out, const float* x, int64_t count) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    out[i] = D == kBF16 ? f32_to_bf16(x[i]) : f32_to_f16(x[i]);
  }
}

[[noreturn]] inline void unsupported_dtype(const char* op, DType dtype) {
  throw Error(CX_ERR_UNSUPPORTED_ARCH, std::string("CUDA ") + op + " does not support dtype " + dtype_name(dtype));
}

}  // namespace

#if defined(__CUDACC__)
bool kernel_image_available(std::string* why) {
  cudaFuncAttributes attributes;
  const cudaError_t status = cudaFuncGetAttributes(&attributes, add_kernel);
  if (status == cudaSuccess) return true;
  cudaGetLastError();
  *why = std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status);
  return false;
}
#endif

void launch_embed(float* out, const Tensor& table, const int32_t* tokens, int n, cudaStream_t stream) {
  if (n <= 0) return;
  const dim3 grid(grid_for(table.cols, kThreads, 64), static_cast<unsigned>(n < 65535 ? n : 65535));
  switch (table.dtype) {
    case DType::F32: return launch("embed", embed_kernel<kF32>, grid, kThreads, 0, stream, out, table.data, table.rows, table.cols, tokens, n);
    case DType::F16: return launch("embed", embed_kernel<kF16>, grid, kThreads, 0, stream, out, table.data, table.rows, table.cols, tokens, n);
    case DType::BF16: return launch("embed", embed_kernel<kBF16>, grid, kThreads, 0, stream, out, table.data, table.rows, table.cols, tokens, n);
    default:
      if (dtype_is_quantized(table.dtype)) return launch_embed_quant(out, table, tokens, n, stream);
      unsupported_dtype("embedding", table.dtype);
  }
}

void launch_rmsnorm(float* out, const float* x, const float* weight, int rows, int dim, float eps,
                    cudaStream_t stream) {
  if (rows <= 0 || dim <= 0) return;
  if (dim <= 256) {
    const unsigned blocks = static_cast<unsigned>((rows + 7) / 8);
    launch("rmsnorm", rmsnorm_warp_kernel, blocks, 256, 0, stream, out, x, weight, rows, dim, eps);
    return;
  }
  int threads = ((dim / 4 + 31) / 32) * 32;  // about four elements per thread
  threads = threads < 64 ? 64 : threads > 1024 ? 1024 : threads;
  launch("rmsnorm", rmsnorm_block_kernel, static_cast<unsigned>(rows), static_cast<unsigned>(threads), 0, stream,
         out, x, weight, dim, eps);
}

void launch_add_bias(float* x, const float* bias, int rows, int dim, cudaStream_t stream) {
  const int64_t count = static_cast<int64_t>(rows) * dim;
  if (count <= 0) return;
  launch("add_bias", add_bias_kernel, grid_for(count, kThreads), kThreads, 0, stream, x, bias, count, dim);
}

void launch_rope(float* x, const int32_t* positions, int n, int heads, int head_dim, int rotary_dim,
                 const float* inv_freq, float attention_scale, cudaStream_t stream) {
  const int64_t count = static_cast<int64_t>(n) * heads * (rotary_dim / 2);
  if (count <= 0) return;
  launch("rope", rope_kernel, grid_for(count, kThreads), kThreads, 0, stream, x, positions, static_cast<int64_t>(n),
         heads, head_dim, rotary_dim, inv_freq, attention_scale);
}

void launch_kv_store(const KvCache& cache, int layer, const float* k, const float* v, const int32_t* slots,
                     const int32_t* positions, int n, cudaStream_t stream) {
  const int64_t count = static_cast<int64_t>(n) * cache.kv_dim();
  if (count <= 0) return;
  launch("kv_store", kv_store_kernel, grid_for(count, kThreads), kThreads, 0, stream, cache.keys, cache.values,
         cache.slots, cache.context, cache.kv_heads, cache.head_dim, layer, k, v, slots, positions,
         static_cast<int64_t>(n));
}

void launch_swiglu(float* out, const float* gate, const float* up, int64_t count, cudaStream_t stream) {
  if (count <= 0) return;
  launch("swiglu", swiglu_kernel, grid_for(count, kThreads), kThreads, 0, stream, out, gate, up, count);
}

void launch_add(float* x, const float* y, int64_t count, cudaStream_t stream) {
  if (count <= 0) return;
  launch("add", add_kernel, grid_for(count, kThreads), kThreads, 0, stream, x, y, count);
}

void launch_gather_rows(float* out, const float* x, const int32_t* rows, int m, int dim, cudaStream_t stream) {
  const int64_t count = static_cast<int64_t>(m) * dim;
  if (count <= 0) return;
  launch("gather_rows", gather_rows_kernel, grid_for(count, kThreads), kThreads, 0, stream, out, x, rows,
         static_cast<int64_t>(m), dim);
}

void launch_widen(float* out, const void* w, DType dtype, int64_t offset, int64_t count, cudaStream_t stream) {
  if (count <= 0) return;
  const unsigned grid = grid_for(count, kThreads);
  switch (dtype) {
    case DType::F32: return launch("widen", widen_kernel<kF32>, grid, kThreads, 0, stream, out, w, offset, count);
    case DType::F16: return launch("widen", widen_kernel<kF16>, grid, kThreads, 0, stream, out, w, offset, count);
    case DType::BF16: return launch("widen", widen_kernel<kBF16>, grid, kThreads, 0, stream, out, w, offset, count);
    default:
      if (dtype_is_quantized(dtype)) return launch_dequantize(out, w, dtype, offset, count, stream);
      unsupported_dtype("widen", dtype);
  }
}

void launch_narrow(void* out, const float* x, DType dtype, int64_t count, cudaStream_t stream) {
  if (count <= 0) return;
  const unsigned grid = grid_for(count, kThreads);
  uint16_t* out16 = static_cast<uint16_t*>(out);
  switch (dtype) {
    case DType::F16: return launch("narrow", narrow_kernel<kF16>, grid, kThreads, 0, stream, out16, x, count);
    case DType::BF16: return launch("narrow", narrow_kernel<kBF16>, grid, kThreads, 0, stream, out16, x, count);
    default: unsupported_dtype("narrow", dtype);
  }
}

}  // namespace cx
