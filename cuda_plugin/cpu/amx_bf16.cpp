// amx_bf16.cpp — bf16 weights times f32 activations on Intel AMX (tdpbf16ps): one instruction
// multiplies a 16 × 32 bf16 activation tile by a 32 × 16 weight tile into 16 × 16 f32 sums, some
// fifteen times the multiply-adds per cycle of AVX-512 FMA. An activation is split into two bf16,
// x ≈ hi + lo (16 significant bits, relative error ≤ 2^-17), and both halves are multiplied:
// products of bf16 are exact in f32, so the result stays within f32 rounding of the f32 kernels'
// (rounding x to one bf16, as llama.cpp does, moves logits by ~1e-3 on the test models). Compiled for AMX and
// AVX-512 whatever the build's baseline; used only when cpuid reports AMX-BF16 and the kernel grants
// the process the tile state (amx_bf16_available).
//
// Layout (cpu_simd.h's amx_packed_index): the weight's rows in blocks of 16, each block's columns in
// tiles of 32, one tile a contiguous 1 KiB, as tdpbf16ps reads its second operand: row i of the
// tile holds, for each of the 16 weight rows n, the pair of columns 2i, 2i + 1. A matrix whose row
// count is not a multiple of 16 is padded with zero rows.
#pragma GCC target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma,f16c")
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "cpu_simd.h"
#include "cx_math.h"

namespace cx {
namespace {

// Zero-masked forms with a full mask: GCC 12's unmasked ones start from an "undefined" register that
// -Wmaybe-uninitialized reports once inlined (GCC bug 105593); the instructions are the same.
constexpr __mmask16 kAll = 0xffff;
constexpr int kArchReqXcompPerm = 0x1023;  // arch_prctl: ask for an extended state component
constexpr int kXfeatureXtiledata = 18;     // the AMX tile data

// ldtilecfg's 64-byte operand: palette 1, then each tile's bytes per row and rows.
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// Tiles 0–3: the 2 × 2 sums (activation block a, weight block b at 2a + b); 4, 5: activation blocks;
// 6, 7: weight blocks. All 16 rows of 64 bytes.
void configure_tiles() {
  TileConfig config;
  for (int t = 0; t < 8; t++) {
    config.colsb[t] = 64;
    config.rows[t] = kAmxRows;
  }
  _tile_loadconfig(&config);
}

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

// The sums of MB activation blocks (16 rows each, `ldx` elements apart, the high bf16 halves of x and
// `lo` elements further their low ones) × NB weight blocks, k summed as `chunks` consecutive slices
// (each from zero, 32 columns at a time: the high halves' tdpbf16ps, then the low halves'), the
// slices added in pairwise_sum's order. Rows of x past `rows_x` and weight rows past `rows_w` are
// computed (the buffers are padded) but not written.
template <int MB, int NB>
void block(float* out, int64_t ldo, const uint16_t* x, int64_t ldx, int64_t lo, int64_t rows_x, const uint16_t* w,
           int64_t k, int64_t rows_w, int chunks) {
  alignas(64) float partial[kMaxPairwiseParts][4][kAmxRows * kAmxRows];
  const int64_t tiles_k = k / kAmxCols;
  const int64_t chunk_tiles = tiles_k / chunks;
  const int64_t lda = ldx * static_cast<int64_t>(sizeof(uint16_t));
  const uint16_t* x1 = x + kAmxRows * ldx;
  const uint16_t* w1 = w + tiles_k * kAmxTile;
  for (int c = 0; c < chunks; c++) {
    _tile_zero(0);
    if (NB > 1) _tile_zero(1);
    if (MB > 1) _tile_zero(2);
    if (MB > 1 && NB > 1) _tile_zero(3);
    for (int64_t t = c * chunk_tiles; t < (c + 1) * chunk_tiles; t++) {
      _tile_loadd(6, w + t * kAmxTile, 64);
      if (NB > 1) _tile_loadd(7, w1 + t * kAmxTile, 64);
      _tile_loadd(4, x + t * kAmxCols, lda);
      if (MB > 1) _tile_loadd(5, x1 + t * kAmxCols, lda);
      _tile_dpbf16ps(0, 4, 6);
      if (NB > 1) _tile_dpbf16ps(1, 4, 7);
      if (MB > 1) _tile_dpbf16ps(2, 5, 6);
      if (MB > 1 && NB > 1) _tile_dpbf16ps(3, 5, 7);
      _tile_loadd(4, x + lo + t * kAmxCols, lda);
      if (MB > 1) _tile_loadd(5, x1 + lo + t * kAmxCols, lda);
      _tile_dpbf16ps(0, 4, 6);
      if (NB > 1) _tile_dpbf16ps(1, 4, 7);
      if (MB > 1) _tile_dpbf16ps(2, 5, 6);
      if (MB > 1 && NB > 1) _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, partial[c][0], 64);
    if (NB > 1) _tile_stored(1, partial[c][1], 64);
    if (MB > 1) _tile_stored(2, partial[c][2], 64);
    if (MB > 1 && NB > 1) _tile_stored(3, partial[c][3], 64);
  }
  for (int a = 0; a < MB; a++) {
    for (int b = 0; b < NB; b++) {
      const int tile = 2 * a + b;
      const int64_t cols = rows_w - b * kAmxRows;
      const __mmask16 mask = cols >= kAmxRows ? static_cast<__mmask16>(0xffff)
                                              : static_cast<__mmask16>((1u << (cols > 0 ? cols : 0)) - 1);
      for (int m = 0; m < kAmxRows && a * kAmxRows + m < rows_x; m++) {
        const __m512 sum = pairwise_sum16(&partial[0][tile][m * kAmxRows], 4 * kAmxRows * kAmxRows, chunks);
        _mm512_mask_storeu_ps(out + (a * kAmxRows + m) * ldo + b * kAmxRows, mask, sum);
      }
    }
  }
}

}  // namespace

bool amx_bf16_available() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  __asm__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(7), "c"(0));
  const bool amx_tile = (edx >> 24) & 1u;
  const bool amx_bf16 = (edx >> 22) & 1u;
  if (!amx_tile || !amx_bf16) return false;
  // Linux hands out the 8 KiB tile state only on request; the request is for the whole process.
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

