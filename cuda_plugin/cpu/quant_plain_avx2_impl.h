// quant_plain_avx2_impl.h — matmul_quant_avx2 on plain ggml rows (the GGUF bytes in place, `row_bytes`
// apart), all five types, 8 weight rows and up to 4 activation rows at a time: decode, which reads the
// weights as the file holds them. Included by quant_kernels_avx2.cpp inside its anonymous namespace,
// after quant_impl.h, whose generic kernels take the rows after the last group of 8.
//
// "Rows in lanes", as quant_plain_impl.h does on AVX-512: each row's block dot is computed on that
// row's own bytes (vpmaddubsw, then vpmaddwd against ones or the sub-block scales) into a vector of
// 8 partial sums, and a transpose-reduce tree of vphaddd (tree_push) adds the 8 rows' vectors into
// ONE ymm whose lane r is row r's exact block sum. The f32 steps of cpu_simd.h then run lane-wise
// over the 8 rows exactly as in the scalar kernel (integer sums are exact, so how they are grouped
// changes nothing, and the f32 operations are the same ones in the same order).
// AVX2 has no vpdpbusd, and vpmaddubsw saturates at int16: the levels of Q4_0 (0..15), Q4_K / Q5_K
// (0..31) and Q6_K (0..63) times x (−128..127) cannot reach it. Q8_0 transposes the rows' bytes
// instead (plain_q8_0), as the AVX-512 kernel does, and multiplies them in int16 with the activations'
// wide values. The offsets (Q4_0's 8, Q6_K's 32) are taken out as
// −offset·(x's block or sub-block sums). Eight rows, not 16: the tree's pending vectors and the
// accumulators of 4 activation rows must fit in 16 ymm registers.
// The 8 rows are 8 streams, more than the hardware prefetcher follows: prefetch_ahead fetches them
// by hand.

constexpr int kPlainRows = 8;
constexpr int kPlainMaxX = 4;                   // activation rows per pass over a group
constexpr int64_t kPlainPrefetchBytes = 512;  // how far ahead each row's stream is prefetched

// Adds leaf `leaf` (leaves come in order 0 .. 7) to a transpose-reduce tree: after 8 leaves
// pending[3] lane l = the sum of leaf l's 8 lanes. `leaf` is a constant once the caller's loop is
// unrolled, and so is the tree's shape. (vphaddd per 128-bit half: [a0+a1, a2+a3, b0+b1, b2+b3].)
static inline void tree_push(__m256i* pending, int leaf, __m256i v) {
  if ((leaf & 1) == 0) {
    pending[0] = v;
    return;
  }
  v = _mm256_hadd_epi32(pending[0], v);  // per half: pair sums of leaves l − 1, l
  if ((leaf & 2) == 0) {
    pending[1] = v;
    return;
  }
  v = _mm256_hadd_epi32(pending[1], v);  // per half: the half-sums of leaves l − 3 .. l
  if ((leaf & 4) == 0) {
    pending[2] = v;
    return;
  }
  // pending[2] holds leaves 0 .. 3 in both halves, v leaves 4 .. 7: add the halves.
  pending[3] = _mm256_add_epi32(_mm256_blend_epi32(pending[2], v, 0xF0), _mm256_permute2x128_si256(pending[2], v, 0x21));
}

static inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
static inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// The dword at `first + offset + r·row_bytes` of each row r, in lane r.
static inline __m256i gather_rows(const uint8_t* first, __m256i row_offsets, int64_t offset) {
  return _mm256_i32gather_epi32(reinterpret_cast<const int*>(first + offset), row_offsets, 1);
}

// Lanes' low (high = false) or high 16 bits, f16, as f32; both: the low ones in `low`, the high in `high`.
static inline void halves_to_f32(__m256i v, __m256* low, __m256* high) {
  // Per 128-bit half: the 4 low words, then the 4 high words; then quadwords 0, 2 (low) and 1, 3 (high).
  const __m256i split = _mm256_shuffle_epi8(
      v, _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15, 0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10,
                          11, 14, 15));
  const __m256i ordered = _mm256_permute4x64_epi64(split, _MM_SHUFFLE(3, 1, 2, 0));
  *low = _mm256_cvtph_ps(_mm256_castsi256_si128(ordered));
  *high = _mm256_cvtph_ps(_mm256_extracti128_si256(ordered, 1));
}

