// kernels_matmul.cuh — out[n, d] = x[n, k] · W[d, k]ᵀ with W in f32, f16 or bf16 and f32
// accumulation. Decode (n <= 8) runs a matvec kernel that streams each weight row once for the
// whole batch: a warp per row, 16-byte loads, per-lane partial sums reduced with shuffles. Larger
// batches go to cuBLAS (cublas_gemm.cu) or, without libcublas, to the tiled kernel here.
// Compiled by kernels_matmul.cu (nvcc) and kernels_check.cpp (host emulation).
#pragma once

#include "kernels.h"

namespace cx {
namespace {

constexpr int kMatvecThreads = 256;  // 8 warps: 8 weight rows per block
constexpr int kGemmTile = 64;        // 64 x-rows × 64 weight-rows per block
constexpr int kGemmTileK = 16;
constexpr int kGemmThreads = 256;    // each thread owns a 4 × 4 patch of the tile

template <int N>
CX_DEVICE void fma8(float (&acc)[N], const float* w8, const float* x, int64_t k, int64_t at) {
  CX_UNROLL
  for (int i = 0; i < N; i++) {
    const float4 a = load_float4(x + i * k + at);
    const float4 b = load_float4(x + i * k + at + 4);
    acc[i] += w8[0] * a.x + w8[1] * a.y + w8[2] * a.z + w8[3] * a.w + w8[4] * b.x + w8[5] * b.y + w8[6] * b.z +
              w8[7] * b.w;
  }
}

/** `kVec`: k % 8 == 0 and 16-byte aligned rows, so each lane reads 8 weights per step. */
template <int D, int N, bool kVec>
CX_GLOBAL void CX_BOUNDS(256) matvec_kernel(float* out, const float* x, const void* w, int64_t d, int64_t k) {
  const int lane = static_cast<int>(threadIdx.x) & 31;
  const int64_t r = static_cast<int64_t>(blockIdx.x) * (kMatvecThreads / 32) + (threadIdx.x >> 5);
  if (r >= d) return;  // whole warps only
  float acc[N];
  CX_UNROLL
  for (int i = 0; i < N; i++) acc[i] = 0.0f;
  if constexpr (kVec) {
    const int64_t steps = k / 8;
    float w8[8];
    for (int64_t s = lane; s < steps; s += 32) {
      if constexpr (D == kF32) {
        const float* row = static_cast<const float*>(w) + r * k + s * 8;
        const float4 a = load_float4(row);
        const float4 b = load_float4(row + 4);
        w8[0] = a.x, w8[1] = a.y, w8[2] = a.z, w8[3] = a.w, w8[4] = b.x, w8[5] = b.y, w8[6] = b.z, w8[7] = b.w;
      } else {
        widen8<D>(load_uint4(static_cast<const uint16_t*>(w) + r * k + s * 8), w8);
      }
      fma8<N>(acc, w8, x, k, s * 8);
    }
  } else {
    for (int64_t j = lane; j < k; j += 32) {
      const float wj = widen_at<D>(w, r * k + j);
      CX_UNROLL
      for (int i = 0; i < N; i++) acc[i] += wj * x[i * k + j];
    }
  }
  CX_UNROLL
  for (int i = 0; i < N; i++) acc[i] = warp_sum(acc[i]);
  if (lane == 0) {
    CX_UNROLL
    for (int i = 0; i < N; i++) out[i * d + r] = acc[i];
  }
}

/** Grid (ceil(n/64), ceil(d/64)); x and W tiles of 64 × 16 staged in shared memory, k-major. */
template <int D>
CX_GLOBAL void CX_BOUNDS(256) gemm_tiled_kernel(float* out, const float* x, const void* w, int64_t n, int64_t d,
                                                int64_t k, int64_t out_stride) {
  CX_SHARED float x_tile[kGemmTileK][kGemmTile + 4];
  CX_SHARED float w_tile[kGemmTileK][kGemmTile + 4];
  const int tid = static_cast<int>(threadIdx.x);
  const int ty = tid / 16;  // 4 x-rows: ty*4 .. ty*4+3
  const int tx = tid % 16;  // 4 weight rows: tx*4 .. tx*4+3
  const int64_t m0 = static_cast<int64_t>(blockIdx.x) * kGemmTile;
  const int64_t d0 = static_cast<int64_t>(blockIdx.y) * kGemmTile;
  float acc[4][4];
  CX_UNROLL
  for (int i = 0; i < 4; i++) {
    CX_UNROLL
    for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;
  }
  for (int64_t k0 = 0; k0 < k; k0 += kGemmTileK) {
    for (int e = tid; e < kGemmTile * kGemmTileK; e += kGemmThreads) {
      const int row = e / kGemmTileK;
      const int kk = e % kGemmTileK;
      const int64_t column = k0 + kk;
      const int64_t x_row = m0 + row;
      const int64_t w_row = d0 + row;
      x_tile[kk][row] = x_row < n && column < k ? x[x_row * k + column] : 0.0f;
      w_tile[kk][row] = w_row < d && column < k ? widen_at<D>(w, w_row * k + column) : 0.0f;
    }
    CX_SYNC();
    CX_UNROLL
    for (int kk = 0; kk < kGemmTileK; kk++) {
      float a[4];
      float b[4];
      CX_UNROLL
      for (int i = 0; i < 4; i++) a[i] = x_tile[kk][ty * 4 + i];
      CX_UNROLL
      for (int j = 0; j < 4; j++) b[j] = w_tile[kk][tx * 4 + j];
      CX_UNROLL
      for (int i = 0; i < 4; i++) {
        CX_UNROLL
        for (int j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];
      }
    }
    CX_SYNC();
  }
  CX_UNROLL
  for (int i = 0; i < 4; i++) {
    const int64_t row = m0 + ty * 4 + i;
    if (row >= n) continue;
    CX_UNROLL
    for (int j = 0; j < 4; j++) {
      const int64_t column = d0 + tx * 4 + j;
      if (column < d) out[row * out_stride + column] = acc[i][j];
    }
  }
}

template <int D, int N>
void launch_matvec_typed(float* out, const float* x, const Tensor& w, cudaStream_t stream) {
  const unsigned blocks = static_cast<unsigned>((w.rows + kMatvecThreads / 32 - 1) / (kMatvecThreads / 32));
  const bool vec = w.cols % 8 == 0 && reinterpret_cast<uintptr_t>(w.data) % 16 == 0 &&
                   reinterpret_cast<uintptr_t>(x) % 16 == 0;
  auto kernel = vec ? matvec_kernel<D, N, true> : matvec_kernel<D, N, false>;
  launch("matvec", kernel, blocks, kMatvecThreads, 0, stream, out, x, w.data, w.rows, w.cols);
}

template <int D>
void launch_matvec_dtype(float* out, const float* x, const Tensor& w, int n, cudaStream_t stream) {
  switch (n) {
    case 1: return launch_matvec_typed<D, 1>(out, x, w, stream);
    case 2: return launch_matvec_typed<D, 2>(out, x, w, stream);
    case 3: return launch_matvec_typed<D, 3>(out, x, w, stream);
    case 4: return launch_matvec_typed<D, 4>(out, x, w, stream);
    case 5: return launch_matvec_typed<D, 5>(out, x, w, stream);
    case 6: return launch_matvec_typed<D, 6>(out, x, w, stream);
    case 7: return launch_matvec_typed<D, 7>(out, x, w, stream);
    default: return launch_matvec_typed<D, 8>(out, x, w, stream);
  }
}

}  // namespace

void launch_matvec(float* out, const float* x, const Tensor& w, int n, cudaStream_t stream) {
  if (n < 1 || n > kMatvecMaxRows) {
    throw Error(CX_ERR_INTERNAL, "matvec takes 1.." + std::to_string(kMatvecMaxRows) + " rows, got " + std::to_string(n));
  }
  switch (w.dtype) {
    case DType::F32: return launch_matvec_dtype<kF32>(out, x, w, n, stream);
    case DType::F16: return launch_matvec_dtype<kF16>(out, x, w, n, stream);
    case DType::BF16: return launch_matvec_dtype<kBF16>(out, x, w, n, stream);
    default:
      if (dtype_is_quantized(w.dtype)) return launch_matvec_quant(out, x, w, n, stream);
      throw Error(CX_ERR_UNSUPPORTED_ARCH, std::string("CUDA matmul does not support dtype ") + dtype_name(w.dtype));
  }
}

void launch_gemm_tiled(float* out, const float* x, const Tensor& w, int n, cudaStream_t stream, int64_t out_stride) {
  if (n <= 0 || w.rows <= 0) return;
  const int64_t row_tiles = (w.rows + kGemmTile - 1) / kGemmTile;
  if (row_tiles > 65535) throw Error(CX_ERR_UNSUPPORTED_ARCH, "weight too tall for the tiled GEMM");
  const dim3 grid(static_cast<unsigned>((n + kGemmTile - 1) / kGemmTile), static_cast<unsigned>(row_tiles));
  const int64_t rows = n;
  const int64_t stride = out_stride > 0 ? out_stride : w.rows;
  switch (w.dtype) {
    case DType::F32: return launch("gemm_tiled", gemm_tiled_kernel<kF32>, grid, kGemmThreads, 0, stream, out, x, w.data, rows, w.rows, w.cols, stride);
    case DType::F16: return launch("gemm_tiled", gemm_tiled_kernel<kF16>, grid, kGemmThreads, 0, stream, out, x, w.data, rows, w.rows, w.cols, stride);
    case DType::BF16: return launch("gemm_tiled", gemm_tiled_kernel<kBF16>, grid, kGemmThreads, 0, stream, out, x, w.data, rows, w.rows, w.cols, stride);
    default: throw Error(CX_ERR_UNSUPPORTED_ARCH, std::string("CUDA matmul does not support dtype ") + dtype_name(w.dtype));
  }
}

}  // namespace cx
