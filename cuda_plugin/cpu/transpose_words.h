// transpose_words.h — the 4 × 4 transpose of 32-bit words that the weight repacks are made of (the
// bf16 panel layout, cpu_backend.cpp; the quantized quads, quant_repack.cpp). SSE2 only: it runs in
// the baseline build.
#pragma once

#include <emmintrin.h>

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

}  // namespace cx
