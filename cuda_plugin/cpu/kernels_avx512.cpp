// kernels_avx512.cpp — cpu_simd.h with AVX-512 F/BW/VL (16 f32 lanes), compiled for those
// instructions whatever the build's baseline; used only when cpuid reports them. The matmul and dot
// loops are simd_impl.h's, attention attend_impl.h's, both over V below.
#pragma GCC target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")
#include <immintrin.h>
#include <math.h>

#include <algorithm>
#include <vector>

#include "cpu_simd.h"
#include "cx_math.h"
#include "transpose_words.h"

namespace cx {
namespace {

// Zero-masked forms with a full mask: the unmasked ones of GCC 12 start from an "undefined" register
// that -Wmaybe-uninitialized reports once inlined (GCC bug 105593); the instructions are the same.
constexpr __mmask16 kAll = 0xffff;

struct V {
  using T = __m512;
  static constexpr int W = 16;
  static constexpr int kRowsX = 6;  // 6 × 4 accumulators + 4 weights + 1 activation of 32 zmm
  static constexpr bool kBf16Chain = false;  // bf16 rows in the lanes, like f32 and f16
  static T zero() { return _mm512_setzero_ps(); }
  static T one() { return _mm512_set1_ps(1.0f); }
  static T set1(float x) { return _mm512_set1_ps(x); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, T a) { _mm512_storeu_ps(p, a); }
  static T load_bf16(const uint16_t* p) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(kAll, _mm512_maskz_cvtepu16_epi32(kAll, h), 16));
  }
  // The panel layout's words (cpu_simd.h): the bf16 in their low halves, or in their high halves.
  static T panel_low(const uint32_t* p) {
    return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(kAll, _mm512_loadu_si512(p), 16));
  }
  static T panel_high(const uint32_t* p) {
    return _mm512_castsi512_ps(_mm512_maskz_and_epi32(kAll, _mm512_loadu_si512(p),
                                                      _mm512_set1_epi32(static_cast<int>(0xffff0000u))));
  }
  static T load_f16(const uint16_t* p) {
    return _mm512_maskz_cvtph_ps(kAll, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T max(T a, T b) { return _mm512_maskz_max_ps(kAll, a, b); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T round(T a) { return _mm512_maskz_roundscale_ps(kAll, a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // p · 2^n for integral n (exact while the result is normal).
  static T scale_pow2(T p, T n) { return _mm512_maskz_scalef_ps(kAll, p, n); }
  // v where x >= limit, else 0.
  static T zero_below(T v, T x, T limit) { return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, limit, _CMP_GE_OQ), v); }
  // The sum of the lanes in a fixed order: lanes i and i + 8, then i + 4, i + 2, i + 1.
  static float reduce(T a) {
    const T s16 = _mm512_add_ps(a, _mm512_mask_shuffle_f32x4(a, kAll, a, a, _MM_SHUFFLE(1, 0, 3, 2)));
    const T s8 = _mm512_add_ps(s16, _mm512_mask_shuffle_f32x4(s16, kAll, s16, s16, _MM_SHUFFLE(2, 3, 0, 1)));
    __m128 s = _mm512_mask_extractf32x4_ps(_mm_setzero_ps(), 0xf, s8, 0);
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
  // Lane t = reduce(a[t]) for 16 vectors: the same pairs added at each level, 16 sums at a time.
  static T reduce_lanes(const T* a) {
    T w[8], u[4], z[2];
    for (int k = 0; k < 8; k++) {  // lanes i + 8: [a0 | a1] halves side by side
      const T x = a[2 * k], y = a[2 * k + 1];
      w[k] = _mm512_add_ps(_mm512_mask_shuffle_f32x4(x, kAll, x, y, _MM_SHUFFLE(1, 0, 1, 0)),
                           _mm512_mask_shuffle_f32x4(x, kAll, x, y, _MM_SHUFFLE(3, 2, 3, 2)));
    }
    for (int k = 0; k < 4; k++) {  // lanes i + 4: one 128-bit quarter per source
      const T x = w[2 * k], y = w[2 * k + 1];
      u[k] = _mm512_add_ps(_mm512_mask_shuffle_f32x4(x, kAll, x, y, _MM_SHUFFLE(2, 0, 2, 0)),
                           _mm512_mask_shuffle_f32x4(x, kAll, x, y, _MM_SHUFFLE(3, 1, 3, 1)));
    }
    for (int k = 0; k < 2; k++) {  // lanes i + 2
      const __m512d x = _mm512_castps_pd(u[2 * k]), y = _mm512_castps_pd(u[2 * k + 1]);
      z[k] = _mm512_add_ps(_mm512_castpd_ps(_mm512_maskz_unpacklo_pd(0xff, x, y)),
                           _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(0xff, x, y)));
    }
    // lanes i + 1; then source t sits at lane 4·(t % 4) + t / 4
    const T sums = _mm512_add_ps(_mm512_mask_shuffle_ps(z[0], kAll, z[0], z[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm512_mask_shuffle_ps(z[0], kAll, z[0], z[1], _MM_SHUFFLE(3, 1, 3, 1)));
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    return _mm512_maskz_permutexvar_ps(kAll, order, sums);
  }
};

#include "simd_impl.h"
#include "attend_impl.h"

const SimdKernels kKernels = {3, matmul_impl, matmul_quant_avx512, dot_impl, attend_impl, stream_sum_impl,
                             attend_segment_impl, attend_finish_impl, V::kBf16Chain};

}  // namespace

const SimdKernels& simd_kernels_avx512() { return kKernels; }

}  // namespace cx
