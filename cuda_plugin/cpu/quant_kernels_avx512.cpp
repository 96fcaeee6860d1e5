// quant_kernels_avx512.cpp — cpu_simd.h's matmul_quant with AVX512-VNNI: on the interleaved layout
// (quant_packed_impl.h) one zmm vpdpbusd per 4 weights of 16 rows; on plain Q8_0 / Q4_K / Q6_K rows
// 16 rows at a time with their sums transposed into lanes (quant_plain_impl.h); elsewhere (other
// types, the rows after the last group of 16) 256-bit vpdpbusd / vpdpwssd through quant_impl.h.
// Also the AVX-512 activation quantizer. Compiled for those instructions whatever the build's
// baseline; used only when cpuid reports avx512vnni. Same results as quant_kernels_scalar.cpp, bit
// for bit.
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")
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
  static constexpr int kRowsX = 4;  // 32 ymm registers: 4 activation rows × 4 weight rows

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
  // (w + 128) (unsigned) times x, minus 128 times x: exact for any levels, where the sign trick (|w|
  // times x with w's sign) would overflow on x = −128 (an activation plane's low part).
  static I32 dot_ss(I8 w, I8 x) {
    const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
    return _mm256_sub_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_xor_si256(w, flip), x),
                            _mm256_dpbusd_epi32(_mm256_setzero_si256(), flip, x));
  }
  static I16 pairs_us(I8 u, I8 x) { return _mm256_maddubs_epi16(u, x); }
  static I16 scale16(int a, int b) {
    return _mm256_set_m128i(_mm_set1_epi16(static_cast<short>(b)), _mm_set1_epi16(static_cast<short>(a)));
  }
  static I32 madd_acc(I32 acc, I16 p, I16 s) { return _mm256_dpwssd_epi32(acc, p, s); }
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

// The 16-lane primitives of quant_packed_impl.h: one zmm each, vpdpbusd for the dot products.
// Zero-masked forms with a full mask where GCC 12's unmasked ones start from an "undefined" register
// that -Wmaybe-uninitialized reports (GCC bug 105593); the instructions are the same.
constexpr __mmask16 kAll16 = 0xffff;

