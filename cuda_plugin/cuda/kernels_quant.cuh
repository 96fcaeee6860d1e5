// kernels_quant.cuh — the kernels for block-quantized weights (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K; layouts in
// src/quant.h): embedding rows, the decode matvec, and dequantization to f32 for the GEMM paths. Every
// weight value comes from quant.h's dequantize_* functions, the code the CPU backend and the loader run,
// so a dequantized weight is the same float on every backend. Compiled by kernels_quant.cu (nvcc) and
// kernels_check.cpp (host emulation).
#pragma once

#include "kernels.h"
#include "quant.h"

namespace cx {
namespace {

constexpr int kQuantThreads = 256;        // embed and dequantize: one thread per block
constexpr int kQuantMatvecThreads = 256;  // 8 warps

/** The block type, its weight count and its quant.h decoder, by KernelDtype. */
template <int D>
struct QuantFormat;
template <>
struct QuantFormat<kQ8_0> {
  using Block = BlockQ8_0;
  static constexpr int kElements = kQk8_0;
  CX_DEVICE static void dequantize(const Block* b, float* y) { dequantize_q8_0(b, y); }
};
template <>
struct QuantFormat<kQ4_0> {
  using Block = BlockQ4_0;
  static constexpr int kElements = kQk4_0;
  CX_DEVICE static void dequantize(const Block* b, float* y) { dequantize_q4_0(b, y); }
};
template <>
struct QuantFormat<kQ4_K> {
  using Block = BlockQ4_K;
  static constexpr int kElements = kQkK;
  CX_DEVICE static void dequantize(const Block* b, float* y) { dequantize_q4_k(b, y); }
};
template <>
struct QuantFormat<kQ5_K> {
  using Block = BlockQ5_K;
  static constexpr int kElements = kQkK;
  CX_DEVICE static void dequantize(const Block* b, float* y) { dequantize_q5_k(b, y); }
};
template <>
struct QuantFormat<kQ6_K> {
  using Block = BlockQ6_K;
  static constexpr int kElements = kQkK;
  CX_DEVICE static void dequantize(const Block* b, float* y) { dequantize_q6_k(b, y); }
};

/** Rows of the table as f32: a thread per block of a row, decoding straight into `out`. Ids outside
 * [0, vocab) give NaN rows, as for the dense tables. */
template <int D>
CX_GLOBAL void embed_quant_kernel(float* out, const void* table, int64_t vocab, int64_t row_blocks,
                                  const int32_t* tokens, int n) {
  using Format = QuantFormat<D>;
  const int64_t cols = row_blocks * Format::kElements;
  for (int64_t r = blockIdx.y; r < n; r += gridDim.y) {
    const int32_t token = tokens[r];
    const bool valid = token >= 0 && token < vocab;
    const auto* row = static_cast<const typename Format::Block*>(table) + (valid ? token : 0) * row_blocks;
    for (int64_t b = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; b < row_blocks;
         b += static_cast<int64_t>(gridDim.x) * blockDim.x) {
      float* y = out + r * cols + b * Format::kElements;
      if (valid) {
        Format::dequantize(row + b, y);
      } else {
        for (int j = 0; j < Format::kElements; j++) y[j] = NAN;
      }
    }
  }
}

/** out = the `count` blocks of w from block `first`, dequantized (the f32 slice the GEMM paths multiply). */
template <int D>
CX_GLOBAL void dequantize_kernel(float* out, const void* w, int64_t first, int64_t count) {
  using Format = QuantFormat<D>;
  const auto* blocks = static_cast<const typename Format::Block*>(w) + first;
  for (int64_t b = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; b < count;
       b += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    Format::dequantize(blocks + b, out + b * Format::kElements);
  }
}

/** out[i, r] = x[i] · W[r] for N ≤ 8 activation rows. A warp serves 32 / lanes_per_row weight rows; the
 * `lanes_per_row` lanes of a row walk its blocks (decoding each with quant.h into registers/local
 * memory), keep N f32 sums, and reduce them with shuffles inside their lane group. Each weight block is
 * read once for the whole batch. lanes_per_row is a power of two, 1..32. */
template <int D, int N>
CX_GLOBAL void CX_BOUNDS(256) matvec_quant_kernel(float* out, const float* x, const void* w, int64_t d, int64_t k,
                                                  int lanes_per_row) {
  using Format = QuantFormat<D>;
  const int lane = static_cast<int>(threadIdx.x) & 31;
  const int rows_per_warp = 32 / lanes_per_row;
  const int64_t warp = static_cast<int64_t>(blockIdx.x) * (kQuantMatvecThreads / 32) + (threadIdx.x >> 5);
  if (warp * rows_per_warp >= d) return;  // whole warps only
  const int64_t r = warp * rows_per_warp + lane / lanes_per_row;
  const int part = lane % lanes_per_row;
  const int64_t row_blocks = k / Format::kElements;
  // A 32-weight block unrolled whole stays in registers; a 256-weight one lives in local memory.
  constexpr int kDotUnroll = Format::kElements == 32 ? 32 : 8;
  float acc[N];
  CX_UNROLL
  for (int i = 0; i < N; i++) acc[i] = 0.0f;
  if (r < d) {
    const auto* row = static_cast<const typename Format::Block*>(w) + r * row_blocks;
    float y[Format::kElements];
    for (int64_t b = part; b < row_blocks; b += lanes_per_row) {
      Format::dequantize(row + b, y);
      // Weight j is loaded once for all N rows (y is in local memory for the 256-weight K blocks); the
      // block's partial sums are added to the row totals, so long rows do not accumulate in one float.
      const float* xb = x + b * Format::kElements;
      float part[N];
      CX_UNROLL
      for (int i = 0; i < N; i++) part[i] = 0.0f;
      CX_UNROLL_BY(kDotUnroll)
      for (int j = 0; j < Format::kElements; j++) {
        const float wj = y[j];
        CX_UNROLL
        for (int i = 0; i < N; i++) part[i] += wj * xb[i * k + j];
      }
      CX_UNROLL
      for (int i = 0; i < N; i++) acc[i] += part[i];
    }
  }
  // Every lane takes part in every shuffle (rows past d contribute zeros); masks below lanes_per_row
  // stay inside a row's lane group.
  CX_UNROLL
  for (int i = 0; i < N; i++) {
    for (int mask = 16; mask > 0; mask >>= 1) {
      const float other = shfl_xor(acc[i], mask);
      if (mask < lanes_per_row) acc[i] += other;
    }
  }
  if (r < d && part == 0) {
    CX_UNROLL
    for (int i = 0; i < N; i++) out[i * d + r] = acc[i];
  }
}

/** Lanes per weight row: enough to cover a row's blocks, at most a warp (a power of two). */
inline int quant_lanes_per_row(int64_t row_blocks) {
  int lanes = 1;
  while (lanes < 32 && lanes < row_blocks) lanes *= 2;
  return lanes;
}

template <int D, int N>
void launch_matvec_quant_typed(float* out, const float* x, const Tensor& w, cudaStream_t stream) {
  const int lanes = quant_lanes_per_row(w.cols / QuantFormat<D>::kElements);
  const int64_t rows_per_block = static_cast<int64_t>(kQuantMatvecThreads / 32) * (32 / lanes);
  const int64_t blocks = (w.rows + rows_per_block - 1) / rows_per_block;
  if (blocks > 2147483647) throw Error(CX_ERR_UNSUPPORTED_ARCH, "weight too tall for the quantized matvec");
  launch("matvec_quant", matvec_quant_kernel<D, N>, static_cast<unsigned>(blocks), kQuantMatvecThreads, 0, stream, out,
         x, w.data, w.rows, w.cols, lanes);
}

template <int D>
void launch_matvec_quant_format(float* out, const float* x, const Tensor& w, int n, cudaStream_t stream) {
  switch (n) {
    case 1: return launch_matvec_quant_typed<D, 1>(out, x, w, stream);
    case 2: return launch_matvec_quant_typed<D, 2>(out, x, w, stream);
    case 3: return launch_matvec_quant_typed<D, 3>(out, x, w, stream);
    case 4: return launch_matvec_quant_typed<D, 4>(out, x, w, stream);
    case 5: return launch_matvec_quant_typed<D, 5>(out, x, w, stream);
    case 6: return launch_matvec_quant_typed<D, 6>(out, x, w, stream);
    case 7: return launch_matvec_quant_typed<D, 7>(out, x, w, stream);
    default: return launch_matvec_quant_typed<D, 8>(out, x, w, stream);
  }
}

template <int D>
void launch_embed_quant_format(float* out, const Tensor& table, const int32_t* tokens, int n, cudaStream_t stream) {
  const int64_t row_blocks = table.cols / QuantFormat<D>::kElements;
  const dim3 grid(grid_for(row_blocks, kQuantThreads, 64), static_cast<unsigned>(n < 65535 ? n : 65535));
  launch("embed_quant", embed_quant_kernel<D>, grid, kQuantThreads, 0, stream, out, table.data, table.rows, row_blocks,
         tokens, n);
}

template <int D>
void launch_dequantize_format(float* out, const void* w, int64_t first, int64_t count, cudaStream_t stream) {
  launch("dequantize", dequantize_kernel<D>, grid_for(count, kQuantThreads), kQuantThreads, 0, stream, out, w, first,
         count);
}

/** Throws unless `cols` is a whole number of `dtype` blocks (the kernels index whole blocks). */
void require_whole_blocks(const char* op, DType dtype, int64_t cols) {
  const int64_t block = dtype_block_elements(dtype);
  if (block <= 0 || cols % block != 0) {
    throw Error(CX_ERR_INTERNAL, std::string("CUDA ") + op + ": " + std::to_string(cols) + " columns of " +
                                     dtype_name(dtype) + " are not whole blocks of " + std::to_string(block));
  }
}

}  // namespace

void launch_embed_quant(float* out, const Tensor& table, const int32_t* tokens, int n, cudaStream_t stream) {
  if (n <= 0) return;
  require_whole_blocks("embedding", table.dtype, table.cols);
  switch (table.dtype) {
    case DType::Q8_0: return launch_embed_quant_format<kQ8_0>(out, table, tokens, n, stream);
    case DType::Q4_0: return launch_embed_quant_format<kQ4_0>(out, table, tokens, n, stream);
    case DType::Q4_K: return launch_embed_quant_format<kQ4_K>(out, table, tokens, n, stream);
    case DType::Q5_K: return launch_embed_quant_format<kQ5_K>(out, table, tokens, n, stream);
    case DType::Q6_K: return launch_embed_quant_format<kQ6_K>(out, table, tokens, n, stream);
    default:
      throw Error(CX_ERR_UNSUPPORTED_ARCH, std::string("CUDA embedding does not support dtype ") + dtype_name(table.dtype));
  }
}

void launch_matvec_quant(float* out, const float* x, const Tensor& w, int n, cudaStream_t stream) {
  require_whole_blocks("matmul", w.dtype, w.cols);
  switch (w.dtype) {
    case DType::Q8_0: return launch_matvec_quant_format<kQ8_0>(out, x, w, n, stream);
    case DType::Q4_0: return launch_matvec_quant_format<kQ4_0>(out, x, w, n, stream);
    case DType::Q4_K: return launch_matvec_quant_format<kQ4_K>(out, x, w, n, stream);
    case DType::Q5_K: return launch_matvec_quant_format<kQ5_K>(out, x, w, n, stream);
    case DType::Q6_K: return launch_matvec_quant_format<kQ6_K>(out, x, w, n, stream);
    default:
      throw Error(CX_ERR_UNSUPPORTED_ARCH, std::string("CUDA matmul does not support dtype ") + dtype_name(w.dtype));
  }
}

void launch_dequantize(float* out, const void* w, DType dtype, int64_t offset, int64_t count, cudaStream_t stream) {
  if (count <= 0) return;
  const int64_t block = dtype_block_elements(dtype);
  if (block <= 1 || offset % block != 0 || count % block != 0) {
    throw Error(CX_ERR_INTERNAL, std::string("CUDA dequantize of ") + dtype_name(dtype) + ": elements [" +
                                     std::to_string(offset) + ", +" + std::to_string(count) +
                                     ") are not whole blocks");
  }
  const int64_t first = offset / block;
  const int64_t blocks = count / block;
  switch (dtype) {
    case DType::Q8_0: return launch_dequantize_format<kQ8_0>(out, w, first, blocks, stream);
    case DType::Q4_0: return launch_dequantize_format<kQ4_0>(out, w, first, blocks, stream);
    case DType::Q4_K: return launch_dequantize_format<kQ4_K>(out, w, first, blocks, stream);
    case DType::Q5_K: return launch_dequantize_format<kQ5_K>(out, w, first, blocks, stream);
    case DType::Q6_K: return launch_dequantize_format<kQ6_K>(out, w, first, blocks, stream);
    default: throw Error(CX_ERR_UNSUPPORTED_ARCH, std::string("CUDA dequantize does not support dtype ") + dtype_name(dtype));
  }
}

}  // namespace cx