// Software prefetch. The 8 rows are 8 streams, more than the hardware prefetcher follows, so each
// row's bytes kPlainPrefetchBytes ahead of the block being read are prefetched by hand; past the end
// of the rows that is the same row of the next group (`next`, null for the last group of a call), so
// short rows stream without a gap from group to group. (As asm: GCC at -O2 deletes loops of
// __builtin_prefetch.)
static inline void prefetch_lines(const uint8_t* at, int64_t row_bytes, int64_t bytes) {
  for (int r = 0; r < kPlainRows; r++) {
    for (int64_t line = 0; line < bytes; line += 64) asm volatile("prefetcht0 %0" : : "m"(at[r * row_bytes + line]));
  }
}
static inline void prefetch_ahead(const uint8_t* w, const uint8_t* next, int64_t row_bytes, int64_t t,
                                  int64_t block_bytes) {
  const int64_t ahead = t * block_bytes + kPlainPrefetchBytes;
  const uint8_t* at = ahead < row_bytes ? w + ahead : next != nullptr ? next + ahead - row_bytes : nullptr;
  if (at == nullptr) return;
  // Blocks shorter than a line (Q8_0, Q4_0): when the rows are whole lines apart, every row's line is
  // the one the previous block fetched unless this block starts a new one.
  if (block_bytes < 64 && row_bytes % 64 == 0 && reinterpret_cast<uintptr_t>(at) % 64 >= static_cast<uint64_t>(block_bytes)) {
    return;
  }
  prefetch_lines(at, row_bytes, block_bytes);
}

// A Q8_0 / Q4_0 block's integer from its two planes' dots: kResidualScale·isum0 + isum1 (cpu_simd.h).
static inline __m256i combine_planes(__m256i isum0, __m256i isum1) {
  return _mm256_add_epi32(_mm256_slli_epi32(isum0, kResidualBits), isum1);
}

// The f32 step per block shared by every type: sum = fma(dw·dx, isum, sum), lane-wise.
static inline __m256 step(__m256 sum, __m256 dw, float dx, __m256i isum) {
  return _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(dx)), _mm256_cvtepi32_ps(isum), sum);
}

// Q4_0 (32-weight blocks) against the two Q8_0 planes of XR activation rows: per row, the 32 unsigned
// nibbles in one ymm, one vpmaddubsw and one vpmaddwd per plane and activation row, an 8-leaf tree
// per plane and activation row; the levels' + 8 taken out as −8·(the plane's block sum).
template <int XR>
static void plain_q4_0(__m256 (&sum)[XR], const char* x, int64_t ldx, const uint8_t* w, int64_t row_bytes,
                       int64_t t, int64_t k, __m256i row_offsets) {
  const int64_t plane1 = quant_activation_plane(k);
  const uint8_t* blk = w + t * static_cast<int64_t>(sizeof(BlockQ4_0));
  __m256 dw, unused;
  halves_to_f32(gather_rows(blk, row_offsets, 0), &dw, &unused);
  const BlockQ8_0* xb[2][XR];
  for (int a = 0; a < XR; a++) {
    for (int p = 0; p < 2; p++) xb[p][a] = reinterpret_cast<const BlockQ8_0*>(x + a * ldx + p * plane1) + t;
  }
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i pending[2][XR][4];
#pragma GCC unroll 8
  for (int r = 0; r < kPlainRows; r++) {
    const __m128i raw = load128(blk + r * row_bytes + 2);
    const __m256i levels = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0x0F));
