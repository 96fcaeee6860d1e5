// quant_kernels_avx512.cpp — cpu_simd.h's matmul_quant with AVX512-VNNI on 256-bit lanes (vpdpbusd
// for the signed dot products, vpdpwssd for the scaled ones; EVEX gives 32 registers), compiled for
// those instructions whatever the build's baseline; used only when cpuid reports avx512vnni. Same
// results as quant_kernels_scalar.cpp, bit for bit.
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
  // |w| (unsigned) times x with w's sign, four products summed per int32 lane.
  static I32 dot_ss(I8 w, I8 x) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
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

// ---- the interleaved layout (quant_repack.h): 16 weight rows per zmm lane set ----
//
// Each 64-byte load holds 4 consecutive weights of 16 rows; vpdpbusd multiplies them (unsigned)
// with the same 4 activations (signed, broadcast), so the 16 int32 lanes are the 16 rows' dot
// products and no horizontal sums are needed. Offsets that make the weights unsigned (Q8_0 + 128,
// Q4_0's 8, Q6_K's 32) start the integer accumulator at −offset·Σx. The f32 steps are the same as
// everywhere else (cpu_simd.h), lane by lane.

constexpr int kG = 16;  // rows per group (kQuantPackRows)
// Zero-masked forms with a full mask: GCC 12's unmasked ones start from an "undefined" register
// that -Wmaybe-uninitialized reports (GCC bug 105593); the instructions are the same.
constexpr __mmask16 kAll16 = 0xffff;

