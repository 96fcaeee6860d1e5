// quant_kernels_avx2.cpp — cpu_simd.h's matmul_quant with AVX2 (256-bit integer lanes: maddubs +
// madd, no VNNI), compiled for those instructions whatever the build's baseline; used only when
// cpuid reports them. Same results as quant_kernels_scalar.cpp, bit for bit.
#pragma GCC target("avx2,fma,f16c")
#include <immintrin.h>
#include <math.h>

#include "cpu_simd.h"
#include "cx_math.h"
#include "quant.h"

namespace cx {
namespace {

struct P {
  using I8 = __m256i;
  using I16 = __m256i;
  using I32 = __m256i;
  using F8 = __m256;
  static constexpr int kRowsX = 2;  // 16 ymm registers: 2 activation rows × 4 weight rows

  static I8 load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
  static I8 nibbles_q4_0(const uint8_t* qs) {
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0x0F));
  }
  static I8 splat8(int value) { return _mm256_set1_epi8(static_cast<char>(value)); }
  static I8 and8(I8 a, I8 b) { return _mm256_and_si256(a, b); }
  static I8 or8(I8 a, I8 b) { return _mm256_or_si256(a, b); }
  static I8 sub8(I8 a, I8 b) { return _mm256_sub_epi8(a, b); }
  static I8 srl16(I8 a, int n) { return _mm256_srl_epi16(a, _mm_cvtsi32_si128(n)); }
  static I8 sll16(I8 a, int n) { return _mm256_sll_epi16(a, _mm_cvtsi32_si128(n)); }
  // |w| (unsigned) times x with w's sign: the products of w·x, pairs summed (no saturation: |w|, |x|
  // ≤ 128, 127), then the pairs summed again into the 4-element groups.
  static I32 dot_ss(I8 w, I8 x) {
    const __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
  }
  static I16 pairs_us(I8 u, I8 x) { return _mm256_maddubs_epi16(u, x); }
  static I16 scale16(int a, int b) {
    return _mm256_set_m128i(_mm_set1_epi16(static_cast<short>(b)), _mm_set1_epi16(static_cast<short>(a)));
  }
  static I32 madd_acc(I32 acc, I16 p, I16 s) { return _mm256_add_epi32(acc, _mm256_madd_epi16(p, s)); }
  static I32 zero32() { return _mm256_setzero_si256(); }
  static int hsum(I32 a) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
  }
  static F8 zerof() { return _mm256_setzero_ps(); }
  static F8 fma_lanes(I32 p, float s, F8 acc) { return _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(s), acc); }
  static float reduce(F8 a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));  // l[j] + l[j+4]
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));                                         // (0+2), (1+3)
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
  static float fma1(float a, float b, float c) {
    return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
  }
  static float half(uint16_t h) { return _cvtsh_ss(h); }
};

#include "quant_impl.h"

}  // namespace

void matmul_quant_avx2(float* out, int64_t ldo, const void* x, int64_t ldx, const SimdQuantWeights& w, int chunks,
                       int64_t rows_x, int64_t rows_w) {
  matmul_quant_impl(out, ldo, x, ldx, w, chunks, rows_x, rows_w);
}

}  // namespace cx