#pragma GCC unroll 4
    for (int a = 0; a < XR; a++) {
#pragma GCC unroll 2
      for (int p = 0; p < 2; p++) {
        tree_push(pending[p][a], r, _mm256_madd_epi16(_mm256_maddubs_epi16(levels, load256(xb[p][a]->qs)), ones));
      }
    }
  }
  for (int a = 0; a < XR; a++) {
    __m256i plane_sum[2];
    for (int p = 0; p < 2; p++) {
      int32_t xsum;
      __builtin_memcpy(&xsum, x + a * ldx + p * plane1 + quant_activation_sums(k) + 4 * t, 4);
      plane_sum[p] = _mm256_add_epi32(pending[p][a][3], _mm256_set1_epi32(-8 * xsum));
    }
    sum[a] = step(sum[a], dw, _cvtsh_ss(xb[0][a]->d), combine_planes(plane_sum[0], plane_sum[1]));
  }
}

// Q8_0: the 8 rows' 32 bytes transposed in registers (rows r and r + 4 in one ymm's halves, then 4 × 4
// dword transposes within the halves: 16 shuffles) into wv[j], lane r = weights 4j .. 4j + 3 of row r,
// each split into int16 pairs (w0, w2) and (w1, w3) per row (sign-extending shifts), multiplied by
// the activation rows' wide values (cpu_simd.h: v, the two planes as one int16) broadcast in the same
// pairs, as quant_packed_avx2_impl.h's q0_block does on the interleaved layout: no tree, and one
// vpmaddwd per 16 products, exact for every level.
template <int XR>
static void plain_q8_0(__m256 (&sum)[XR], const char* x, int64_t ldx, const uint8_t* w, int64_t row_bytes,
                       int64_t t, int64_t k, __m256i row_offsets) {
  const uint8_t* blk = w + t * static_cast<int64_t>(sizeof(BlockQ8_0));
  __m256 dw, unused;
  halves_to_f32(gather_rows(blk, row_offsets, 0), &dw, &unused);
  __m256i wv[8];
  for (int half = 0; half < 2; half++) {  // dwords 0 .. 3, then 4 .. 7, of every row
    __m256i z[4];
    for (int r = 0; r < 4; r++) {
      z[r] = _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(blk + (r + 4) * row_bytes + 2 + 16 * half),
                                 reinterpret_cast<const __m128i*>(blk + r * row_bytes + 2 + 16 * half));
    }
    const __m256i a0 = _mm256_unpacklo_epi32(z[0], z[1]), a1 = _mm256_unpackhi_epi32(z[0], z[1]);
    const __m256i a2 = _mm256_unpacklo_epi32(z[2], z[3]), a3 = _mm256_unpackhi_epi32(z[2], z[3]);
    wv[4 * half] = _mm256_unpacklo_epi64(a0, a2);
    wv[4 * half + 1] = _mm256_unpackhi_epi64(a0, a2);
    wv[4 * half + 2] = _mm256_unpacklo_epi64(a1, a3);
    wv[4 * half + 3] = _mm256_unpackhi_epi64(a1, a3);
  }
  const int16_t* wide[XR];
  __m256i acc[XR];
  for (int a = 0; a < XR; a++) {
    wide[a] = reinterpret_cast<const int16_t*>(x + a * ldx + quant_activation_wide(k)) + 32 * t;
    acc[a] = _mm256_setzero_si256();
  }
#pragma GCC unroll 8
  for (int j = 0; j < 8; j++) {
    const __m256i even = _mm256_srai_epi16(_mm256_slli_epi16(wv[j], 8), 8), odd = _mm256_srai_epi16(wv[j], 8);
#pragma GCC unroll 4
    for (int a = 0; a < XR; a++) acc[a] = madd_quad(acc[a], even, odd, wide[a] + 4 * j);
  }
  for (int a = 0; a < XR; a++) {
    sum[a] = step(sum[a], dw, _cvtsh_ss(reinterpret_cast<const BlockQ8_0*>(x + a * ldx)[t].d), acc[a]);
  }
}