static inline __m512i bcast4(const int8_t* p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}
static inline __m512 halves16(const uint8_t* p) {
  return _mm512_maskz_cvtph_ps(kAll16, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
static inline __m512i load64(const uint8_t* p) { return _mm512_loadu_si512(p); }
static inline __m512i bytes_to_i32(const uint8_t* p) {
  return _mm512_maskz_cvtepu8_epi32(kAll16, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
static inline __m512i sbytes_to_i32(const uint8_t* p) {
  return _mm512_maskz_cvtepi8_epi32(kAll16, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

template <int TYPE, int XR>
static void group_packed(float* out, int64_t ldo, const char* x, int64_t ldx, const uint8_t* g, int64_t blocks,
                         int64_t k, int chunks) {
  const int64_t per_chunk = blocks / chunks;
  const int64_t block_bytes = kG * block_bytes_of(TYPE);
  alignas(64) float partial[kMaxPairwiseParts][XR][kG];
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  for (int c = 0; c < chunks; c++) {
    __m512 sum[XR];
    for (int a = 0; a < XR; a++) sum[a] = _mm512_setzero_ps();
    for (int64_t t = c * per_chunk; t < (c + 1) * per_chunk; t++) {
      const uint8_t* blk = g + t * block_bytes;
      _mm_prefetch(reinterpret_cast<const char*>(blk + 4 * block_bytes), _MM_HINT_T0);
      if (TYPE == kSimdQ8_0 || TYPE == kSimdQ4_0) {
        const __m512 dw = halves16(blk);
        const uint8_t* qs = blk + 2 * kG;
        // Two accumulators per row (even and odd quads): vpdpbusd's latency, not its throughput,
        // would bound one chain; integer sums are exact, so the split changes nothing.
        __m512i acc[XR], acc2[XR];
        const BlockQ8_0* xb[XR];
        for (int a = 0; a < XR; a++) {
          xb[a] = reinterpret_cast<const BlockQ8_0*>(x + a * ldx) + t;
          int32_t xsum;
          __builtin_memcpy(&xsum, x + a * ldx + quant_activation_sums(k) + 4 * t, 4);
          acc[a] = _mm512_set1_epi32((TYPE == kSimdQ8_0 ? -128 : -8) * xsum);
          acc2[a] = _mm512_setzero_si512();
        }
        if (TYPE == kSimdQ8_0) {
#pragma GCC unroll 8
          for (int q = 0; q < 8; q += 2) {
            const __m512i w0 = load64(qs + 64 * q);
            const __m512i w1 = load64(qs + 64 * (q + 1));
#pragma GCC unroll 4
            for (int a = 0; a < XR; a++) {
              acc[a] = _mm512_dpbusd_epi32(acc[a], w0, bcast4(xb[a]->qs + 4 * q));
              acc2[a] = _mm512_dpbusd_epi32(acc2[a], w1, bcast4(xb[a]->qs + 4 * (q + 1)));
            }
          }
        } else {
#pragma GCC unroll 4
          for (int q = 0; q < 4; q++) {
            const __m512i wv = load64(qs + 64 * q);
            const __m512i lo = _mm512_and_si512(wv, low4);
            const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(wv, 4), low4);
#pragma GCC unroll 4
            for (int a = 0; a < XR; a++) {
              acc[a] = _mm512_dpbusd_epi32(acc[a], lo, bcast4(xb[a]->qs + 4 * q));
              acc2[a] = _mm512_dpbusd_epi32(acc2[a], hi, bcast4(xb[a]->qs + 16 + 4 * q));
            }
          }
        }
        for (int a = 0; a < XR; a++) acc[a] = _mm512_add_epi32(acc[a], acc2[a]);
        for (int a = 0; a < XR; a++) {
          const __m512 s = _mm512_mul_ps(dw, _mm512_set1_ps(_cvtsh_ss(xb[a]->d)));
          sum[a] = _mm512_fmadd_ps(s, _mm512_maskz_cvtepi32_ps(kAll16, acc[a]), sum[a]);
        }
      } else if (TYPE == kSimdQ4_K || TYPE == kSimdQ5_K) {
        const __m512 dw = halves16(blk);
        const __m512 dmin = halves16(blk + 2 * kG);
        const uint8_t* planes = blk + 4 * kG;
        const uint8_t* qh = blk + 16 * kG;
        const uint8_t* qs = blk + (TYPE == kSimdQ5_K ? 48 : 16) * kG;
        // The 6-bit scales and mins of the 16 rows, unpacked from the 12 planes (k_scale_min).
        alignas(64) int32_t sc[8][kG], mn[8][kG];
        for (int j = 0; j < 4; j++) {
          const __m512i six = _mm512_set1_epi32(63);
          _mm512_store_si512(sc[j], _mm512_and_si512(bytes_to_i32(planes + j * kG), six));
          _mm512_store_si512(mn[j], _mm512_and_si512(bytes_to_i32(planes + (j + 4) * kG), six));
        }
        for (int j = 4; j < 8; j++) {
          const __m512i b_hi = bytes_to_i32(planes + (j + 4) * kG);
          const __m512i b_lo = bytes_to_i32(planes + (j - 4) * kG);
          const __m512i b_mid = bytes_to_i32(planes + j * kG);
          const __m512i fifteen = _mm512_set1_epi32(15);
          _mm512_store_si512(sc[j], _mm512_or_si512(_mm512_and_si512(b_hi, fifteen),
                                                    _mm512_maskz_slli_epi32(kAll16, _mm512_maskz_srli_epi32(kAll16, b_lo, 6), 4)));
          _mm512_store_si512(mn[j], _mm512_or_si512(_mm512_maskz_srli_epi32(kAll16, b_hi, 4),
                                                    _mm512_maskz_slli_epi32(kAll16, _mm512_maskz_srli_epi32(kAll16, b_mid, 6), 4)));
        }
        __m512i isum[XR], msum[XR];
        const BlockQ8_K* xb[XR];
        for (int a = 0; a < XR; a++) {
          xb[a] = reinterpret_cast<const BlockQ8_K*>(x + a * ldx) + t;
          isum[a] = _mm512_setzero_si512();
          msum[a] = _mm512_setzero_si512();
          for (int j = 0; j < 8; j++) {
            const int32_t bsum = xb[a]->bsums[2 * j] + xb[a]->bsums[2 * j + 1];
            msum[a] = _mm512_add_epi32(msum[a], _mm512_mullo_epi32(_mm512_load_si512(mn[j]), _mm512_set1_epi32(bsum)));
          }
        }
        const __m512i one = _mm512_set1_epi8(1);
#pragma GCC unroll 1
        for (int i = 0; i < 4; i++) {
          __m512i lo_acc[XR], hi_acc[XR], lo_acc2[XR], hi_acc2[XR];  // even and odd quads (latency)
          for (int a = 0; a < XR; a++) lo_acc[a] = hi_acc[a] = lo_acc2[a] = hi_acc2[a] = _mm512_setzero_si512();
#pragma GCC unroll 8
          for (int q = 0; q < 8; q++) {
            const __m512i wv = load64(qs + 64 * (8 * i + q));
            __m512i lo = _mm512_and_si512(wv, low4);
            __m512i hi = _mm512_and_si512(_mm512_srli_epi16(wv, 4), low4);
            if (TYPE == kSimdQ5_K) {
              const __m512i hv = load64(qh + 64 * q);
              lo = _mm512_or_si512(lo, _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(hv, 2 * i), one), 4));
              hi = _mm512_or_si512(hi, _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(hv, 2 * i + 1), one), 4));
            }
#pragma GCC unroll 4
            for (int a = 0; a < XR; a++) {
              if (q % 2 == 0) {
                lo_acc[a] = _mm512_dpbusd_epi32(lo_acc[a], lo, bcast4(xb[a]->qs + 64 * i + 4 * q));
                hi_acc[a] = _mm512_dpbusd_epi32(hi_acc[a], hi, bcast4(xb[a]->qs + 64 * i + 32 + 4 * q));
              } else {
                lo_acc2[a] = _mm512_dpbusd_epi32(lo_acc2[a], lo, bcast4(xb[a]->qs + 64 * i + 4 * q));
                hi_acc2[a] = _mm512_dpbusd_epi32(hi_acc2[a], hi, bcast4(xb[a]->qs + 64 * i + 32 + 4 * q));
              }
            }
          }
          for (int a = 0; a < XR; a++) {
            lo_acc[a] = _mm512_add_epi32(lo_acc[a], lo_acc2[a]);
            hi_acc[a] = _mm512_add_epi32(hi_acc[a], hi_acc2[a]);
          }
          const __m512i sc_lo = _mm512_load_si512(sc[2 * i]);
          const __m512i sc_hi = _mm512_load_si512(sc[2 * i + 1]);
          for (int a = 0; a < XR; a++) {
            isum[a] = _mm512_add_epi32(isum[a], _mm512_mullo_epi32(lo_acc[a], sc_lo));
            isum[a] = _mm512_add_epi32(isum[a], _mm512_mullo_epi32(hi_acc[a], sc_hi));
          }
        }
        for (int a = 0; a < XR; a++) {
          const __m512 dx = _mm512_set1_ps(xb[a]->d);
          sum[a] = _mm512_fmadd_ps(_mm512_mul_ps(dw, dx), _mm512_maskz_cvtepi32_ps(kAll16, isum[a]), sum[a]);
          sum[a] = _mm512_fnmadd_ps(_mm512_mul_ps(dmin, dx), _mm512_maskz_cvtepi32_ps(kAll16, msum[a]), sum[a]);
        }
      } else {  // Q6_K
        const uint8_t* ql = blk;
        const uint8_t* qh = blk + 128 * kG;
        const uint8_t* scales = blk + 192 * kG;
        const __m512 dw = halves16(blk + 208 * kG);
        const __m512i three = _mm512_set1_epi8(3);
        __m512i isum[XR];
        const BlockQ8_K* xb[XR];
        for (int a = 0; a < XR; a++) {
          xb[a] = reinterpret_cast<const BlockQ8_K*>(x + a * ldx) + t;
          isum[a] = _mm512_setzero_si512();
        }
#pragma GCC unroll 1
        for (int h = 0; h < 2; h++) {
#pragma GCC unroll 1
          for (int s = 0; s < 2; s++) {
#pragma GCC unroll 2
            for (int u = 0; u < 2; u++) {
              const int sub_lo = 8 * h + 2 * s + u, sub_hi = 8 * h + 4 + 2 * s + u;
              __m512i lo_acc[XR], hi_acc[XR];
              for (int a = 0; a < XR; a++) {
                lo_acc[a] = _mm512_set1_epi32(-32 * xb[a]->bsums[sub_lo]);
                hi_acc[a] = _mm512_set1_epi32(-32 * xb[a]->bsums[sub_hi]);
              }
#pragma GCC unroll 4
              for (int q = 4 * u; q < 4 * u + 4; q++) {
                const __m512i wv = load64(ql + 64 * ((2 * h + s) * 8 + q));
                const __m512i hv = load64(qh + 64 * (8 * h + q));
                const __m512i lo = _mm512_or_si512(_mm512_and_si512(wv, low4),
                    _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(hv, 2 * s), three), 4));
                const __m512i hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(wv, 4), low4),
                    _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(hv, 4 + 2 * s), three), 4));
#pragma GCC unroll 4
                for (int a = 0; a < XR; a++) {
                  lo_acc[a] = _mm512_dpbusd_epi32(lo_acc[a], lo, bcast4(xb[a]->qs + 128 * h + 32 * s + 4 * q));
                  hi_acc[a] = _mm512_dpbusd_epi32(hi_acc[a], hi, bcast4(xb[a]->qs + 128 * h + 64 + 32 * s + 4 * q));
                }
              }
              const __m512i sc_lo = sbytes_to_i32(scales + sub_lo * kG);
              const __m512i sc_hi = sbytes_to_i32(scales + sub_hi * kG);
              for (int a = 0; a < XR; a++) {
                isum[a] = _mm512_add_epi32(isum[a], _mm512_mullo_epi32(lo_acc[a], sc_lo));
                isum[a] = _mm512_add_epi32(isum[a], _mm512_mullo_epi32(hi_acc[a], sc_hi));
              }
            }
          }
        }
        for (int a = 0; a < XR; a++) {
          const __m512 s = _mm512_mul_ps(dw, _mm512_set1_ps(xb[a]->d));
          sum[a] = _mm512_fmadd_ps(s, _mm512_maskz_cvtepi32_ps(kAll16, isum[a]), sum[a]);
        }
      }
    }
    for (int a = 0; a < XR; a++) _mm512_store_ps(partial[c][a], sum[a]);
  }
  for (int a = 0; a < XR; a++) {
    for (int r = 0; r < kG; r++) out[a * ldo + r] = pairwise_sum(&partial[0][a][r], XR * kG, chunks);
  }
}

