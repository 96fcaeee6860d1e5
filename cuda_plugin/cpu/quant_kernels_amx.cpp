// quant_kernels_amx.cpp — cpu_simd.h's matmul_quant for prefill on AMX-INT8, for Q8_0, Q4_K and Q6_K
// weights in the interleaved layout (quant_repack.h), 16 activation rows at a time; everything else
// (fewer than 16 rows, the rows of a partial tile, other types, plain rows) goes to the AVX-512 VNNI
// kernels. Same results as those, bit for bit: a tile multiply sums int8 products exactly in int32,
// so each block's (or sub-block's) integer dot is the one the VNNI kernels form, and the f32 steps
// after it are theirs (cpu_simd.h), lane by lane.
//
// The layout is already AMX's: a group block's quad rows (4 consecutive weights of 16 rows, 64 bytes)
// are the rows of a B tile, so Q8_0's levels are multiplied where they lie; Q4_K's nibbles and Q6_K's
// 6-bit levels are unpacked to bytes once per block and reused by every activation tile.
//
// Tiles: 2 and 3 two groups of 16 weight rows (B); two sets of an activation tile (A: 16 rows × one
// block, or one sub-block of the K types) and its products with the groups (C: 16 × 16 int32), set 0
// in tiles 0, 4, 5 and set 1 in 1, 6, 7, used in turn so one set multiplies while the other's products
// are added into the f32 sums (Unit below).
#pragma GCC target("amx-tile,amx-int8,avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")
#include <immintrin.h>

#include "cpu_simd.h"
#include "cx_math.h"
#include "quant.h"