// Q4_K / Q5_K: the 8 rows' 12 scale bytes two rows to a ymm (rows j, j + 4 in its halves) are
// unpacked at once (k_scale_min: per half, scale j at byte j, min j at byte 8 + j); per row, each 32
// bytes of nibbles give sub-blocks 2i (low nibbles) and 2i + 1 (high nibbles; Q5_K's fifth bit from
// qh), vpmaddubsw with x, vpmaddwd with the sub-block's scale (a vpshufb of the row's scales);
// an 8-leaf tree per activation row. The mins term: vpmaddwd of the mins with x's sub-block sums,
// a 3-vphaddd tree.
template <int TYPE, int XR>
static void plain_q4_k(__m256 (&sum)[XR], const char* x, int64_t ldx, const uint8_t* w, int64_t row_bytes,
                       int64_t t, __m256i row_offsets) {
  const uint8_t* blk = w + t * block_bytes_of(TYPE);
  __m256 dw, dmin;
  halves_to_f32(gather_rows(blk, row_offsets, 0), &dw, &dmin);  // d, dmin lead both layouts
  __m256i sm[4];  // rows j, j + 4
  {
    // Dwords per half: [d dmin, A, B, C] → [A & 0x3f…, (C & 0x0f…) | (A >> 6) << 4, B & 0x3f…,
    // (C >> 4) | (B >> 6) << 4] bytewise: k_scale_min for the 8 sub-blocks.
    const __m256i keep6 = _mm256_setr_epi32(0x3f3f3f3f, 0, 0x3f3f3f3f, 0, 0x3f3f3f3f, 0, 0x3f3f3f3f, 0);
    const __m256i top2 = _mm256_setr_epi32(0, 0x30303030, 0, 0x30303030, 0, 0x30303030, 0, 0x30303030);
    const __m256i low4 = _mm256_setr_epi32(0, 0x0f0f0f0f, 0, 0x0f0f0f0f, 0, 0x0f0f0f0f, 0, 0x0f0f0f0f);
    const __m256i shift = _mm256_setr_epi32(0, 0, 0, 4, 0, 0, 0, 4);
    for (int j = 0; j < 4; j++) {
      const __m256i head = _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(blk + (j + 4) * row_bytes),
                                               reinterpret_cast<const __m128i*>(blk + j * row_bytes));
      const __m256i ab = _mm256_shuffle_epi32(head, _MM_SHUFFLE(2, 2, 1, 1));
      const __m256i c = _mm256_shuffle_epi32(head, _MM_SHUFFLE(3, 3, 3, 3));
      const __m256i high = _mm256_and_si256(_mm256_srli_epi32(ab, 2), top2);
      sm[j] = _mm256_or_si256(_mm256_and_si256(ab, keep6),
                              _mm256_or_si256(high, _mm256_and_si256(_mm256_srlv_epi32(c, shift), low4)));
    }
  }
  const BlockQ8_K* xb[XR];
  __m256i msum[XR];
  {
    const __m256i mins = _mm256_setr_epi8(8, -1, 9, -1, 10, -1, 11, -1, 12, -1, 13, -1, 14, -1, 15, -1, 8, -1, 9, -1,
                                          10, -1, 11, -1, 12, -1, 13, -1, 14, -1, 15, -1);
    __m256i min_words[4];
    for (int j = 0; j < 4; j++) min_words[j] = _mm256_shuffle_epi8(sm[j], mins);
    for (int a = 0; a < XR; a++) {
      xb[a] = reinterpret_cast<const BlockQ8_K*>(x + a * ldx) + t;
      const __m256i pair_sums =
          _mm256_broadcastsi128_si256(_mm_hadd_epi16(load128(xb[a]->bsums), load128(xb[a]->bsums + 8)));
      // Per half of min_words[j]: rows j (low) and j + 4 (high), 4 partial sums each.
      const __m256i m01 = _mm256_hadd_epi32(_mm256_madd_epi16(min_words[0], pair_sums),
                                            _mm256_madd_epi16(min_words[1], pair_sums));
      const __m256i m23 = _mm256_hadd_epi32(_mm256_madd_epi16(min_words[2], pair_sums),
                                            _mm256_madd_epi16(min_words[3], pair_sums));
      msum[a] = _mm256_hadd_epi32(m01, m23);  // rows 0 .. 3 in the low half, 4 .. 7 in the high one
    }
  }
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  const __m256i fifth = _mm256_set1_epi8(0x10);
  __m256i pending[XR][4];
