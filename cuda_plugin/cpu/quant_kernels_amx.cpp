// quant_kernels_amx.cpp — cpu_simd.h's quantized matmul for prefill on AMX-INT8, for Q8_0, Q4_K and
// Q6_K weights as the file lays them out: plain ggml rows, read in place from the mapping, so loading
// a model copies nothing. Same results as the AVX-512 VNNI and scalar kernels, bit for bit: a tile
// multiply sums int8 products exactly in int32, so each block's (or sub-block's) integer dot is the one
// they form, and the f32 steps after it are theirs (cpu_simd.h), lane by lane.
//
// The weights are the first operand (A: 16 rows × one block's or sub-block's k bytes). Q8_0's levels
// are multiplied where they lie (rows row_bytes apart); Q4_K's nibbles and Q6_K's 6-bit levels are
// unpacked to bytes once per block and reused by every activation tile. The activations are the
// second operand (B: 4 consecutive k of 16 rows per 64-byte row), which amx_pack_quant_x writes once
// per matmul, together with the block scales (and Q4_K's sub-block sums) of the 16 rows side by side.
// The products (C) are 16 weight rows × 16 activation rows, so each weight row's scale is one
// broadcast and each activation row's is one lane.
//
// Tiles: 0 and 1 two groups of 16 weight rows (A); two sets of an activation slice (B: tile 2 or 3)
// and its products with the groups (C: 16 × 16 int32), set 0 in tiles 2, 4, 5 and set 1 in 3, 6, 7,
// used in turn so one set multiplies while the other's products are added into the f32 sums (Unit).
#pragma GCC target("amx-tile,amx-int8,avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")
#include <immintrin.h>
#include <stdlib.h>

#include "cpu_simd.h"
#include "cx_math.h"
#include "quant.h"

namespace cx {
namespace {

constexpr int kT = 16;             // activation rows per B tile; weight rows per A tile (a group)
constexpr int kMaxXTiles = 3;      // activation tiles per pass over the weights (48 rows: the backend's tile)
constexpr int kMaxGroups = 2;      // weight groups per pass over the activations
constexpr int kPartialTiles = 24;  // chunks × activation tiles × groups of partial sums the buffer holds
constexpr __mmask16 kAll16 = 0xffff;
constexpr int64_t kVnniRow = 4 * kT;  // bytes of one B row: 4 consecutive k of 16 activation rows

// The packed activations of one block of a 16-row tile (amx_quant_x_block): Q8_0: both planes' B rows
// (8 each), then their scales; the K types: the block's 64 B rows, the scales, then the sums of the 8
// sub-blocks of 32 (Q4_K's min term), as floats.
constexpr int64_t kQ8Scales = 2 * 8 * kVnniRow;
constexpr int64_t kKScales = 64 * kVnniRow;
constexpr int64_t kKSums = kKScales + kT * 4;

struct TileConfig {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};

// A tiles hold `kb` weight bytes per row (a block, or a sub-block of the K types), B tiles the same k
// for 16 activation rows, as kb / 4 rows of 64 bytes.
void configure_tiles(int kb) {
  TileConfig c;
  __builtin_memset(&c, 0, sizeof(c));
  c.palette = 1;
  for (int t = 0; t < 2; t++) c.rows[t] = kT, c.colsb[t] = static_cast<uint16_t>(kb);
  for (int t = 2; t < 4; t++) c.rows[t] = static_cast<uint8_t>(kb / 4), c.colsb[t] = kVnniRow;
  for (int t = 4; t < 8; t++) c.rows[t] = kT, c.colsb[t] = kVnniRow;
  _tile_loadconfig(&c);
}

// Zero-masked forms with a full mask where GCC 12's unmasked ones start from an "undefined" register
// that -Wmaybe-uninitialized reports (GCC bug 105593); the instructions are the same.
__m512 tof(__m512i v) { return _mm512_maskz_cvtepi32_ps(kAll16, v); }

// The 32-bit words at base + offsets[i] (one per weight row of a group).
__m512i gather(const uint8_t* base, __m512i offsets) {
  return _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), kAll16, offsets, base, 1);
}
// The f16 in the low (high = false) or high half of each word, as f32.
__m512 halves(__m512i words, bool high) {
  const __m512i h = high ? _mm512_maskz_srli_epi32(kAll16, words, 16) : words;
  return _mm512_maskz_cvtph_ps(kAll16, _mm512_maskz_cvtepi32_epi16(kAll16, h));
}
// Byte b (0..3) of each word, unsigned or sign-extended.
__m512i byte_of(__m512i words, int b) { return _mm512_and_si512(_mm512_maskz_srli_epi32(kAll16, words, 8 * b), _mm512_set1_epi32(0xFF)); }
__m512i sbyte_of(__m512i words, int b) { return _mm512_maskz_srai_epi32(kAll16, _mm512_maskz_slli_epi32(kAll16, words, 24 - 8 * b), 24); }