template <int TYPE>
static void matmul_packed_type(float* out, int64_t ldo, const char* x, int64_t ldx, const SimdQuantWeights& w,
                               int chunks, int64_t rows_x, int64_t rows_w) {
  const uint8_t* first = static_cast<const uint8_t*>(w.rows);
  const int64_t k = w.blocks * (TYPE == kSimdQ8_0 || TYPE == kSimdQ4_0 ? 32 : 256);
  const int64_t grouped = rows_w / kG * kG;
  for (int64_t r = 0; r < grouped; r += kG) {
    const uint8_t* g = first + r * w.row_bytes;
    for (int64_t i = 0; i < rows_x; i += 4) {
      float* o = out + i * ldo + r;
      const char* xs = x + i * ldx;
      switch (rows_x - i >= 4 ? 4 : rows_x - i) {
        case 4: group_packed<TYPE, 4>(o, ldo, xs, ldx, g, w.blocks, k, chunks); break;
        case 3: group_packed<TYPE, 3>(o, ldo, xs, ldx, g, w.blocks, k, chunks); break;
        case 2: group_packed<TYPE, 2>(o, ldo, xs, ldx, g, w.blocks, k, chunks); break;
        default: group_packed<TYPE, 1>(o, ldo, xs, ldx, g, w.blocks, k, chunks); break;
      }
    }
  }
  if (grouped < rows_w) {  // the plain rows after the last group
    const SimdQuantWeights tail{first + grouped * w.row_bytes, w.type, w.row_bytes, w.blocks, false};
    matmul_quant_type<TYPE>(out + grouped, ldo, x, ldx, tail, chunks, rows_x, rows_w - grouped);
  }
}

