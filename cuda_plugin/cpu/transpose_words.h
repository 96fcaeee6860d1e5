// transpose_words.h — the 4 × 4 transpose of 32-bit words that the weight repacks are made of (the
// bf16 panel layout, cpu_backend.cpp and panel_impl.h; the quantized quads, quant_repack.cpp). SSE2
// only: it runs in the baseline build.
#pragma once

#include <emmintrin.h>
#include <stdint.h>

namespace cx {

/** Four rows of 4 words in, four columns out: out[i] holds word i of rows 0, 1, 2, 3. */
static inline void transpose_words_4x4(const __m128i row[4], __m128i column[4]) {
  const __m128i t0 = _mm_unpacklo_epi32(row[0], row[1]), t1 = _mm_unpackhi_epi32(row[0], row[1]);
  const __m128i t2 = _mm_unpacklo_epi32(row[2], row[3]), t3 = _mm_unpackhi_epi32(row[2], row[3]);
  column[0] = _mm_unpacklo_epi64(t0, t2);
  column[1] = _mm_unpackhi_epi64(t0, t2);
  column[2] = _mm_unpacklo_epi64(t1, t3);
  column[3] = _mm_unpackhi_epi64(t1, t3);
}

/** `groups` groups of ROWS plain rows, `row_bytes` apart (a multiple of 16), into the panel layout
 * (cpu_simd.h, panel_index): within a group, word p of row r goes to word p · ROWS + r. STREAM stores
 * past the caches (a repack, read long after) and fences; otherwise into them (scratch read at once). */
template <int64_t ROWS, bool STREAM>
static inline void words_to_panels(char* dst, const char* src, int64_t groups, int64_t row_bytes) {
  static_assert(ROWS % 4 == 0, "whole 4 x 4 transposes");
  const int64_t words = row_bytes / 4;
  for (int64_t g = 0; g < groups; g++, src += ROWS * row_bytes, dst += ROWS * row_bytes) {
    for (int64_t p = 0; p < words; p += 4) {
      for (int64_t r = 0; r < ROWS; r += 4) {
        __m128i row[4], column[4];
        for (int i = 0; i < 4; i++) {
          row[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + (r + i) * row_bytes + p * 4));
        }
        transpose_words_4x4(row, column);
        for (int i = 0; i < 4; i++) {
          __m128i* to = reinterpret_cast<__m128i*>(dst + ((p + i) * ROWS + r) * 4);
          if (STREAM) _mm_stream_si128(to, column[i]);
          else _mm_storeu_si128(to, column[i]);
        }
      }
    }
  }
  if (STREAM) _mm_sfence();
}

}  // namespace cx