// One group's block, ready for the tiles: the levels as bytes (the K types; A tile of sub-block j at
// levels + kb·j, rows 256 apart), and per row the scales as the f32 steps take them.
struct GroupBlock {
  alignas(64) int8_t levels[kT][256];
  alignas(64) float dw[kT];
  alignas(64) float dmin[kT];
  alignas(64) int32_t sc[16][kT];  // sub-block scales (Q4_K: 8, Q6_K: 16)
  alignas(64) float mn[8][kT];     // Q4_K's sub-block mins
};

// Q8_0: the rows' block scales (the levels stay where they are).
void unpack_q8_0(GroupBlock& g, const uint8_t* b, __m512i rows) {
  _mm512_store_ps(g.dw, halves(gather(b, rows), false));
}

// Q4_K: d and dmin, the 6-bit scales and mins (k_scale_min), and the nibbles as bytes in k order.
void unpack_q4_k(GroupBlock& g, const uint8_t* b, __m512i rows, int64_t row_bytes) {
  const __m512i dd = gather(b, rows);
  _mm512_store_ps(g.dw, halves(dd, false));
  _mm512_store_ps(g.dmin, halves(dd, true));
  const __m512i words[3] = {gather(b + 4, rows), gather(b + 8, rows), gather(b + 12, rows)};
  __m512i q[12];
  for (int i = 0; i < 12; i++) q[i] = byte_of(words[i / 4], i % 4);
  const __m512i six = _mm512_set1_epi32(63), fifteen = _mm512_set1_epi32(15);
  for (int j = 0; j < 4; j++) {
    _mm512_store_si512(g.sc[j], _mm512_and_si512(q[j], six));
    _mm512_store_ps(g.mn[j], tof(_mm512_and_si512(q[j + 4], six)));
  }
  for (int j = 4; j < 8; j++) {
    _mm512_store_si512(g.sc[j], _mm512_or_si512(_mm512_and_si512(q[j + 4], fifteen),
                                                _mm512_maskz_slli_epi32(kAll16, _mm512_maskz_srli_epi32(kAll16, q[j - 4], 6), 4)));
    _mm512_store_ps(g.mn[j], tof(_mm512_or_si512(_mm512_maskz_srli_epi32(kAll16, q[j + 4], 4),
                                                 _mm512_maskz_slli_epi32(kAll16, _mm512_maskz_srli_epi32(kAll16, q[j], 6), 4))));
  }
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  for (int i = 0; i < kT; i++) {
    const uint8_t* qs = b + i * row_bytes + 16;
    for (int c = 0; c < 2; c++) {  // 64 bytes: runs 2c and 2c + 1, each sub-blocks 2r (low) and 2r + 1 (high)
      const __m512i raw = _mm512_loadu_si512(qs + 64 * c);
      const __m512i lo = _mm512_and_si512(raw, low4);
      const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low4);
      _mm512_store_si512(&g.levels[i][128 * c], _mm512_maskz_shuffle_i64x2(0xff, lo, hi, _MM_SHUFFLE(1, 0, 1, 0)));
      _mm512_store_si512(&g.levels[i][128 * c + 64], _mm512_maskz_shuffle_i64x2(0xff, lo, hi, _MM_SHUFFLE(3, 2, 3, 2)));
    }
  }
}