#pragma GCC unroll 8
  for (int r = 0; r < kPlainRows; r++) {
    const uint8_t* row = blk + r * row_bytes;
    const uint8_t* qs = row + (TYPE == kSimdQ5_K ? offsetof(BlockQ5_K, qs) : offsetof(BlockQ4_K, qs));
    // The row's scales in both halves, for vpshufb.
    const __m256i row_sm = _mm256_permute2x128_si256(sm[r % 4], sm[r % 4], r < 4 ? 0x00 : 0x11);
    __m256i qh;
    if constexpr (TYPE == kSimdQ5_K) qh = load256(row + offsetof(BlockQ5_K, qh));
    __m256i acc[XR];
    for (int a = 0; a < XR; a++) acc[a] = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
      const __m256i raw = load256(qs + 32 * i);
      __m256i lo = _mm256_and_si256(raw, nibble);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), nibble);
      if constexpr (TYPE == kSimdQ5_K) {  // bit 2i of qh for sub-block 2i, 2i + 1 for 2i + 1, as bit 4
        const __m256i lo_bit = 2 * i <= 4 ? _mm256_slli_epi16(qh, 4 - 2 * i) : _mm256_srli_epi16(qh, 2 * i - 4);
        const __m256i hi_bit = 2 * i + 1 <= 4 ? _mm256_slli_epi16(qh, 3 - 2 * i) : _mm256_srli_epi16(qh, 2 * i - 3);
        lo = _mm256_or_si256(lo, _mm256_and_si256(lo_bit, fifth));
        hi = _mm256_or_si256(hi, _mm256_and_si256(hi_bit, fifth));
      }
      const __m256i s_lo = _mm256_shuffle_epi8(row_sm, _mm256_set1_epi16(static_cast<short>(0x8000 | (2 * i))));
      const __m256i s_hi = _mm256_shuffle_epi8(row_sm, _mm256_set1_epi16(static_cast<short>(0x8000 | (2 * i + 1))));
#pragma GCC unroll 4
      for (int a = 0; a < XR; a++) {
        acc[a] = _mm256_add_epi32(acc[a], _mm256_madd_epi16(_mm256_maddubs_epi16(lo, load256(xb[a]->qs + 64 * i)), s_lo));
        acc[a] = _mm256_add_epi32(acc[a], _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load256(xb[a]->qs + 64 * i + 32)), s_hi));
      }
    }
    for (int a = 0; a < XR; a++) tree_push(pending[a], r, acc[a]);
  }
  for (int a = 0; a < XR; a++) {
    sum[a] = step(sum[a], dw, xb[a]->d, pending[a][3]);
    sum[a] = _mm256_fnmadd_ps(_mm256_mul_ps(dmin, _mm256_set1_ps(xb[a]->d)), _mm256_cvtepi32_ps(msum[a]), sum[a]);
  }
}