static void matmul_quant_avx512_impl(float* out, int64_t ldo, const void* x, int64_t ldx, const SimdQuantWeights& w,
                                     int chunks, int64_t rows_x, int64_t rows_w) {
  if (!w.packed) return matmul_quant_impl(out, ldo, x, ldx, w, chunks, rows_x, rows_w);
  const char* xs = static_cast<const char*>(x);
  switch (w.type) {
    case kSimdQ8_0: matmul_packed_type<kSimdQ8_0>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w); break;
    case kSimdQ4_0: matmul_packed_type<kSimdQ4_0>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w); break;
    case kSimdQ4_K: matmul_packed_type<kSimdQ4_K>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w); break;
    case kSimdQ5_K: matmul_packed_type<kSimdQ5_K>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w); break;
    default: matmul_packed_type<kSimdQ6_K>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w); break;
  }
}


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

// One activation row as matmul_quant takes it (cpu_simd.h), byte for byte what quantize_row_q8_0 /
// quantize_row_q8_k and the block sums give: the same multiplies, roundings and comparisons, 16 lanes
// at a time (a maximum does not depend on the order it is taken in).
static void quantize_activation_row_impl(const float* x, uint8_t* row, int64_t k, bool k_type) {
  const __m512i sign_off = _mm512_set1_epi32(0x7fffffff);
  const auto magnitude = [sign_off](__m512 v) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), sign_off));
  };
  if (!k_type) {
    BlockQ8_0* blocks = reinterpret_cast<BlockQ8_0*>(row);
    int32_t* sums = reinterpret_cast<int32_t*>(row + quant_activation_sums(k));
    for (int64_t b = 0; b < k / 32; b++) {
      const __m512 v0 = _mm512_loadu_ps(x + 32 * b), v1 = _mm512_loadu_ps(x + 32 * b + 16);
      const float amax = max16(_mm512_maskz_max_ps(kAll16, magnitude(v0), magnitude(v1)));
      const float d = amax / 127;
      const float id = d != 0 ? 1.0f / d : 0.0f;
      blocks[b].d = static_cast<uint16_t>(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      const __m512 scale = _mm512_set1_ps(id);
      __m512i total = _mm512_setzero_si512();
      for (int h = 0; h < 2; h++) {
        const __m512 v = _mm512_mul_ps(h == 0 ? v0 : v1, scale);
        __m512i q = _mm512_maskz_cvttps_epi32(kAll16, v);
        const __m512 fraction = _mm512_sub_ps(v, _mm512_maskz_cvtepi32_ps(kAll16, q));
        const __mmask16 up = _mm512_cmp_ps_mask(fraction, _mm512_set1_ps(0.5f), _CMP_GE_OQ);
        const __mmask16 down = _mm512_cmp_ps_mask(fraction, _mm512_set1_ps(-0.5f), _CMP_LE_OQ);
        q = _mm512_mask_add_epi32(q, up, q, _mm512_set1_epi32(1));
        q = _mm512_mask_sub_epi32(q, down, q, _mm512_set1_epi32(1));
        total = _mm512_add_epi32(total, q);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(blocks[b].qs + 16 * h), _mm512_maskz_cvtepi32_epi8(kAll16, q));
      }
      sums[b] = sum16(total);
    }
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
  matmul_quant_avx512_impl(out, ldo, x, ldx, w, chunks, rows_x, rows_w);
}

}  // namespace cx