// Q6_K: d, the 16 signed scales, and the levels − 32 as signed bytes in k order.
void unpack_q6_k(GroupBlock& g, const uint8_t* b, __m512i rows, int64_t row_bytes) {
  _mm512_store_ps(g.dw, halves(gather(b + 206, rows), true));  // the word before d ends the scales
  for (int w = 0; w < 4; w++) {
    const __m512i words = gather(b + 192 + 4 * w, rows);
    for (int j = 0; j < 4; j++) _mm512_store_si512(g.sc[4 * w + j], sbyte_of(words, j));
  }
  const __m512i low4 = _mm512_set1_epi8(0x0F), three = _mm512_set1_epi8(3), bias = _mm512_set1_epi8(32);
  for (int i = 0; i < kT; i++) {
    const uint8_t* ql = b + i * row_bytes;
    for (int h = 0; h < 2; h++) {  // 128 levels: ql[0..31] and ql[32..63] with qh's bit pairs 0, 2 | 4, 6
      const __m512i l = _mm512_loadu_si512(ql + 64 * h);
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 128 + 32 * h));
      const __m512i hv = _mm512_maskz_inserti64x4(0xff, _mm512_maskz_inserti64x4(0xff, _mm512_setzero_si512(), qh, 0), _mm256_srli_epi16(qh, 2), 1);
      const __m512i first = _mm512_or_si512(_mm512_and_si512(l, low4),
                                            _mm512_slli_epi16(_mm512_and_si512(hv, three), 4));
      const __m512i second = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), low4),
                                             _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(hv, 4), three), 4));
      _mm512_store_si512(&g.levels[i][128 * h], _mm512_sub_epi8(first, bias));
      _mm512_store_si512(&g.levels[i][128 * h + 64], _mm512_sub_epi8(second, bias));
    }
  }
}

// A unit of work: one activation slice (Q8_0: one plane of a tile's block; the K types: one
// sub-block of it) times the block's one or two weight groups, in tile set s (B tile 2 + s, C tiles
// 4 + 2s and 5 + 2s). A unit's products are stored only after the next unit is multiplied, so the
// tiles work while the products of the one before are read back and added into the sums.
struct Unit {
  int s, xt, p;  // tile set; activation tile; Q8_0's plane or the K types' sub-block
};

// GCC's tile intrinsics paste their register numbers into the instruction text, so they take only
// literal numbers: the two sets' branches differ only in those. Q4_K's levels are unsigned; the
// others' signed; the activations signed.
#define CX_TILE_DOT(TYPE, C, A, B) \
  do {                              \
    if ((TYPE) == kSimdQ4_K) {      \
      _tile_dpbusd(C, A, B);        \
    } else {                        \
      _tile_dpbssd(C, A, B);        \
    }                               \
  } while (0)

// Multiplies the activation slice at `b` with the groups in tile set s.
template <int TYPE>
inline void multiply(int s, const uint8_t* b, int ng) {
  if (s == 0) {
    _tile_loadd(2, b, kVnniRow);
    _tile_zero(4);
    CX_TILE_DOT(TYPE, 4, 0, 2);
    if (ng == 2) {
      _tile_zero(5);
      CX_TILE_DOT(TYPE, 5, 1, 2);
    }
  } else {
    _tile_loadd(3, b, kVnniRow);
    _tile_zero(6);
    CX_TILE_DOT(TYPE, 6, 0, 3);
    if (ng == 2) {
      _tile_zero(7);
      CX_TILE_DOT(TYPE, 7, 1, 3);
    }
  }
}

// Stores tile set s's products, [group][weight row][activation row].
inline void store(int s, int ng, int32_t (*cb)[kT][kT]) {
  if (s == 0) {
    _tile_stored(4, cb[0], 64);
    if (ng == 2) _tile_stored(5, cb[1], 64);
  } else {
    _tile_stored(6, cb[0], 64);
    if (ng == 2) _tile_stored(7, cb[1], 64);
  }
}
#undef CX_TILE_DOT

