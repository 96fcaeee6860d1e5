// amx_bf16.cpp — bf16 weights times f32 activations on Intel AMX (tdpbf16ps): one instruction
// multiplies a 16 × 32 bf16 tile by a 32 × 16 one into 16 × 16 f32 sums, some fifteen times the
// multiply-adds per cycle of AVX-512 FMA. Compiled for AMX and AVX-512 whatever the build's
// baseline; used only where amx_support().bf16.
//
// The weights are the first operand, read in place: 16 rows of 32 columns straight from the
// row-major matrix (the file's own layout, so a bf16 model is used from its mapping, unpacked).
// The activations are the second operand, which tdpbf16ps wants as column pairs: amx_pack_x writes
// each 16-row, 32-column block of x as a tile whose row i holds the pair of columns 2i, 2i + 1 of
// each of the 16 rows. An activation is split into two bf16, x ≈ hi + lo (16 significant bits,
// relative error ≤ 2^-17), and both halves are multiplied: products of bf16 are exact in f32, so the
// result stays within f32 rounding of the f32 kernels' (rounding x to one bf16, as llama.cpp does,
// moves logits by ~1e-3 on the test models). The sums come out transposed (weight row × x row)
// and are written to out row by row with scatters.
#pragma GCC target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma,f16c")
#include <immintrin.h>

#include "cpu_simd.h"
#include "cx_math.h"

namespace cx {
namespace {

// Zero-masked forms with a full mask: GCC 12's unmasked ones start from an "undefined" register that
// -Wmaybe-uninitialized reports once inlined (GCC bug 105593); the instructions are the same.
constexpr __mmask16 kAll = 0xffff;

// ldtilecfg's 64-byte operand: palette 1, then each tile's bytes per row and rows.
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// Tiles 0–3: the 2 × 2 sums (weight block a, x block b at 2a + b); 4, 5: weight blocks; 6, 7: x
// blocks. All 16 rows of 64 bytes.
void configure_tiles() {
  TileConfig config;
  for (int t = 0; t < 8; t++) {
    config.colsb[t] = 64;
    config.rows[t] = kAmxRows;
  }
  _tile_loadconfig(&config);
}

// 16 bf16 → f32.
inline __m512 widen(__m256i h) {
  return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(kAll, _mm512_maskz_cvtepu16_epi32(kAll, h), 16));
}

inline __m512i lane_index() { return _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15); }

// Σ of `count` 16-float vectors `stride` floats apart in pairwise_sum's order (cx_math.h), lane by lane.
inline __m512 pairwise_sum16(const float* values, int64_t stride, int count) {
  __m512 level[kMaxPairwiseParts];
  for (int j = 0; j < count; j++) level[j] = _mm512_load_ps(values + j * stride);
  for (int width = count; width > 1; width = (width + 1) / 2) {
    for (int j = 0; j < width / 2; j++) level[j] = _mm512_add_ps(level[2 * j], level[2 * j + 1]);
    if (width % 2 == 1) level[width / 2] = level[width - 1];
  }
  return level[0];
}

// The sums of WB weight blocks (16 rows each, `ldw` elements apart) × XB packed x blocks (each
// `x_block` elements: its tiles_k high tiles, then its tiles_k low ones), k summed as `chunks`
// consecutive slices (each from zero, 32 columns at a time: the high tile's tdpbf16ps, then the low
// one's), the slices added in pairwise_sum's order. Sums for x rows past `rows_x` and weight rows
// past `rows_w` are computed (zero padding, or the caller's padded copy) but not written.
template <int WB, int XB>
void block(float* out, int64_t ldo, const uint16_t* w, int64_t ldw, int64_t rows_w, const uint16_t* x,
           int64_t x_block, int64_t rows_x, int64_t k, int chunks) {
  alignas(64) float partial[kMaxPairwiseParts][4][kAmxRows * kAmxRows];
  const int64_t tiles_k = k / kAmxCols;
  const int64_t chunk_tiles = tiles_k / chunks;
  const int64_t stride = ldw * static_cast<int64_t>(sizeof(uint16_t));
  const uint16_t* w1 = w + kAmxRows * ldw;
  const uint16_t* x1 = x + x_block;
  const int64_t lo = tiles_k * kAmxTile;
  for (int c = 0; c < chunks; c++) {
    _tile_zero(0);
    if (XB > 1) _tile_zero(1);
    if (WB > 1) _tile_zero(2);
    if (WB > 1 && XB > 1) _tile_zero(3);
    for (int64_t t = c * chunk_tiles; t < (c + 1) * chunk_tiles; t++) {
      _tile_loadd(4, w + t * kAmxCols, stride);
      if (WB > 1) _tile_loadd(5, w1 + t * kAmxCols, stride);
      _tile_loadd(6, x + t * kAmxTile, 64);
      if (XB > 1) _tile_loadd(7, x1 + t * kAmxTile, 64);
      _tile_dpbf16ps(0, 4, 6);
      if (XB > 1) _tile_dpbf16ps(1, 4, 7);
      if (WB > 1) _tile_dpbf16ps(2, 5, 6);
      if (WB > 1 && XB > 1) _tile_dpbf16ps(3, 5, 7);
      _tile_loadd(6, x + lo + t * kAmxTile, 64);
      if (XB > 1) _tile_loadd(7, x1 + lo + t * kAmxTile, 64);
      _tile_dpbf16ps(0, 4, 6);
      if (XB > 1) _tile_dpbf16ps(1, 4, 7);
      if (WB > 1) _tile_dpbf16ps(2, 5, 6);
      if (WB > 1 && XB > 1) _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, partial[c][0], 64);
    if (XB > 1) _tile_stored(1, partial[c][1], 64);
    if (WB > 1) _tile_stored(2, partial[c][2], 64);
    if (WB > 1 && XB > 1) _tile_stored(3, partial[c][3], 64);
  }
  // partial[..][tile] row r holds weight row r's sums for the 16 x rows: scattered down out's column.
  const __m512i down = _mm512_mullo_epi32(lane_index(), _mm512_set1_epi32(static_cast<int>(ldo)));
  for (int a = 0; a < WB; a++) {
    for (int b = 0; b < XB; b++) {
      const int64_t xs = rows_x - b * kAmxRows;
      const __mmask16 mask = xs >= kAmxRows ? kAll : static_cast<__mmask16>((1u << (xs > 0 ? xs : 0)) - 1);
      float* column = out + b * kAmxRows * ldo + a * kAmxRows;
      for (int r = 0; r < kAmxRows && a * kAmxRows + r < rows_w; r++) {
        const __m512 sum = pairwise_sum16(&partial[0][2 * a + b][r * kAmxRows], 4 * kAmxRows * kAmxRows, chunks);
        _mm512_mask_i32scatter_ps(column + r, mask, down, sum, 4);
      }
    }
  }
}

}  // namespace