// Q6_K: per row and half (128 weights), 64 bytes of low nibbles and 32 of high bits give 4 × 32
// levels; each 32 spans two 16-value sub-blocks, so one vpmaddwd with [scale 2g × 8 | scale 2g + 1
// × 8] (a vpshufb of the row's sign-extended scales) scales them; the −32 offset as
// −32·scales·(x's sub-block sums) to start from; an 8-leaf tree per activation row.
template <int XR>
static void plain_q6_k(__m256 (&sum)[XR], const char* x, int64_t ldx, const uint8_t* w, int64_t row_bytes,
                       int64_t t, __m256i row_offsets) {
  const uint8_t* blk = w + t * static_cast<int64_t>(sizeof(BlockQ6_K));
  // d is the last 2 bytes of the block: the dword before it keeps the gather inside the row.
  __m256 unused, dw;
  halves_to_f32(gather_rows(blk, row_offsets, offsetof(BlockQ6_K, d) - 2), &unused, &dw);
  const BlockQ8_K* xb[XR];
  for (int a = 0; a < XR; a++) xb[a] = reinterpret_cast<const BlockQ8_K*>(x + a * ldx) + t;
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  const __m256i two_bits = _mm256_set1_epi8(0x30);
  __m256i pending[XR][4];
#pragma GCC unroll 8
  for (int r = 0; r < kPlainRows; r++) {
    const BlockQ6_K* q = reinterpret_cast<const BlockQ6_K*>(blk + r * row_bytes);
    const __m256i sc = _mm256_cvtepi8_epi16(load128(q->scales));  // words: scales 0 .. 7 | 8 .. 15
    const __m256i offset_scales = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(sc, 5));
    __m256i acc[XR];
    for (int a = 0; a < XR; a++) acc[a] = _mm256_madd_epi16(offset_scales, load256(xb[a]->bsums));
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      const __m256i half_sc = _mm256_permute2x128_si256(sc, sc, h == 0 ? 0x00 : 0x11);  // scales 8h .. 8h + 7
      const __m256i l0 = load256(q->ql + 64 * h);
      const __m256i l1 = load256(q->ql + 64 * h + 32);
      const __m256i qh = load256(q->qh + 32 * h);
      // Bits 2g, 2g + 1 of qh as bits 4, 5 (per byte: the 16-bit shifts' spill is masked off).
      const __m256i levels[4] = {
          _mm256_or_si256(_mm256_and_si256(l0, nibble), _mm256_and_si256(_mm256_slli_epi16(qh, 4), two_bits)),
          _mm256_or_si256(_mm256_and_si256(l1, nibble), _mm256_and_si256(_mm256_slli_epi16(qh, 2), two_bits)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), nibble), _mm256_and_si256(qh, two_bits)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), nibble),
                          _mm256_and_si256(_mm256_srli_epi16(qh, 2), two_bits)),
      };
#pragma GCC unroll 4
      for (int g = 0; g < 4; g++) {
        // Low half: word 2g of half_sc; high half: word 2g + 1.
        const __m256i pick = _mm256_setr_epi8(4 * g, 4 * g + 1, 4 * g, 4 * g + 1, 4 * g, 4 * g + 1, 4 * g, 4 * g + 1,
                                              4 * g, 4 * g + 1, 4 * g, 4 * g + 1, 4 * g, 4 * g + 1, 4 * g, 4 * g + 1,
                                              4 * g + 2, 4 * g + 3, 4 * g + 2, 4 * g + 3, 4 * g + 2, 4 * g + 3, 4 * g + 2,
                                              4 * g + 3, 4 * g + 2, 4 * g + 3, 4 * g + 2, 4 * g + 3, 4 * g + 2, 4 * g + 3,
                                              4 * g + 2, 4 * g + 3);
        const __m256i scales = _mm256_shuffle_epi8(half_sc, pick);
#pragma GCC unroll 4
        for (int a = 0; a < XR; a++) {
          acc[a] = _mm256_add_epi32(
              acc[a], _mm256_madd_epi16(_mm256_maddubs_epi16(levels[g], load256(xb[a]->qs + 128 * h + 32 * g)), scales));
        }
      }
    }
    for (int a = 0; a < XR; a++) tree_push(pending[a], r, acc[a]);
  }
  for (int a = 0; a < XR; a++) sum[a] = step(sum[a], dw, xb[a]->d, pending[a][3]);
}

