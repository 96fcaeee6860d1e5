// quant_kernels_avx2.cpp — cpu_simd.h's matmul_quant with AVX2 (256-bit integer lanes: maddubs +
// madd, no VNNI), for the file's rows (quant_plain_avx2_impl.h, 8 rows in lanes; quant_impl.h for
// the rows after the last 8) and for the interleaved layout (quant_packed_avx2_impl.h), compiled for
// those instructions whatever the build's baseline; used only when cpuid reports them. Same results
// as quant_kernels_scalar.cpp, bit for bit.
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
  // Both widened to int16 and multiplied in pairs (vpmaddwd): exact for any levels, where the sign
  // trick (|w| times x with w's sign) would overflow on x = −128 (an activation plane's low part).
  static I32 dot_ss(I8 w, I8 x) {
    const __m256i lo = _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm256_castsi256_si128(w)),
                                         _mm256_cvtepi8_epi16(_mm256_castsi256_si128(x)));
    const __m256i hi = _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm256_extracti128_si256(w, 1)),
                                         _mm256_cvtepi8_epi16(_mm256_extracti128_si256(x, 1)));
    return _mm256_add_epi32(lo, hi);
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

#include "quant_packed_groups.h"
#include "quant_packed_avx2_impl.h"
#include "quant_plain_avx2_impl.h"

// quant_kernels_scalar.cpp's round_away, 8 lanes: truncated, then one step away from zero where the
// fraction left is at least a half.
inline __m256i round_away(__m256 v) {
  const __m256i q = _mm256_cvttps_epi32(v);
  const __m256 fraction = _mm256_sub_ps(v, _mm256_cvtepi32_ps(q));
  const __m256i up = _mm256_castps_si256(_mm256_cmp_ps(fraction, _mm256_set1_ps(0.5f), _CMP_GE_OQ));
  const __m256i down = _mm256_castps_si256(_mm256_cmp_ps(fraction, _mm256_set1_ps(-0.5f), _CMP_LE_OQ));
  return _mm256_add_epi32(_mm256_sub_epi32(q, up), down);  // the masks are −1 where true
}

// The 32 int32 levels q[0..3] as int8 at `out`, in order.
inline void store_levels(int8_t* out, const __m256i* q) {
  const __m256i words = _mm256_packs_epi32(q[0], q[1]), words2 = _mm256_packs_epi32(q[2], q[3]);
  const __m256i bytes = _mm256_packs_epi16(words, words2);  // 128-bit lanes: q0 q1 q2 q3 (low), ... (high), by quads
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                      _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
}

// The lanes' maximum (order-independent but for NaNs, as in the AVX-512 quantizer).
inline float max8(__m256 v) {
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
  return _mm_cvtss_f32(h);
}

// quantize_row_q8_k (quant.cpp), 8 values at a time: the first value of the largest magnitude sets
// iscale = −127 / max, each level is iscale·x rounded to nearest even (vcvtps2dq; nearest_int) and
// capped at 127, bsums per 16.
void quantize_q8_k(const float* x, BlockQ8_K* y, int64_t k) {
  const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  for (int64_t b = 0; b < k / kQkK; b++) {
    const float* xb = x + b * kQkK;
    __m256 m = _mm256_setzero_ps();
    for (int j = 0; j < kQkK; j += 8) m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(xb + j), magnitude));
    const float amax = max8(m);
    BlockQ8_K& out = y[b];
    if (amax == 0) {
      __builtin_memset(&out, 0, sizeof(out));
      continue;
    }
    float max = 0;
    for (int j = 0; j < kQkK; j++) {
      if (__builtin_fabsf(xb[j]) == amax) {
        max = xb[j];
        break;
      }
    }
    const float iscale = -127.f / max;
    const __m256 scale = _mm256_set1_ps(iscale);
    const __m256i cap = _mm256_set1_epi32(127);
    for (int j = 0; j < kQkK; j += 16) {
      const __m256i q0 = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xb + j), scale)), cap);
      const __m256i q1 = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xb + j + 8), scale)), cap);
      const __m256i words = _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), _MM_SHUFFLE(3, 1, 2, 0));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out.qs + j),
                       _mm_packs_epi16(_mm256_castsi256_si128(words), _mm256_extracti128_si256(words, 1)));
      out.bsums[j / 16] = static_cast<int16_t>(P::hsum(_mm256_add_epi32(q0, q1)));
    }
    out.d = 1 / iscale;
  }
}

}  // namespace