struct G {
  using V = __m512i;
  using F = __m512;
  static constexpr int32_t kQ8Offset = -128;  // dot4_q8 reads the stored levels + 128
  static V zero() { return _mm512_setzero_si512(); }
  static F zerof() { return _mm512_setzero_ps(); }
  static V splat8(int v) { return _mm512_set1_epi8(static_cast<char>(v)); }
  static V splat32(int32_t v) { return _mm512_set1_epi32(v); }
  static F splatf(float v) { return _mm512_set1_ps(v); }
  static V load(const void* p) { return _mm512_loadu_si512(p); }
  static void store(int32_t* p, V v) { _mm512_storeu_si512(p, v); }
  static void storef(float* p, F v) { _mm512_storeu_ps(p, v); }
  static V bcast4(const int8_t* p) {
    int32_t v;
    __builtin_memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
  }
  static F halves16(const uint8_t* p) {
    return _mm512_maskz_cvtph_ps(kAll16, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static V bytes_to_i32(const uint8_t* p) {
    return _mm512_maskz_cvtepu8_epi32(kAll16, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static V sbytes_to_i32(const uint8_t* p) {
    return _mm512_maskz_cvtepi8_epi32(kAll16, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static V and_(V a, V b) { return _mm512_and_si512(a, b); }
  static V or_(V a, V b) { return _mm512_or_si512(a, b); }
  static V srl16(V a, int n) { return _mm512_srli_epi16(a, n); }
  static V sll16(V a, int n) { return _mm512_slli_epi16(a, n); }
  static V srl32(V a, int n) { return _mm512_maskz_srli_epi32(kAll16, a, n); }
  static V sll32(V a, int n) { return _mm512_maskz_slli_epi32(kAll16, a, n); }
  static V add(V a, V b) { return _mm512_add_epi32(a, b); }
  static V mul(V a, V b) { return _mm512_mullo_epi32(a, b); }
  static V dot4(V acc, V w, V x) { return _mm512_dpbusd_epi32(acc, w, x); }
  static V dot4_q8(V acc, V w, V x) { return _mm512_dpbusd_epi32(acc, w, x); }
  static F tof(V v) { return _mm512_maskz_cvtepi32_ps(kAll16, v); }
  static F mulf(F a, F b) { return _mm512_mul_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F fnma(F a, F b, F c) { return _mm512_fnmadd_ps(a, b, c); }
  static float half(uint16_t h) { return _cvtsh_ss(h); }
};

#include "quant_packed_impl.h"
#include "quant_plain_impl.h"

// Horizontal max / sum: the upper 256 bits folded onto the lower with a (full-mask) shuffle, then
// 128-bit steps. (Masked forms: GCC 12's unmasked extracts trip -Wmaybe-uninitialized, bug 105593.)
static inline float max16(__m512 v) {
  const __m512 m8 = _mm512_maskz_max_ps(kAll16, v, _mm512_mask_shuffle_f32x4(v, kAll16, v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  const __m512 m4 = _mm512_maskz_max_ps(kAll16, m8, _mm512_mask_shuffle_f32x4(m8, kAll16, m8, m8, _MM_SHUFFLE(2, 3, 0, 1)));
  __m128 q = _mm512_mask_extractf32x4_ps(_mm_setzero_ps(), 0xf, m4, 0);
  q = _mm_max_ps(q, _mm_movehl_ps(q, q));
  q = _mm_max_ss(q, _mm_shuffle_ps(q, q, 1));
  return _mm_cvtss_f32(q);
}
static inline int32_t sum16(__m512i v) {
  const __m512i s8 = _mm512_add_epi32(v, _mm512_mask_shuffle_i32x4(v, kAll16, v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  const __m512i s4 = _mm512_add_epi32(s8, _mm512_mask_shuffle_i32x4(s8, kAll16, s8, s8, _MM_SHUFFLE(2, 3, 0, 1)));
  __m128i s = _mm512_mask_extracti32x4_epi32(_mm_setzero_si128(), 0xf, s4, 0);
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

// roundf of each lane (halves away from zero), for |v| < 2^23: truncated, then one up or down where
// the fraction left is at least a half.
static inline __m512i round_away(__m512 v) {
  __m512i q = _mm512_maskz_cvttps_epi32(kAll16, v);
  const __m512 fraction = _mm512_sub_ps(v, _mm512_maskz_cvtepi32_ps(kAll16, q));
  const __mmask16 up = _mm512_cmp_ps_mask(fraction, _mm512_set1_ps(0.5f), _CMP_GE_OQ);
  const __mmask16 down = _mm512_cmp_ps_mask(fraction, _mm512_set1_ps(-0.5f), _CMP_LE_OQ);
  q = _mm512_mask_add_epi32(q, up, q, _mm512_set1_epi32(1));
  return _mm512_mask_sub_epi32(q, down, q, _mm512_set1_epi32(1));
}

// One activation row as matmul_quant takes it (cpu_simd.h), byte for byte what the generic
// quantize_activation_row gives: the same multiplies, roundings and comparisons, 16 lanes at a time (a
// maximum does not depend on the order it is taken in).
static void quantize_activation_row_impl(const float* x, uint8_t* row, int64_t k, bool k_type) {
  const __m512i sign_off = _mm512_set1_epi32(0x7fffffff);
  const auto magnitude = [sign_off](__m512 v) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), sign_off));
  };
  if (!k_type) {  // quant_kernels_scalar.cpp's quantize_activation_q8_0
    BlockQ8_0* first = reinterpret_cast<BlockQ8_0*>(row);
    BlockQ8_0* second = reinterpret_cast<BlockQ8_0*>(row + quant_activation_plane(k));
    int32_t* sums0 = reinterpret_cast<int32_t*>(row + quant_activation_sums(k));
    int32_t* sums1 = reinterpret_cast<int32_t*>(row + quant_activation_plane(k) + quant_activation_sums(k));
    const __m512 limit = _mm512_set1_ps(static_cast<float>(kWideMax));
    const __m512 neg_limit = _mm512_set1_ps(-static_cast<float>(kWideMax));
    for (int64_t b = 0; b < k / 32; b++) {
      const __m512 v0 = _mm512_loadu_ps(x + 32 * b), v1 = _mm512_loadu_ps(x + 32 * b + 16);
      const float amax = max16(_mm512_maskz_max_ps(kAll16, magnitude(v0), magnitude(v1)));
      first[b].d = second[b].d = f32_to_f16(amax / 127);
      const float d = _cvtsh_ss(first[b].d);
      const __m512 id = _mm512_set1_ps(d != 0 ? kResidualScale / d : 0.0f);
      __m512i total0 = _mm512_setzero_si512(), total1 = _mm512_setzero_si512();
      for (int h = 0; h < 2; h++) {
        // t clamped with the value first (vmaxps / vminps: a NaN becomes −kWideMax), then rounded.
        __m512 t = _mm512_maskz_mul_ps(kAll16, h == 0 ? v0 : v1, id);
        t = _mm512_maskz_min_ps(kAll16, _mm512_maskz_max_ps(kAll16, t, neg_limit), limit);
        const __m512i v = round_away(t);
        const __m512i q0 = _mm512_maskz_srai_epi32(
            kAll16, _mm512_add_epi32(v, _mm512_set1_epi32(1 << (kResidualBits - 1))), kResidualBits);
        const __m512i q1 = _mm512_sub_epi32(v, _mm512_maskz_slli_epi32(kAll16, q0, kResidualBits));
        total0 = _mm512_add_epi32(total0, q0);
        total1 = _mm512_add_epi32(total1, q1);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(first[b].qs + 16 * h), _mm512_maskz_cvtepi32_epi8(kAll16, q0));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(second[b].qs + 16 * h), _mm512_maskz_cvtepi32_epi8(kAll16, q1));
      }
      sums0[b] = sum16(total0);
      sums1[b] = sum16(total1);
    }
    activation_wide(row, k);
    return;
  }
  BlockQ8_K* blocks = reinterpret_cast<BlockQ8_K*>(row);
  for (int64_t b = 0; b < k / 256; b++) {
    const float* xb = x + 256 * b;
    __m512 m = _mm512_setzero_ps();
    for (int j = 0; j < 256; j += 16) m = _mm512_maskz_max_ps(kAll16, m, magnitude(_mm512_loadu_ps(xb + j)));
    const float amax = max16(m);
    BlockQ8_K& out = blocks[b];
    if (amax == 0) {
      __builtin_memset(&out, 0, sizeof(out));
      continue;
    }
    float max = 0;  // the first value of that magnitude, with its sign
    for (int j = 0; j < 256; j++) {
      if (__builtin_fabsf(xb[j]) == amax) {
        max = xb[j];
        break;
      }
    }
    const float iscale = -127.f / max;
    const __m512 scale = _mm512_set1_ps(iscale);
    for (int j = 0; j < 256; j += 16) {
      __m512i q = _mm512_maskz_cvtps_epi32(kAll16, _mm512_mul_ps(_mm512_loadu_ps(xb + j), scale));  // nearest, ties to even
      q = _mm512_maskz_min_epi32(kAll16, q, _mm512_set1_epi32(127));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out.qs + j), _mm512_maskz_cvtepi32_epi8(kAll16, q));
      out.bsums[j / 16] = static_cast<int16_t>(sum16(q));
    }
    out.d = 1 / iscale;
  }
}
}  // namespace

void quantize_activation_row_avx512(const float* x, uint8_t* row, int64_t k, bool k_type) {
  quantize_activation_row_impl(x, row, k, k_type);
}

void matmul_quant_avx512(float* out, int64_t ldo, const void* x, int64_t ldx, const SimdQuantWeights& w, int chunks,
                         int64_t rows_x, int64_t rows_w) {
  if (plain_takes(w)) return matmul_plain(out, ldo, x, ldx, w, chunks, rows_x, rows_w);
  matmul_quant_packed_impl(out, ldo, x, ldx, w, chunks, rows_x, rows_w);
}

}  // namespace cx