// The running f32 sums of a pass, [activation tile][group][weight row][16 activation rows].
using Sums = float[kMaxXTiles][kMaxGroups][kT][kT];
// Integer sums of a block, [activation tile][group][weight row][16 activation rows].
using BlockSums = int32_t[kMaxXTiles][kMaxGroups][kT][kT];

// Q8_0: plane 0's products (u.p == 0) kept as kResidualScale·isum0 in `isum`; plane 1's added to them
// and the block's integer into the running sums, s = fma(dw·dx, isum, s) with plane 0's dx.
inline void q8_0_sums(const Unit& u, const float* dx, int ng, const GroupBlock* gb, const int32_t (*cb)[kT][kT],
                      BlockSums& isum, Sums& acc) {
  if (u.p == 0) {
    for (int g = 0; g < ng; g++) {
      for (int i = 0; i < kT; i++) {
        _mm512_store_si512(isum[u.xt][g][i], _mm512_maskz_slli_epi32(kAll16, _mm512_load_si512(cb[g][i]), kResidualBits));
      }
    }
    return;
  }
  const __m512 dxv = _mm512_loadu_ps(dx);
  for (int g = 0; g < ng; g++) {
    for (int i = 0; i < kT; i++) {
      float* a = acc[u.xt][g][i];
      const __m512i total = _mm512_add_epi32(_mm512_load_si512(isum[u.xt][g][i]), _mm512_load_si512(cb[g][i]));
      const __m512 scale = _mm512_mul_ps(_mm512_set1_ps(gb[g].dw[i]), dxv);
      _mm512_store_ps(a, _mm512_fmadd_ps(scale, tof(total), _mm512_load_ps(a)));
    }
  }
}

// Where the scales of unit u's activation rows are (Q8_0).
inline const float* q8_0_dx(const uint8_t* xp, int64_t tile_bytes, int64_t xblock, int64_t t, const Unit& u) {
  return reinterpret_cast<const float*>(xp + u.xt * tile_bytes + t * xblock + kQ8Scales);  // plane 0's
}

// The K types: a sub-block's products times the rows' scales, into the block's integer sums.
inline void scaled_add(const Unit& u, int ng, const GroupBlock* gb, const int32_t (*cb)[kT][kT], BlockSums& isum) {
  for (int g = 0; g < ng; g++) {
    for (int i = 0; i < kT; i++) {
      int32_t* s = isum[u.xt][g][i];
      const __m512i scaled = _mm512_mullo_epi32(_mm512_load_si512(cb[g][i]), _mm512_set1_epi32(gb[g].sc[u.p][i]));
      _mm512_store_si512(s, _mm512_add_epi32(_mm512_load_si512(s), scaled));
    }
  }
}

