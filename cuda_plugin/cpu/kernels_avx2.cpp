// kernels_avx2.cpp — cpu_simd.h with AVX2 + FMA + F16C (8 f32 lanes), compiled for those
// instructions whatever the build's baseline; used only when cpuid reports them. The matmul and dot
// loops are simd_impl.h's, attention attend_impl.h's, both over V below.
#pragma GCC target("avx2,fma,f16c")
#include <immintrin.h>
#include <math.h>

#include <algorithm>
#include <vector>

#include "cpu_simd.h"
#include "cx_math.h"
#include "transpose_words.h"

namespace cx {
namespace {

struct V {
  using T = __m256;
  static constexpr int W = 8;
  static constexpr int kRowsX = 3;  // 3 × 4 accumulators + 3 activations + 1 weight: all 16 ymm; 6 rows spilled
  static constexpr bool kBf16Chain = true;  // every bf16 row in panel_impl.h's order (the backend panels bf16 for AVX2)
  static T zero() { return _mm256_setzero_ps(); }
  static T one() { return _mm256_set1_ps(1.0f); }
  static T set1(float x) { return _mm256_set1_ps(x); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, T a) { _mm256_storeu_ps(p, a); }
  static T load_bf16(const uint16_t* p) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  // The panel layout's words (cpu_simd.h): the bf16 in their low halves, or in their high halves.
  static T panel_low(const uint32_t* p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)), 16));
  }
  static T panel_high(const uint32_t* p) {
    const __m256i high = _mm256_set1_epi32(static_cast<int>(0xffff0000u));
    return _mm256_castsi256_ps(_mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)), high));
  }
  static T load_f16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T max(T a, T b) { return _mm256_max_ps(a, b); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T round(T a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // p · 2^n for integral n in [−126, 127]: 2^n built in the exponent field (exact while normal).
  static T scale_pow2(T p, T n) {
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
  }
  // v where x >= limit, else 0.
  static T zero_below(T v, T x, T limit) { return _mm256_and_ps(_mm256_cmp_ps(x, limit, _CMP_GE_OQ), v); }
  // The sum of the lanes in a fixed order: lanes i and i + 4, then i + 2, i + 1.
  static float reduce(T a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
  // Lane t = reduce(a[t]) for 8 vectors: the same pairs added at each level, 8 sums at a time.
  static T reduce_lanes(const T* a) {
    T w[4], u[2];
    for (int k = 0; k < 4; k++) {  // lanes i + 4: [a0 | a1] halves side by side
      const T x = a[2 * k], y = a[2 * k + 1];
      w[k] = _mm256_add_ps(_mm256_permute2f128_ps(x, y, 0x20), _mm256_permute2f128_ps(x, y, 0x31));
    }
    for (int k = 0; k < 2; k++) {  // lanes i + 2
      const __m256d x = _mm256_castps_pd(w[2 * k]), y = _mm256_castps_pd(w[2 * k + 1]);
      u[k] = _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(x, y)), _mm256_castpd_ps(_mm256_unpackhi_pd(x, y)));
    }
    // lanes i + 1; then source t sits at lane 4·(t % 2) + t / 2
    const T sums = _mm256_add_ps(_mm256_shuffle_ps(u[0], u[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm256_shuffle_ps(u[0], u[1], _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm256_permutevar8x32_ps(sums, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  }
};

#include "simd_impl.h"
#include "attend_impl.h"

const SimdKernels kKernels = {2, matmul_impl, matmul_quant_avx2, dot_impl, attend_impl, stream_sum_impl,
                             attend_segment_impl, attend_finish_impl, V::kBf16Chain};

}  // namespace

const SimdKernels& simd_kernels_avx2() { return kKernels; }

}  // namespace cx