void amx_pack_bf16(uint16_t* dst, const uint16_t* src, int64_t rows, int64_t cols, int64_t first_block,
                   int64_t blocks) {
  const int64_t tiles_k = cols / kAmxCols;
  // A tile's row i is column pair i of each of the block's 16 rows: a gather of one 32-bit pair per
  // row, `cols / 2` pairs apart. The tiles are next read at the first forward pass, long after they
  // have left the caches, so they are stored past them (non-temporal) when aligned (a small weight
  // may come from malloc).
  const __m512i row_offsets = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                                 _mm512_set1_epi32(static_cast<int>(cols / 2)));
  for (int64_t nb = first_block; nb < first_block + blocks; nb++) {
    uint16_t* tile = dst + nb * tiles_k * kAmxTile;
    const bool full = (nb + 1) * kAmxRows <= rows;
    const bool aligned = reinterpret_cast<uintptr_t>(tile) % 64 == 0;
    for (int64_t t = 0; t < tiles_k; t++, tile += kAmxTile) {
      const uint16_t* first = src + nb * kAmxRows * cols + t * kAmxCols;
      if (full) {
        for (int i = 0; i < kAmxCols / 2; i++) {
          const __m512i pairs = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), kAll, row_offsets, first + 2 * i, 4);
          __m512i* to = reinterpret_cast<__m512i*>(tile + i * 2 * kAmxRows);
          if (aligned) _mm512_stream_si512(to, pairs);
          else _mm512_storeu_si512(to, pairs);
        }
        continue;
      }
      for (int n = 0; n < kAmxRows; n++) {
        const bool real = nb * kAmxRows + n < rows;
        for (int i = 0; i < kAmxCols; i++) tile[i / 2 * 2 * kAmxRows + 2 * n + i % 2] = real ? first[n * cols + i] : 0;
      }
    }
  }
  _mm_sfence();
}

void amx_matmul_bf16(float* out, int64_t ldo, const uint16_t* x, int64_t ldx, int64_t lo, int64_t rows_x,
                     const uint16_t* w, int64_t k, int64_t rows_w, int chunks) {
  configure_tiles();
  const int64_t block_elements = k / kAmxCols * kAmxTile;  // one 16-row block of the packed weight
  for (int64_t r = 0; r < rows_w; r += 2 * kAmxRows) {
    const bool two_w = rows_w - r > kAmxRows;
    const uint16_t* wb = w + r / kAmxRows * block_elements;
    for (int64_t i = 0; i < rows_x; i += 2 * kAmxRows) {
      float* o = out + i * ldo + r;
      const uint16_t* xb = x + i * ldx;
      const bool two_x = rows_x - i > kAmxRows;
      const int64_t left_x = rows_x - i;
      const int64_t left_w = rows_w - r;
      if (two_x && two_w) block<2, 2>(o, ldo, xb, ldx, lo, left_x, wb, k, left_w, chunks);
      else if (two_x) block<2, 1>(o, ldo, xb, ldx, lo, left_x, wb, k, left_w, chunks);
      else if (two_w) block<1, 2>(o, ldo, xb, ldx, lo, left_x, wb, k, left_w, chunks);
      else block<1, 1>(o, ldo, xb, ldx, lo, left_x, wb, k, left_w, chunks);
    }
  }
  _tile_release();
}

void split_bf16_avx512(uint16_t* hi, uint16_t* lo, const float* x, int64_t count) {
  int64_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    const __m256i h = reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v));
    const __m512 high = _mm512_castsi512_ps(_mm512_maskz_slli_epi32(kAll, _mm512_maskz_cvtepu16_epi32(kAll, h), 16));
    const __m256i l = reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_sub_ps(v, high)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(hi + i), h);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(lo + i), l);
  }
  for (; i < count; i++) {
    hi[i] = f32_to_bf16(x[i]);
    lo[i] = f32_to_bf16(x[i] - bf16_to_f32(hi[i]));
  }
}

}  // namespace cx