// One group of 8 rows against XR activation rows, chunk by chunk (cpu_simd.h).
template <int TYPE, int XR>
static void group_plain(float* out, int64_t ldo, const char* x, int64_t ldx, const uint8_t* w, int64_t row_bytes,
                        int64_t blocks, int chunks, const uint8_t* next) {
  constexpr bool kTwoPlanes = TYPE == kSimdQ8_0 || TYPE == kSimdQ4_0;
  const int64_t per_chunk = blocks / chunks;
  const __m256i row_offsets =
      _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(static_cast<int32_t>(row_bytes)));
  alignas(32) float partial[kMaxPairwiseParts][XR][kPlainRows];
  for (int c = 0; c < chunks; c++) {
    __m256 sum[XR];
    for (int a = 0; a < XR; a++) sum[a] = _mm256_setzero_ps();
    for (int64_t t = c * per_chunk; t < (c + 1) * per_chunk; t++) {
      prefetch_ahead(w, next, row_bytes, t, block_bytes_of(TYPE));
      if constexpr (TYPE == kSimdQ8_0) plain_q8_0<XR>(sum, x, ldx, w, row_bytes, t, blocks * kQk8_0, row_offsets);
      else if constexpr (TYPE == kSimdQ4_0) plain_q4_0<XR>(sum, x, ldx, w, row_bytes, t, blocks * kQk8_0, row_offsets);
      else if constexpr (TYPE == kSimdQ6_K) plain_q6_k<XR>(sum, x, ldx, w, row_bytes, t, row_offsets);
      else plain_q4_k<TYPE, XR>(sum, x, ldx, w, row_bytes, t, row_offsets);
    }
    for (int a = 0; a < XR; a++) {
      const __m256 total = kTwoPlanes ? _mm256_mul_ps(sum[a], _mm256_set1_ps(1.0f / kResidualScale)) : sum[a];
      _mm256_store_ps(partial[c][a], total);
    }
  }
  for (int a = 0; a < XR; a++) {
    for (int r = 0; r < kPlainRows; r++) out[a * ldo + r] = pairwise_sum(&partial[0][a][r], XR * kPlainRows, chunks);
  }
}

template <int TYPE>
static void matmul_plain_type(float* out, int64_t ldo, const char* x, int64_t ldx, const SimdQuantWeights& w,
                              int chunks, int64_t rows_x, int64_t rows_w) {
  const uint8_t* first = static_cast<const uint8_t*>(w.rows);
  const int64_t grouped = rows_w / kPlainRows * kPlainRows;
  for (int64_t r = 0; r < grouped; r += kPlainRows) {
    const uint8_t* g = first + r * w.row_bytes;
    for (int64_t i = 0; i < rows_x; i += kPlainMaxX) {
      // the last pass over this group fetches the next one
      const uint8_t* next = i + kPlainMaxX >= rows_x && r + kPlainRows < grouped ? g + kPlainRows * w.row_bytes : nullptr;
      float* o = out + i * ldo + r;
      const char* xs = x + i * ldx;
      switch (rows_x - i >= kPlainMaxX ? kPlainMaxX : rows_x - i) {
        case 4: group_plain<TYPE, 4>(o, ldo, xs, ldx, g, w.row_bytes, w.blocks, chunks, next); break;
        case 3: group_plain<TYPE, 3>(o, ldo, xs, ldx, g, w.row_bytes, w.blocks, chunks, next); break;
        case 2: group_plain<TYPE, 2>(o, ldo, xs, ldx, g, w.row_bytes, w.blocks, chunks, next); break;
        default: group_plain<TYPE, 1>(o, ldo, xs, ldx, g, w.row_bytes, w.blocks, chunks, next); break;
      }
    }
  }
  if (grouped < rows_w) {  // the rows after the last group: the generic kernel
    const SimdQuantWeights tail{first + grouped * w.row_bytes, w.type, w.row_bytes, w.blocks, false};
    matmul_quant_type<TYPE>(out + grouped, ldo, x, ldx, tail, chunks, rows_x, rows_w - grouped);
  }
}

// Whether matmul_plain takes these weights: plain rows whose offsets a gather can index.
static bool plain_takes(const SimdQuantWeights& w) {
  return !w.packed && w.row_bytes * kPlainRows < (int64_t(1) << 31);
}

static void matmul_plain(float* out, int64_t ldo, const void* x, int64_t ldx, const SimdQuantWeights& w, int chunks,
                         int64_t rows_x, int64_t rows_w) {
  const char* xs = static_cast<const char*>(x);
  switch (w.type) {
    case kSimdQ8_0: matmul_plain_type<kSimdQ8_0>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w); break;
    case kSimdQ4_0: matmul_plain_type<kSimdQ4_0>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w); break;
    case kSimdQ4_K: matmul_plain_type<kSimdQ4_K>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w); break;
    case kSimdQ5_K: matmul_plain_type<kSimdQ5_K>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w); break;
    default: matmul_plain_type<kSimdQ6_K>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w); break;
  }
}