void amx_pack_x(uint16_t* packed, const float* x, int64_t ldx, int64_t rows, int64_t k) {
  const int64_t tiles_k = k / kAmxCols;
  // Pair i of row j goes to 32-bit slot i·16 + j of its tile.
  const __m512i slots = _mm512_mullo_epi32(lane_index(), _mm512_set1_epi32(static_cast<int>(kAmxRows)));
  // Padding rows are zero pairs: the whole block is cleared first (one decode row leaves 15 of them).
  if (rows < kAmxRows) __builtin_memset(packed, 0, static_cast<size_t>(amx_x_block(k)) * sizeof(uint16_t));
  for (int64_t j = 0; j < rows && j < kAmxRows; j++) {
    int* hi = reinterpret_cast<int*>(packed) + j;
    int* lo = reinterpret_cast<int*>(packed + tiles_k * kAmxTile) + j;
    const float* row = x + j * ldx;
    for (int64_t t = 0; t < tiles_k; t++) {
      const __m512 v0 = _mm512_loadu_ps(row + t * kAmxCols);
      const __m512 v1 = _mm512_loadu_ps(row + t * kAmxCols + 16);
      // 32 bf16 in column order, so 32-bit element i is the pair (2i, 2i + 1); then the rests.
      const __m512i pairs = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(v1, v0));
      const __m512 r0 = _mm512_sub_ps(v0, widen(_mm512_maskz_extracti64x4_epi64(0xf, pairs, 0)));
      const __m512 r1 = _mm512_sub_ps(v1, widen(_mm512_maskz_extracti64x4_epi64(0xf, pairs, 1)));
      const __m512i rests = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(r1, r0));
      _mm512_i32scatter_epi32(hi + t * kAmxTile / 2, slots, pairs, 4);
      _mm512_i32scatter_epi32(lo + t * kAmxTile / 2, slots, rests, 4);
    }
  }
}

void amx_matmul_bf16(float* out, int64_t ldo, const uint16_t* w, int64_t ldw, int64_t rows_w, const uint16_t* x,
                     int64_t rows_x, int64_t k, int chunks) {
  configure_tiles();
  const int64_t x_block = 2 * (k / kAmxCols) * kAmxTile;  // one packed 16-row block of x: high, then low
  for (int64_t r = 0; r < rows_w; r += 2 * kAmxRows) {
    const bool two_w = rows_w - r > kAmxRows;
    const uint16_t* wb = w + r * ldw;
    for (int64_t i = 0; i < rows_x; i += 2 * kAmxRows) {
      float* o = out + i * ldo + r;
      const uint16_t* xb = x + i / kAmxRows * x_block;
      const bool two_x = rows_x - i > kAmxRows;
      const int64_t left_x = rows_x - i;
      const int64_t left_w = rows_w - r;
      if (two_w && two_x) block<2, 2>(o, ldo, wb, ldw, left_w, xb, x_block, left_x, k, chunks);
      else if (two_w) block<2, 1>(o, ldo, wb, ldw, left_w, xb, x_block, left_x, k, chunks);
      else if (two_x) block<1, 2>(o, ldo, wb, ldw, left_w, xb, x_block, left_x, k, chunks);
      else block<1, 1>(o, ldo, wb, ldw, left_w, xb, x_block, left_x, k, chunks);
    }
  }
  _tile_release();
}

}  // namespace cx
