// cpu_simd.h — the CPU backend's hot loops, compiled three times (scalar, AVX2 + FMA, AVX-512) from
// one template (simd_impl.h) and picked at run time by CpuIsa. Plain types only: the ISA translation
// units must not instantiate any shared inline code (std templates) under their target pragmas.
#pragma once

#include <stdint.h>

namespace cx {

/** Weight element types the kernels read (matches cx::DType's F32, F16, BF16). */
enum SimdDType : int { kSimdF32 = 0, kSimdF16 = 1, kSimdBf16 = 2 };

/** One ISA's kernels. Every output element is one dot product accumulated in the ISA's vector lanes
 * in k order, then reduced in a fixed order, so it never depends on how rows are blocked. */
struct SimdKernels {
  int isa;  // CpuIsa
  /** out[i·d + r] = x[i]·w[r] for i in [i0, i1), r in [r0, r1); x is [n, k] f32, w is [d, k]. Reuses
   * each weight vector over up to 6 rows of x and each x vector over 4 weight rows (blocked GEMM). */
  void (*matmul)(float* out, const float* x, const void* w, int dtype, int64_t d, int64_t k, int64_t i0,
                 int64_t i1, int64_t r0, int64_t r1);
  /** Σ a[i]·b[i]. */
  float (*dot)(const float* a, const float* b, int64_t n);
  /** Attention of one query head over `count` cached positions: keys/values rows `stride` floats apart. */
  void (*attend)(float* out, const float* q, const float* keys, const float* values, int64_t stride, int count,
                 int head_dim, float* scores);
  /** Sums `bytes` bytes at `data` (the bandwidth probe's inner loop); the result defeats elimination. */
  float (*stream_sum)(const float* data, int64_t count);
};

const SimdKernels& simd_kernels_scalar();
const SimdKernels& simd_kernels_avx2();
const SimdKernels& simd_kernels_avx512();

}  // namespace cx