// quantize_activation_row for Q8_0 / Q4_0 weights, 8 values at a time: byte for byte the generic
// one's (quant_kernels_scalar.cpp's quantize_activation_q8_0 and activation_wide) — the same
// multiplies, comparisons and roundings in the same order; for the K types quantize_q8_k above.
void quantize_activation_row_avx2(const float* x, uint8_t* row, int64_t k, bool k_type) {
  if (k_type) return quantize_q8_k(x, reinterpret_cast<BlockQ8_K*>(row), k);
  BlockQ8_0* first = reinterpret_cast<BlockQ8_0*>(row);
  BlockQ8_0* second = reinterpret_cast<BlockQ8_0*>(row + quant_activation_plane(k));
  int32_t* sums0 = reinterpret_cast<int32_t*>(row + quant_activation_sums(k));
  int32_t* sums1 = reinterpret_cast<int32_t*>(row + quant_activation_plane(k) + quant_activation_sums(k));
  int16_t* wide = reinterpret_cast<int16_t*>(row + quant_activation_wide(k));
  const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 limit = _mm256_set1_ps(static_cast<float>(kWideMax));
  const __m256 neg_limit = _mm256_set1_ps(-static_cast<float>(kWideMax));
  for (int64_t b = 0; b < k / kQk8_0; b++) {
    const float* xb = x + b * kQk8_0;
    __m256 v[4];
    for (int j = 0; j < 4; j++) v[j] = _mm256_loadu_ps(xb + 8 * j);
    // lanes = lanes > |x| ? lanes : |x| in k order (vmaxps's rule), then the lanes in order.
    __m256 lanes = _mm256_setzero_ps();
    for (int j = 0; j < 4; j++) lanes = _mm256_max_ps(lanes, _mm256_and_ps(v[j], magnitude));
    alignas(32) float lane[8];
    _mm256_store_ps(lane, lanes);
    float amax = 0;
    for (int l = 0; l < 8; l++) amax = amax > lane[l] ? amax : lane[l];
    first[b].d = second[b].d = f32_to_f16(amax / 127);
    const float d = _cvtsh_ss(first[b].d);
    const __m256 id = _mm256_set1_ps(d != 0 ? kResidualScale / d : 0.0f);
    __m256i q0[4], q1[4];
    for (int j = 0; j < 4; j++) {
      const __m256 t = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(v[j], id), neg_limit), limit);
      const __m256i wide32 = round_away(t);
      q0[j] = _mm256_srai_epi32(_mm256_add_epi32(wide32, _mm256_set1_epi32(1 << (kResidualBits - 1))), kResidualBits);
      q1[j] = _mm256_sub_epi32(wide32, _mm256_slli_epi32(q0[j], kResidualBits));
      // activation_wide: each quad as v0, v2, v1, v3, in int16.
      const __m256i quads = _mm256_shuffle_epi32(wide32, _MM_SHUFFLE(3, 1, 2, 0));
      const __m256i words = _mm256_permute4x64_epi64(_mm256_packs_epi32(quads, quads), _MM_SHUFFLE(3, 1, 2, 0));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(wide + b * kQk8_0 + 8 * j), _mm256_castsi256_si128(words));
    }
    store_levels(first[b].qs, q0);
    store_levels(second[b].qs, q1);
    sums0[b] = P::hsum(_mm256_add_epi32(_mm256_add_epi32(q0[0], q0[1]), _mm256_add_epi32(q0[2], q0[3])));
    sums1[b] = P::hsum(_mm256_add_epi32(_mm256_add_epi32(q1[0], q1[1]), _mm256_add_epi32(q1[2], q1[3])));
  }
}

void matmul_quant_avx2(float* out, int64_t ldo, const void* x, int64_t ldx, const SimdQuantWeights& w, int chunks,
                       int64_t rows_x, int64_t rows_w) {
  if (plain_takes(w)) return matmul_plain(out, ldo, x, ldx, w, chunks, rows_x, rows_w);
  if (w.packed) {  // quant_packed_avx2_impl.h
    const char* xs = static_cast<const char*>(x);
    switch (w.type) {
      case kSimdQ4_K: return matmul_packed_groups<kSimdQ4_K, kAvx2RowsX, PackedKGroup>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w);
      case kSimdQ5_K: return matmul_packed_groups<kSimdQ5_K, kAvx2RowsX, PackedKGroup>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w);
      case kSimdQ6_K: return matmul_packed_groups<kSimdQ6_K, kAvx2RowsQ6, PackedKGroup>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w);
      case kSimdQ8_0: return matmul_packed_groups<kSimdQ8_0, kAvx2RowsQ0, PackedQ0Group>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w);
      default: return matmul_packed_groups<kSimdQ4_0, kAvx2RowsQ0, PackedQ0Group>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w);
    }
  }
  matmul_quant_impl(out, ldo, x, ldx, w, chunks, rows_x, rows_w);
}

}  // namespace cx