// One pass: `xtiles` packed tiles of 16 activation rows (xp, tile_bytes apart) times `ng` groups of 16
// weight rows (w0, row_bytes apart), over all blocks in `chunks` runs; out[i·ldo + r] as cpu_simd.h
// defines it for the first `rows_x` activation rows. `partial` holds chunks × xtiles × ng × 256 floats.
template <int TYPE>
void panel(float* out, int64_t ldo, const uint8_t* xp, int64_t tile_bytes, int64_t rows_x, const uint8_t* w0,
           int64_t row_bytes, int64_t blocks, int chunks, int xtiles, int ng, float* partial) {
  constexpr bool k_type = TYPE != kSimdQ8_0;
  constexpr int64_t block_bytes = TYPE == kSimdQ8_0 ? sizeof(BlockQ8_0) : TYPE == kSimdQ4_K ? sizeof(BlockQ4_K)
                                                                                         : sizeof(BlockQ6_K);
  constexpr int subs = TYPE == kSimdQ8_0 ? 1 : TYPE == kSimdQ4_K ? 8 : 16;  // A / B tiles per block
  constexpr int kb = TYPE == kSimdQ8_0 ? 32 : 256 / subs;                  // their k
  constexpr int64_t xblock = amx_quant_x_block(k_type);
  const int64_t per_chunk = blocks / chunks;
  const int tiles = xtiles * ng;
  const __m512i rows = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                          _mm512_set1_epi32(static_cast<int32_t>(row_bytes)));
  alignas(64) Sums acc;
  alignas(64) int32_t c[2][kMaxGroups][kT][kT];  // a unit's products, [tile set][group]
  alignas(64) GroupBlock gb[kMaxGroups];
  alignas(64) BlockSums isum;
  Unit prev{};  // the unit multiplied last, whose products are still to be added in
  int u = 0;    // units issued since the last flush; unit u uses tile set u & 1
  for (int ch = 0; ch < chunks; ch++) {
    __builtin_memset(acc, 0, sizeof(acc));
    for (int64_t t = ch * per_chunk; t < (ch + 1) * per_chunk; t++) {
      for (int g = 0; g < ng; g++) {
        const uint8_t* b = w0 + g * kT * row_bytes + t * block_bytes;
        if (TYPE == kSimdQ8_0) {
          unpack_q8_0(gb[g], b, rows);
          if (g == 0) _tile_loadd(0, b + 2, row_bytes);
          else _tile_loadd(1, b + 2, row_bytes);
        } else if (TYPE == kSimdQ4_K) {
          unpack_q4_k(gb[g], b, rows, row_bytes);
        } else {
          unpack_q6_k(gb[g], b, rows, row_bytes);
        }
      }
      if (TYPE == kSimdQ8_0) {
        // Units (activation tile, plane), each multiplied before the previous unit's sums are taken.
        for (int xt = 0; xt < xtiles; xt++) {
          for (int p = 0; p < 2; p++) {
            multiply<TYPE>(u & 1, xp + xt * tile_bytes + t * xblock + p * 8 * kVnniRow, ng);
            if (u > 0) {
              store(prev.s, ng, c[prev.s]);
              q8_0_sums(prev, q8_0_dx(xp, tile_bytes, xblock, t, prev), ng, gb, c[prev.s], isum, acc);
            }
            prev = Unit{u & 1, xt, p};
            u++;
          }
        }
        // The block's last unit now, while its scales are still in gb.
        store(prev.s, ng, c[prev.s]);
        q8_0_sums(prev, q8_0_dx(xp, tile_bytes, xblock, t, prev), ng, gb, c[prev.s], isum, acc);
        u = 0;
      } else {
        __builtin_memset(isum, 0, sizeof(isum));
        for (int j = 0; j < subs; j++) {
          _tile_loadd(0, &gb[0].levels[0][kb * j], 256);
          if (ng == 2) _tile_loadd(1, &gb[1].levels[0][kb * j], 256);
          for (int xt = 0; xt < xtiles; xt++) {
            multiply<TYPE>(u & 1, xp + xt * tile_bytes + t * xblock + j * (kb / 4) * kVnniRow, ng);
            if (u > 0) {
              store(prev.s, ng, c[prev.s]);
              scaled_add(prev, ng, gb, c[prev.s], isum);
            }
            prev = Unit{u & 1, xt, j};
            u++;
          }
        }
        store(prev.s, ng, c[prev.s]);
        scaled_add(prev, ng, gb, c[prev.s], isum);
        u = 0;
        for (int xt = 0; xt < xtiles; xt++) {
          const uint8_t* rec = xp + xt * tile_bytes + t * xblock;
          const __m512 dx = _mm512_loadu_ps(reinterpret_cast<const float*>(rec + kKScales));
          const float* bsums = reinterpret_cast<const float*>(rec + kKSums);
          for (int g = 0; g < ng; g++) {
            for (int i = 0; i < kT; i++) {
              float* a = acc[xt][g][i];
              __m512 sum = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(gb[g].dw[i]), dx),
                                           tof(_mm512_load_si512(isum[xt][g][i])), _mm512_load_ps(a));
              if (TYPE == kSimdQ4_K) {
                // msum = Σ m_j·(x summed over sub-block j): exact in f32 (every partial sum < 2^24).
                __m512 msum = _mm512_setzero_ps();
                for (int j = 0; j < 8; j++) {
                  msum = _mm512_fmadd_ps(_mm512_set1_ps(gb[g].mn[j][i]), _mm512_loadu_ps(bsums + j * kT), msum);
                }
                sum = _mm512_fnmadd_ps(_mm512_mul_ps(_mm512_set1_ps(gb[g].dmin[i]), dx), msum, sum);
              }
              _mm512_store_ps(a, sum);
            }
          }
        }
      }
    }
    for (int xt = 0; xt < xtiles; xt++) {
      for (int g = 0; g < ng; g++) {
        float* part = partial + ((ch * xtiles + xt) * ng + g) * kT * kT;
        for (int i = 0; i < kT; i++) {
          const __m512 s = _mm512_load_ps(acc[xt][g][i]);
          _mm512_store_ps(part + i * kT, k_type ? s : _mm512_mul_ps(s, _mm512_set1_ps(1.0f / kResidualScale)));
        }
      }
    }
  }
  // Each activation row's 16 sums of a group are one run of the output: gathered across the partial
  // tiles' rows ([weight row][activation row]) and added over the chunks lane by lane.
  const __m512i down = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                          _mm512_set1_epi32(kT));
  for (int xt = 0; xt < xtiles; xt++) {
    for (int g = 0; g < ng; g++) {
      const float* part = partial + (xt * ng + g) * kT * kT;
      for (int n = 0; n < kT && xt * kT + n < rows_x; n++) {
        __m512 level[kMaxPairwiseParts];
        for (int j = 0; j < chunks; j++) {
          level[j] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), kAll16, down, part + j * tiles * kT * kT + n, 4);
        }
        for (int width = chunks; width > 1; width = (width + 1) / 2) {  // pairwise_sum's order (cx_math.h)
          for (int j = 0; j < width / 2; j++) level[j] = _mm512_add_ps(level[2 * j], level[2 * j + 1]);
          if (width % 2 == 1) level[width / 2] = level[width - 1];
        }
        _mm512_storeu_ps(out + (xt * kT + n) * ldo + g * kT, level[0]);
      }
    }
  }
}

