// quant_kernels_avx2.cpp — cpu_simd.h's matmul_quant with AVX2 (256-bit integer lanes: maddubs +
// madd, no VNNI), for the file's rows (quant_plain_avx2_impl.h, 8 rows in lanes; quant_impl.h for
// the rows after the last 8) and for the interleaved layout (quant_packed_avx2_impl.h for the K
// types, quant_packed_impl.h for Q8_0 / Q4_0), compiled for those instructions whatever the build's
// baseline; used only when cpuid reports them. Same results as quant_kernels_scalar.cpp, bit for bit.
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
  static float fma1(float a, float b, float c) {
    return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
  }
  static float half(uint16_t h) { return _cvtsh_ss(h); }
};

#include "quant_impl.h"

// The 16-lane primitives of quant_packed_impl.h as two ymm halves (rows 0–7, 8–15): maddubs + madd
// for the dot products. Levels stay below 128 except Q8_0's, so the pair sums cannot saturate;
// Q8_0's stored levels (+128) are turned back to signed and multiplied with the sign trick.
struct G {
  struct V {
    __m256i lo, hi;
  };
  struct F {
    __m256 lo, hi;
  };
  static constexpr int32_t kQ8Offset = 0;  // dot4_q8 multiplies the signed levels
  static V zero() { return {_mm256_setzero_si256(), _mm256_setzero_si256()}; }
  static F zerof() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
  static V splat8(int v) { return {_mm256_set1_epi8(static_cast<char>(v)), _mm256_set1_epi8(static_cast<char>(v))}; }
  static V splat32(int32_t v) { return {_mm256_set1_epi32(v), _mm256_set1_epi32(v)}; }
  static F splatf(float v) { return {_mm256_set1_ps(v), _mm256_set1_ps(v)}; }
  static V load(const void* p) {
    const __m256i* q = static_cast<const __m256i*>(p);
    return {_mm256_loadu_si256(q), _mm256_loadu_si256(q + 1)};
  }
  static void store(int32_t* p, V v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v.lo);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + 8), v.hi);
  }
  static void storef(float* p, F v) {
    _mm256_storeu_ps(p, v.lo);
    _mm256_storeu_ps(p + 8, v.hi);
  }
  static V bcast4(const int8_t* p) {
    int32_t v;
    __builtin_memcpy(&v, p, 4);
    return splat32(v);
  }
  static F halves16(const uint8_t* p) {
    return {_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))),
            _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)))};
  }
  static V bytes_to_i32(const uint8_t* p) {
    return {_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))),
            _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 8)))};
  }
  static V sbytes_to_i32(const uint8_t* p) {
    return {_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))),
            _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 8)))};
  }
  static V and_(V a, V b) { return {_mm256_and_si256(a.lo, b.lo), _mm256_and_si256(a.hi, b.hi)}; }
  static V or_(V a, V b) { return {_mm256_or_si256(a.lo, b.lo), _mm256_or_si256(a.hi, b.hi)}; }
  static V srl16(V a, int n) {
    const __m128i count = _mm_cvtsi32_si128(n);
    return {_mm256_srl_epi16(a.lo, count), _mm256_srl_epi16(a.hi, count)};
  }
  static V sll16(V a, int n) {
    const __m128i count = _mm_cvtsi32_si128(n);
    return {_mm256_sll_epi16(a.lo, count), _mm256_sll_epi16(a.hi, count)};
  }
  static V srl32(V a, int n) {
    const __m128i count = _mm_cvtsi32_si128(n);
    return {_mm256_srl_epi32(a.lo, count), _mm256_srl_epi32(a.hi, count)};
  }
  static V sll32(V a, int n) {
    const __m128i count = _mm_cvtsi32_si128(n);
    return {_mm256_sll_epi32(a.lo, count), _mm256_sll_epi32(a.hi, count)};
  }
  static V add(V a, V b) { return {_mm256_add_epi32(a.lo, b.lo), _mm256_add_epi32(a.hi, b.hi)}; }
  static V mul(V a, V b) { return {_mm256_mullo_epi32(a.lo, b.lo), _mm256_mullo_epi32(a.hi, b.hi)}; }
  static __m256i dot4_half(__m256i acc, __m256i w, __m256i x) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), _mm256_set1_epi16(1)));
  }
  static V dot4(V acc, V w, V x) { return {dot4_half(acc.lo, w.lo, x.lo), dot4_half(acc.hi, w.hi, x.hi)}; }
  static __m256i dot4_q8_half(__m256i acc, __m256i stored, __m256i x) {
    const __m256i w = _mm256_xor_si256(stored, _mm256_set1_epi8(static_cast<char>(0x80)));
    return dot4_half(acc, _mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
  }
  static V dot4_q8(V acc, V w, V x) { return {dot4_q8_half(acc.lo, w.lo, x.lo), dot4_q8_half(acc.hi, w.hi, x.hi)}; }
  static F tof(V v) { return {_mm256_cvtepi32_ps(v.lo), _mm256_cvtepi32_ps(v.hi)}; }
  static F mulf(F a, F b) { return {_mm256_mul_ps(a.lo, b.lo), _mm256_mul_ps(a.hi, b.hi)}; }
  static F fma(F a, F b, F c) { return {_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi)}; }
  static F fnma(F a, F b, F c) { return {_mm256_fnmadd_ps(a.lo, b.lo, c.lo), _mm256_fnmadd_ps(a.hi, b.hi, c.hi)}; }
  static float half(uint16_t h) { return _cvtsh_ss(h); }
};

#include "quant_packed_impl.h"
#include "quant_packed_avx2_impl.h"
#include "quant_plain_avx2_impl.h"

}  // namespace

void matmul_quant_avx2(float* out, int64_t ldo, const void* x, int64_t ldx, const SimdQuantWeights& w, int chunks,
                       int64_t rows_x, int64_t rows_w) {
  if (plain_takes(w)) return matmul_plain(out, ldo, x, ldx, w, chunks, rows_x, rows_w);
  if (w.packed) {  // the K types: quant_packed_avx2_impl.h
    const char* xs = static_cast<const char*>(x);
    switch (w.type) {
      case kSimdQ4_K: return matmul_packed_groups<kSimdQ4_K, kAvx2RowsX, PackedKGroup>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w);
      case kSimdQ5_K: return matmul_packed_groups<kSimdQ5_K, kAvx2RowsX, PackedKGroup>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w);
      case kSimdQ6_K: return matmul_packed_groups<kSimdQ6_K, kAvx2RowsX, PackedKGroup>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w);
      default: break;
    }
  }
  matmul_quant_packed_impl(out, ldo, x, ldx, w, chunks, rows_x, rows_w);
}

}  // namespace cx
