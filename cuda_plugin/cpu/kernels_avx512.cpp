// kernels_avx512.cpp — cpu_simd.h with AVX-512 F/BW/VL (16 f32 lanes), compiled for those
// instructions whatever the build's baseline; used only when cpuid reports them.
#pragma GCC target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")
#include <immintrin.h>
#include <math.h>

#include "cpu_simd.h"
#include "cx_math.h"

namespace cx {
namespace {

// Zero-masked forms with a full mask: the unmasked ones of GCC 12 start from an "undefined" register
// that -Wmaybe-uninitialized reports once inlined (GCC bug 105593); the instructions are the same.
constexpr __mmask16 kAll = 0xffff;

struct V {
  using T = __m512;
  static constexpr int W = 16;
  static T zero() { return _mm512_setzero_ps(); }
  static T one() { return _mm512_set1_ps(1.0f); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static T load_bf16(const uint16_t* p) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(kAll, _mm512_maskz_cvtepu16_epi32(kAll, h), 16));
  }
  static T load_f16(const uint16_t* p) {
    return _mm512_maskz_cvtph_ps(kAll, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static float reduce(T a) {
    // Halves of 256, then 128 bits, then the 4 lanes: a fixed order. (The masked forms: GCC 12's
    // unmasked ones start from `_mm512_undefined_ps()`, which -Wmaybe-uninitialized flags here.)
    const T s16 = _mm512_add_ps(a, _mm512_mask_shuffle_f32x4(a, 0xffff, a, a, _MM_SHUFFLE(1, 0, 3, 2)));
    const T s8 = _mm512_add_ps(s16, _mm512_mask_shuffle_f32x4(s16, 0xffff, s16, s16, _MM_SHUFFLE(2, 3, 0, 1)));
    __m128 s = _mm512_mask_extractf32x4_ps(_mm_setzero_ps(), 0xf, s8, 0);
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
};

#include "simd_impl.h"

const SimdKernels kKernels = {3, matmul_impl, matmul_quant_avx512, dot_impl, attend_avx512, stream_sum_impl,
                             attend_segment_avx512, attend_finish_avx512};

}  // namespace

const SimdKernels& simd_kernels_avx512() { return kKernels; }

}  // namespace cx
