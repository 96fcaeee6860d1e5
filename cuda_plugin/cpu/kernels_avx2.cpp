// kernels_avx2.cpp — cpu_simd.h with AVX2 + FMA + F16C (8 f32 lanes), compiled for those
// instructions whatever the build's baseline; used only when cpuid reports them.
#pragma GCC target("avx2,fma,f16c")
#include <immintrin.h>
#include <math.h>

#include "cpu_simd.h"
#include "cx_math.h"

namespace cx {
namespace {

struct V {
  using T = __m256;
  static constexpr int W = 8;
  static T zero() { return _mm256_setzero_ps(); }
  static T one() { return _mm256_set1_ps(1.0f); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static T load_bf16(const uint16_t* p) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  static T load_f16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static float reduce(T a) {
    const __m128 lo = _mm256_castps256_ps128(a);
    const __m128 hi = _mm256_extractf128_ps(a, 1);
    __m128 s = _mm_add_ps(lo, hi);
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
};

#include "simd_impl.h"

const SimdKernels kKernels = {2, matmul_impl, matmul_quant_avx2, dot_impl, attend_avx2, stream_sum_impl,
                             attend_segment_avx2, attend_finish_avx2};

}  // namespace

const SimdKernels& simd_kernels_avx2() { return kKernels; }

}  // namespace cx
