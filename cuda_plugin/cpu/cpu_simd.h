// cpu_simd.h — the CPU backend's hot loops, compiled three times (scalar, AVX2 + FMA, AVX-512) from
// one template (simd_impl.h) and picked at run time by CpuIsa. Plain types only: the ISA translation
// units must not instantiate any shared inline code (std templates) under their target pragmas.
#pragma once

#include <stdint.h>

namespace cx {

/** Weight element types the kernels read (matches cx::DType's F32, F16, BF16). */
enum SimdDType : int { kSimdF32 = 0, kSimdF16 = 1, kSimdBf16 = 2 };

/** Bytes per element of a SimdDType. */
constexpr int64_t simd_dtype_bytes(int dtype) { return dtype == kSimdF32 ? 4 : 2; }

/** The packed weight layout: rows in groups of kPackRows whose kPackCols-column blocks are
 * interleaved ([block][row][column] within a group), so the kernels, which read kPackRows rows at a
 * time, stream one run of memory instead of four short rows the hardware prefetcher keeps losing.
 * Rows past the last full group stay plain; a tensor is packed only when cols % kPackCols == 0. */
constexpr int64_t kPackRows = 4;
constexpr int64_t kPackCols = 16;

/** The element index of (row, col) in a packed tensor of `rows` × `cols`. */
constexpr int64_t packed_index(int64_t row, int64_t col, int64_t rows, int64_t cols) {
  return row >= rows / kPackRows * kPackRows ? row * cols + col
      : (row - row % kPackRows) * cols + col / kPackCols * (kPackRows * kPackCols) + row % kPackRows * kPackCols
          + col % kPackCols;
}

/** A block of weight rows as the kernels read it. */
struct SimdWeights {
  const void* rows;  // the block's first row; a multiple of kPackRows when packed
  int dtype;         // SimdDType
  bool packed;       // the packed layout above (else plain row-major)
  int64_t cols;      // the tensor's columns (k): elements from one row to the next
};

/** One ISA's kernels. Every output element is one dot product accumulated in the ISA's vector lanes
 * in k order, then reduced in a fixed order, so it never depends on how rows are blocked. */
struct SimdKernels {
  int isa;  // CpuIsa
  /** out[i·ldo + r] = x[i·ldx ..] · w row r over k = w.cols columns, for i < rows_x and r < rows_w; x
   * is f32. Each dot product is summed as `chunks` equal consecutive slices of k (each in the vector
   * lanes, then reduced) added in pairwise_sum's order (cx_math.h). Reuses each weight vector over
   * up to 6 rows of x and each x vector over 4 weight rows (blocked GEMM). */
  void (*matmul)(float* out, int64_t ldo, const float* x, int64_t ldx, const SimdWeights& w, int chunks,
                 int64_t rows_x, int64_t rows_w);
  /** Σ a[i]·b[i]. */
  float (*dot)(const float* a, const float* b, int64_t n);
  /** Attention of `group` query heads (q, out: group × head_dim) that share one KV head over `count`
   * cached positions: keys/values are count × head_dim, contiguous (the KV cache is head-major);
   * `scores` holds group × count floats. */
  void (*attend)(float* out, const float* q, int group, const float* keys, const float* values,
                 int count, int head_dim, float* scores);
  /** Sums `bytes` bytes at `data` (the bandwidth probe's inner loop); the result defeats elimination. */
  float (*stream_sum)(const float* data, int64_t count);
};

const SimdKernels& simd_kernels_scalar();
const SimdKernels& simd_kernels_avx2();
const SimdKernels& simd_kernels_avx512();

}  // namespace cx