namespace cx {
namespace {

constexpr int kT = 16;           // activation rows per A tile; weight rows per group (kQuantPackRows)
constexpr int kMaxXTiles = 3;    // activation tiles per pass over the weights (48 rows: the backend's tile)
constexpr int kMaxGroups = 2;    // weight groups per pass over the activations
constexpr int kPartialTiles = 24;  // chunks × activation tiles × groups of partial sums the buffer holds
constexpr __mmask16 kAll16 = 0xffff;

struct TileConfig {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};

// A tiles hold `kb` activation bytes per row (a block, or a sub-block of the K types), B tiles the
// same k for 16 weight rows, as kb / 4 rows of 64 bytes.
void configure_tiles(int kb) {
  TileConfig c;
  __builtin_memset(&c, 0, sizeof(c));
  c.palette = 1;
  for (int t = 0; t < 2; t++) c.rows[t] = kT, c.colsb[t] = static_cast<uint16_t>(kb);
  for (int t = 2; t < 4; t++) c.rows[t] = static_cast<uint8_t>(kb / 4), c.colsb[t] = 64;
  for (int t = 4; t < 8; t++) c.rows[t] = kT, c.colsb[t] = 64;
  _tile_loadconfig(&c);
}

__m512 halves16(const uint8_t* p) {
  return _mm512_maskz_cvtph_ps(kAll16, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
__m512i bytes_to_i32(const uint8_t* p) {
  return _mm512_maskz_cvtepu8_epi32(kAll16, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
__m512i sbytes_to_i32(const uint8_t* p) {
  return _mm512_maskz_cvtepi8_epi32(kAll16, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
__m512 tof(__m512i v) { return _mm512_maskz_cvtepi32_ps(kAll16, v); }

// A unit of work: one activation tile (Q8_0: one plane of it; the K types: one sub-block) times the
// block's one or two weight groups, in tile set s (A tile s, C tiles 4 + 2s and 5 + 2s). A unit is
// multiplied before the previous one's products are read back, so the tiles work while the vector
// units take the sums.
struct Unit {
  int s, xt, p;  // tile set; activation tile; Q8_0's plane or the K types' sub-block
  int64_t t;     // block
  __m512 dw[kMaxGroups];
};

// GCC's tile intrinsics paste their register numbers into the instruction text, so they take only
// literal numbers: one function per tile set, the dot product picked by type (Q6_K's levels − 32 are
// signed; Q8_0's levels + 128 and Q4_K's nibbles unsigned).
#define CX_TILE_DOT(TYPE, C, A, B) \
  do {                              \
    if ((TYPE) == kSimdQ6_K) {      \
      _tile_dpbssd(C, A, B);        \
    } else {                        \
      _tile_dpbsud(C, A, B);        \
    }                               \
  } while (0)

// The two sets' branches differ only in tile numbers: GCC 12's tile intrinsics paste their numbers
// into the assembly text, so they must be literals (not template parameters).
template <int TYPE>
inline void issue(int s, const char* a, int64_t ldx, int ng, int32_t (*cb)[kT][kT]) {
  if (s == 0) {
    _tile_loadd(0, a, ldx);
    _tile_zero(4);
    CX_TILE_DOT(TYPE, 4, 0, 2);
    _tile_stored(4, cb[0], 64);
    if (ng == 2) {
      _tile_zero(5);
      CX_TILE_DOT(TYPE, 5, 0, 3);
      _tile_stored(5, cb[1], 64);
    }
  } else {
    _tile_loadd(1, a, ldx);
    _tile_zero(6);
    CX_TILE_DOT(TYPE, 6, 1, 2);
    _tile_stored(6, cb[0], 64);
    if (ng == 2) {
      _tile_zero(7);
      CX_TILE_DOT(TYPE, 7, 1, 3);
      _tile_stored(7, cb[1], 64);
    }
  }
}
#undef CX_TILE_DOT

// Q8_0: a unit's products into the running sums of its plane. The weights are stored + 128, so the
// products are isum + 128·Σx, and Σx is the activation block's sum.
inline void q8_0_sums(const Unit& u, const char* x, int64_t ldx, int64_t plane1, int64_t sums_at, int ng,
                      const int32_t (*cb)[kT][kT], float (*acc)[kMaxXTiles][kMaxGroups][kT][kT]) {
  for (int i = 0; i < kT; i++) {
    const char* row = x + (u.xt * kT + i) * ldx + u.p * plane1;
    const __m512 dx = _mm512_set1_ps(_cvtsh_ss(reinterpret_cast<const BlockQ8_0*>(row)[u.t].d));
    int32_t xsum;
    __builtin_memcpy(&xsum, row + sums_at + 4 * u.t, 4);
    const __m512i offset = _mm512_set1_epi32(-128 * xsum);
    for (int g = 0; g < ng; g++) {
      const __m512i isum = _mm512_add_epi32(_mm512_load_si512(cb[g][i]), offset);
      float* a = acc[u.p][u.xt][g][i];
      _mm512_store_ps(a, _mm512_fmadd_ps(_mm512_mul_ps(u.dw[g], dx), tof(isum), _mm512_load_ps(a)));
    }
  }
}

// The K types: a sub-block's products times the rows' scales, into the block's integer sums.
template <int SUBS>
inline void scaled_add(const Unit& u, int ng, const int32_t (*cb)[kT][kT], const int32_t (*sc)[SUBS][kT],
                       int32_t (*isum)[kMaxGroups][kT][kT]) {
  for (int g = 0; g < ng; g++) {
    const __m512i scale = _mm512_load_si512(sc[g][u.p]);
    for (int i = 0; i < kT; i++) {
      int32_t* s = isum[u.xt][g][i];
      _mm512_store_si512(s, _mm512_add_epi32(_mm512_load_si512(s), _mm512_mullo_epi32(_mm512_load_si512(cb[g][i]), scale)));
    }
  }
}

// One pass: `xtiles` tiles of 16 activation rows (x, ldx apart) times `ng` groups of 16 weight rows
// (g0, group_bytes apart), over all blocks in `chunks` runs; out[i·ldo + r] as cpu_simd.h defines it.
// `partial` holds chunks × xtiles × ng × 256 floats.
template <int TYPE>
void panel(float* out, int64_t ldo, const char* x, int64_t ldx, const uint8_t* g0, int64_t group_bytes,
           int64_t blocks, int chunks, int xtiles, int ng, float* partial) {
  constexpr bool two_planes = TYPE == kSimdQ8_0;
  constexpr int64_t block_bytes = TYPE == kSimdQ8_0 ? sizeof(BlockQ8_0) : TYPE == kSimdQ4_K ? sizeof(BlockQ4_K)
                                                                                         : sizeof(BlockQ6_K);
  constexpr int64_t gblock = kT * block_bytes;  // one block of a group
  constexpr int subs = TYPE == kSimdQ8_0 ? 1 : TYPE == kSimdQ4_K ? 8 : 16;  // A / B tiles per block
  constexpr int kb = TYPE == kSimdQ8_0 ? 32 : 256 / subs;                  // their k
  const int64_t k = blocks * (TYPE == kSimdQ8_0 ? 32 : 256);
  const int64_t plane1 = quant_activation_plane(k);
  const int64_t sums_at = quant_activation_sums(k);
  const int64_t per_chunk = blocks / chunks;
  const int tiles = xtiles * ng;
  // The running f32 sums, [plane][x tile][group][row][16 weight rows].
  alignas(64) float acc[2][kMaxXTiles][kMaxGroups][kT][kT];
  alignas(64) int32_t c[2][kMaxGroups][kT][kT];  // a unit's products, [tile set][group]
  // The K types: the block's weights as bytes (B tiles) and each row's sub-block scales and mins.
  alignas(64) int8_t wb[kMaxGroups][subs > 1 ? 256 * kT : 64];
  alignas(64) int32_t sc[kMaxGroups][subs][kT];
  alignas(64) float mn[kMaxGroups][8][kT];
  Unit prev{};  // the unit multiplied last, whose products are still to be added in
  int u = 0;    // units issued since the last flush; unit u uses tile set u & 1
  for (int ch = 0; ch < chunks; ch++) {
    __builtin_memset(acc, 0, sizeof(acc));
    for (int64_t t = ch * per_chunk; t < (ch + 1) * per_chunk; t++) {
      const uint8_t* blk[kMaxGroups] = {g0 + t * gblock, g0 + group_bytes + t * gblock};
      __m512 dw[kMaxGroups] = {}, dmin[kMaxGroups] = {};
      for (int g = 0; g < ng; g++) {
        if (TYPE == kSimdQ8_0) {
          dw[g] = halves16(blk[g]);
          if (g == 0) _tile_loadd(2, blk[0] + 2 * kT, 64);
          else _tile_loadd(3, blk[1] + 2 * kT, 64);
        } else if (TYPE == kSimdQ4_K) {
          dw[g] = halves16(blk[g]);
          dmin[g] = halves16(blk[g] + 2 * kT);
          const uint8_t* planes = blk[g] + 4 * kT;
          const uint8_t* qs = blk[g] + 16 * kT;
          const __m512i low4 = _mm512_set1_epi8(0x0F);
          for (int i = 0; i < 4; i++) {  // quad row 8i + q: sub-block 2i in the low nibbles, 2i + 1 high
            for (int q = 0; q < 8; q++) {
              const __m512i wv = _mm512_loadu_si512(qs + 64 * (8 * i + q));
              _mm512_store_si512(&wb[g][(2 * i) * 32 * kT + 64 * q], _mm512_and_si512(wv, low4));
              _mm512_store_si512(&wb[g][(2 * i + 1) * 32 * kT + 64 * q],
                                 _mm512_and_si512(_mm512_srli_epi16(wv, 4), low4));
            }
          }
          // The 6-bit scales and mins of the 16 rows, unpacked from the 12 planes (k_scale_min).
          const __m512i six = _mm512_set1_epi32(63), fifteen = _mm512_set1_epi32(15);
          for (int j = 0; j < 4; j++) {
            _mm512_store_si512(sc[g][j], _mm512_and_si512(bytes_to_i32(planes + j * kT), six));
            _mm512_store_ps(mn[g][j], tof(_mm512_and_si512(bytes_to_i32(planes + (j + 4) * kT), six)));
          }
          for (int j = 4; j < 8; j++) {
            const __m512i b_hi = bytes_to_i32(planes + (j + 4) * kT);
            const __m512i b_lo = bytes_to_i32(planes + (j - 4) * kT);
            const __m512i b_mid = bytes_to_i32(planes + j * kT);
            _mm512_store_si512(sc[g][j], _mm512_or_si512(_mm512_and_si512(b_hi, fifteen),
                _mm512_maskz_slli_epi32(kAll16, _mm512_maskz_srli_epi32(kAll16, b_lo, 6), 4)));
            _mm512_store_ps(mn[g][j], tof(_mm512_or_si512(_mm512_maskz_srli_epi32(kAll16, b_hi, 4),
                _mm512_maskz_slli_epi32(kAll16, _mm512_maskz_srli_epi32(kAll16, b_mid, 6), 4))));
          }
        } else {  // Q6_K: levels − 32 as signed bytes, in k order (quad row o / 4 holds k = o .. o + 3)
          const uint8_t* ql = blk[g];
          const uint8_t* qh = blk[g] + 128 * kT;
          const uint8_t* scales = blk[g] + 192 * kT;
          dw[g] = halves16(blk[g] + 208 * kT);
          const __m512i low4 = _mm512_set1_epi8(0x0F), three = _mm512_set1_epi8(3), bias = _mm512_set1_epi8(32);
          for (int h = 0; h < 2; h++) {
            for (int s = 0; s < 2; s++) {
              for (int q = 0; q < 8; q++) {
                const __m512i wv = _mm512_loadu_si512(ql + 64 * ((2 * h + s) * 8 + q));
                const __m512i hv = _mm512_loadu_si512(qh + 64 * (8 * h + q));
                const __m512i lo = _mm512_or_si512(_mm512_and_si512(wv, low4),
                    _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(hv, 2 * s), three), 4));
                const __m512i hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(wv, 4), low4),
                    _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(hv, 4 + 2 * s), three), 4));
                _mm512_store_si512(&wb[g][64 * (32 * h + 8 * s + q)], _mm512_sub_epi8(lo, bias));
                _mm512_store_si512(&wb[g][64 * (32 * h + 16 + 8 * s + q)], _mm512_sub_epi8(hi, bias));
              }
            }
          }
          for (int j = 0; j < 16; j++) _mm512_store_si512(sc[g][j], sbytes_to_i32(scales + j * kT));
        }
      }
      if (TYPE == kSimdQ8_0) {
        // Units (activation tile, plane), each multiplied before the previous unit's sums are taken.
        for (int xt = 0; xt < xtiles; xt++) {
          for (int p = 0; p < 2; p++) {
            const char* a = x + xt * kT * ldx + p * plane1 + t * static_cast<int64_t>(sizeof(BlockQ8_0)) + 2;
            issue<TYPE>(u & 1, a, ldx, ng, c[u & 1]);
            if (u > 0) q8_0_sums(prev, x, ldx, plane1, sums_at, ng, c[prev.s], acc);
            prev = Unit{u & 1, xt, p, t, {dw[0], dw[1]}};
            u++;
          }
        }
      } else {
        alignas(64) int32_t isum[kMaxXTiles][kMaxGroups][kT][kT];
        __builtin_memset(isum, 0, sizeof(isum));
        const int64_t qs_at = t * static_cast<int64_t>(sizeof(BlockQ8_K)) + 4;  // BlockQ8_K: d, then qs
        for (int j = 0; j < subs; j++) {
          _tile_loadd(2, &wb[0][kb * kT * j], 64);
          if (ng == 2) _tile_loadd(3, &wb[1][kb * kT * j], 64);
          for (int xt = 0; xt < xtiles; xt++) {
            issue<TYPE>(u & 1, x + xt * kT * ldx + qs_at + kb * j, ldx, ng, c[u & 1]);
            if (u > 0) scaled_add(prev, ng, c[prev.s], sc, isum);
            prev = Unit{u & 1, xt, j, t, {}};
            u++;
          }
        }
        scaled_add(prev, ng, c[prev.s], sc, isum);  // the next block's unpacking rewrites sc
        u = 0;
        for (int xt = 0; xt < xtiles; xt++) {
          for (int i = 0; i < kT; i++) {
            const BlockQ8_K* xb = reinterpret_cast<const BlockQ8_K*>(x + (xt * kT + i) * ldx) + t;
            const __m512 dx = _mm512_set1_ps(xb->d);
            for (int g = 0; g < ng; g++) {
              float* a = acc[0][xt][g][i];
              __m512 sum = _mm512_fmadd_ps(_mm512_mul_ps(dw[g], dx), tof(_mm512_load_si512(isum[xt][g][i])),
                                           _mm512_load_ps(a));
              if (TYPE == kSimdQ4_K) {
                // msum = Σ m_j·(x summed over sub-block j): exact in f32 (every partial sum < 2^24).
                __m512 msum = _mm512_setzero_ps();
                for (int j = 0; j < 8; j++) {
                  const float bsum = static_cast<float>(xb->bsums[2 * j] + xb->bsums[2 * j + 1]);
                  msum = _mm512_fmadd_ps(_mm512_load_ps(mn[g][j]), _mm512_set1_ps(bsum), msum);
                }
                sum = _mm512_fnmadd_ps(_mm512_mul_ps(dmin[g], dx), msum, sum);
              }
              _mm512_store_ps(a, sum);
            }
          }
        }
      }
    }
    if (TYPE == kSimdQ8_0 && u > 0) q8_0_sums(prev, x, ldx, plane1, sums_at, ng, c[prev.s], acc);
    u = 0;
    for (int xt = 0; xt < xtiles; xt++) {
      for (int g = 0; g < ng; g++) {
        float* part = partial + ((ch * xtiles + xt) * ng + g) * kT * kT;
        for (int i = 0; i < kT; i++) {
          const __m512 s0 = _mm512_load_ps(acc[0][xt][g][i]);
          _mm512_store_ps(part + i * kT, two_planes
              ? _mm512_fmadd_ps(_mm512_load_ps(acc[1][xt][g][i]), _mm512_set1_ps(1.0f / kResidualScale), s0)
              : s0);
        }
      }
    }
  }
  for (int xt = 0; xt < xtiles; xt++) {
    for (int g = 0; g < ng; g++) {
      const float* part = partial + (xt * ng + g) * kT * kT;
      for (int i = 0; i < kT; i++) {
        for (int r = 0; r < kT; r++) {
          out[(xt * kT + i) * ldo + g * kT + r] = pairwise_sum(part + i * kT + r, tiles * kT * kT, chunks);
        }
      }
    }
  }
}

template <int TYPE>
void matmul_amx_type(float* out, int64_t ldo, const char* x, int64_t ldx, const SimdQuantWeights& w, int chunks,
                     int64_t xrows, int64_t groups) {
  alignas(64) float partial[kPartialTiles * kT * kT];
  // As many activation tiles and groups per pass as the partial sums of all chunks leave room for.
  const int ng = chunks * kMaxGroups <= kPartialTiles ? kMaxGroups : 1;
  int xtiles = kPartialTiles / (chunks * ng);
  if (xtiles > kMaxXTiles) xtiles = kMaxXTiles;
  const int64_t group_bytes = kT * w.row_bytes;
  const uint8_t* first = static_cast<const uint8_t*>(w.rows);
  for (int64_t i = 0; i < xrows; i += xtiles * kT) {
    const int xt = static_cast<int>((xrows - i) / kT < xtiles ? (xrows - i) / kT : xtiles);
    for (int64_t g = 0; g < groups; g += ng) {
      const int n = static_cast<int>(groups - g < ng ? groups - g : ng);
      panel<TYPE>(out + i * ldo + g * kT, ldo, x + i * ldx, ldx, first + g * group_bytes, group_bytes, w.blocks,
                  chunks, xt, n, partial);
    }
  }
}

bool quant_amx_takes(int type) { return type == kSimdQ8_0 || type == kSimdQ4_K || type == kSimdQ6_K; }

}  // namespace

void matmul_quant_amx(float* out, int64_t ldo, const void* x, int64_t ldx, const SimdQuantWeights& w, int chunks,
                      int64_t rows_x, int64_t rows_w) {
  const int64_t xrows = rows_x / kT * kT;
  const int64_t groups = rows_w / kT;
  if (!w.packed || !quant_amx_takes(w.type) || xrows == 0 || groups == 0) {
    return matmul_quant_avx512(out, ldo, x, ldx, w, chunks, rows_x, rows_w);
  }
  const char* xs = static_cast<const char*>(x);
  configure_tiles(w.type == kSimdQ6_K ? 16 : 32);
  switch (w.type) {
    case kSimdQ8_0: matmul_amx_type<kSimdQ8_0>(out, ldo, xs, ldx, w, chunks, xrows, groups); break;
    case kSimdQ4_K: matmul_amx_type<kSimdQ4_K>(out, ldo, xs, ldx, w, chunks, xrows, groups); break;
    default: matmul_amx_type<kSimdQ6_K>(out, ldo, xs, ldx, w, chunks, xrows, groups); break;
  }
  _tile_release();
  // The rows a tile does not take: the plain weight rows after the last group, and the last activation rows.
  if (groups * kT < rows_w) {
    const SimdQuantWeights tail{static_cast<const uint8_t*>(w.rows) + groups * kT * w.row_bytes, w.type,
                                w.row_bytes, w.blocks, false};
    matmul_quant_avx512(out + groups * kT, ldo, x, ldx, tail, chunks, xrows, rows_w - groups * kT);
  }
  if (xrows < rows_x) matmul_quant_avx512(out + xrows * ldo, ldo, xs + xrows * ldx, ldx, w, chunks, rows_x - xrows, rows_w);
}

}  // namespace cx