template <int TYPE>
void matmul_type(float* out, int64_t ldo, const uint8_t* xp, int64_t tile_bytes, const SimdQuantWeights& w,
                 int chunks, int64_t rows_x, int64_t groups) {
  alignas(64) float partial[kPartialTiles * kT * kT];
  // As many activation tiles and groups per pass as the partial sums of all chunks leave room for.
  const int ng = chunks * kMaxGroups <= kPartialTiles ? kMaxGroups : 1;
  int xtiles = kPartialTiles / (chunks * ng);
  if (xtiles > kMaxXTiles) xtiles = kMaxXTiles;
  const uint8_t* first = static_cast<const uint8_t*>(w.rows);
  for (int64_t i = 0; i < rows_x; i += xtiles * kT) {
    const int64_t left = (rows_x - i + kT - 1) / kT;
    const int xt = static_cast<int>(left < xtiles ? left : xtiles);
    for (int64_t g = 0; g < groups; g += ng) {
      const int n = static_cast<int>(groups - g < ng ? groups - g : ng);
      panel<TYPE>(out + i * ldo + g * kT, ldo, xp + i / kT * tile_bytes, tile_bytes, rows_x - i,
                  first + g * kT * w.row_bytes, w.row_bytes, w.blocks, chunks, xt, n, partial);
    }
  }
}

}  // namespace

bool amx_quant_takes(int type) { return type == kSimdQ8_0 || type == kSimdQ4_K || type == kSimdQ6_K; }

void amx_pack_quant_x(uint8_t* packed, const uint8_t* x, int64_t ldx, int64_t rows, int64_t k, bool k_type) {
  const int64_t blocks = k / (k_type ? kQkK : kQk8_0);
  const int64_t xblock = amx_quant_x_block(k_type);
  __builtin_memset(packed, 0, static_cast<size_t>(blocks * xblock));
  const int64_t plane1 = quant_activation_plane(k);
  for (int64_t n = 0; n < rows; n++) {
    const uint8_t* row = x + n * ldx;
    for (int64_t t = 0; t < blocks; t++) {
      uint8_t* rec = packed + t * xblock;
      if (!k_type) {
        for (int p = 0; p < 2; p++) {
          const BlockQ8_0* b = reinterpret_cast<const BlockQ8_0*>(row + p * plane1) + t;
          for (int q = 0; q < 8; q++) __builtin_memcpy(rec + p * 8 * kVnniRow + q * kVnniRow + 4 * n, b->qs + 4 * q, 4);
          reinterpret_cast<float*>(rec + kQ8Scales)[p * kT + n] = _cvtsh_ss(b->d);
        }
      } else {
        const BlockQ8_K* b = reinterpret_cast<const BlockQ8_K*>(row) + t;
        for (int q = 0; q < 64; q++) __builtin_memcpy(rec + q * kVnniRow + 4 * n, b->qs + 4 * q, 4);
        reinterpret_cast<float*>(rec + kKScales)[n] = b->d;
        for (int j = 0; j < 8; j++) {
          reinterpret_cast<float*>(rec + kKSums)[j * kT + n] = static_cast<float>(b->bsums[2 * j] + b->bsums[2 * j + 1]);
        }
      }
    }
  }
}

void amx_matmul_quant(float* out, int64_t ldo, const uint8_t* xp, const void* x, int64_t ldx,
                      const SimdQuantWeights& w, int chunks, int64_t rows_x, int64_t rows_w) {
  const int64_t groups = rows_w / kT;
  if (groups > 0) {
    const bool k_type = w.type != kSimdQ8_0;
    const int64_t tile_bytes = amx_quant_x_tile(k_type, w.blocks * (k_type ? kQkK : kQk8_0));
    configure_tiles(w.type == kSimdQ6_K ? 16 : 32);
    switch (w.type) {
      case kSimdQ8_0: matmul_type<kSimdQ8_0>(out, ldo, xp, tile_bytes, w, chunks, rows_x, groups); break;
      case kSimdQ4_K: matmul_type<kSimdQ4_K>(out, ldo, xp, tile_bytes, w, chunks, rows_x, groups); break;
      default: matmul_type<kSimdQ6_K>(out, ldo, xp, tile_bytes, w, chunks, rows_x, groups); break;
    }
    _tile_release();
  }
  if (groups * kT < rows_w) {  // the rows after the last group of 16
    const SimdQuantWeights tail{static_cast<const uint8_t*>(w.rows) + groups * kT * w.row_bytes, w.type, w.row_bytes,
                                w.blocks, false};
    matmul_quant_avx512(out + groups * kT, ldo, x, ldx, tail, chunks, rows_x, rows_w - groups * kT);
  }
}

void matmul_quant_amx(float* out, int64_t ldo, const void* x, int64_t ldx, const SimdQuantWeights& w, int chunks,
                      int64_t rows_x, int64_t rows_w) {
  if (w.packed || !amx_quant_takes(w.type) || rows_x < kT || rows_w < kT) {
    return matmul_quant_avx512(out, ldo, x, ldx, w, chunks, rows_x, rows_w);
  }
  const bool k_type = w.type != kSimdQ8_0;
  const int64_t k = w.blocks * (k_type ? kQkK : kQk8_0);
  const int64_t tile_bytes = amx_quant_x_tile(k_type, k);
  const int64_t tiles = (rows_x + kT - 1) / kT;
  uint8_t* xp = static_cast<uint8_t*>(aligned_alloc(64, static_cast<size_t>(tiles * tile_bytes)));
  const uint8_t* xs = static_cast<const uint8_t*>(x);
  for (int64_t i = 0; i < tiles; i++) {
    const int64_t n = rows_x - i * kT < kT ? rows_x - i * kT : kT;
    amx_pack_quant_x(xp + i * tile_bytes, xs + i * kT * ldx, ldx, n, k, k_type);
  }
  amx_matmul_quant(out, ldo, xp, x, ldx, w, chunks, rows_x, rows_w);
  free(xp);
}

}  // namespace cx
