// quant_plain_impl.h — matmul_quant_avx512 on plain ggml rows (the GGUF bytes in place, `row_bytes`
// apart) for Q8_0, Q4_K and Q6_K, 16 weight rows and up to 4 activation rows at a time: decode, and
// whatever does not fill an AMX tile. Included by quant_kernels_avx512.cpp inside its anonymous
// namespace, after quant_impl.h, whose generic kernels take the rows after the last group of 16.
//
// "Rows in lanes": every block's integer dots end up in ONE zmm whose lane r is row r's exact block
// sum, so the f32 steps of cpu_simd.h run lane-wise over the 16 rows exactly as in
// quant_packed_impl.h (and give the scalar kernel's bits: integer sums are exact, so how they are
// grouped changes nothing). Two ways to get there:
//  - Q4_K / Q6_K: each row's dot is computed on that row's own bytes (vpmaddubsw, then vpdpwssd
//    against its sub-block scales) into a vector of partial sums, and a transpose-reduce tree
//    (tree_push) adds the 16 rows' vectors into one. Their per-row f16 scales and Q4_K's mins term
//    are gathered or transposed into the same lane order.
//  - Q8_0 (32-weight blocks: a tree per block and activation plane would cost more than the dots)
//    transposes the 16 rows' 32 bytes in registers instead, so each vpdpbusd with 4 broadcast
//    activations adds to all 16 rows at once, as on the interleaved layout. Its weights are signed:
//    vpdpbusd reads them + 128 (w ^ 0x80) and the plane's block sum of x (stored after its blocks)
//    takes the 128·Σx back out.
// The 16 rows are 16 streams, more than the hardware prefetcher follows: prefetch_ahead fetches them
// by hand.

constexpr int kPlainRows = 16;
constexpr int64_t kPlainPrefetchBytes = 512;  // how far ahead each row's stream is prefetched

// combine<S>(a, b): lane l = v[l] + v[l ^ S] with v = b where l has bit S, else a. Pairs of
// vectors of partial sums become one with half as many lanes per source.
template <int S>
static inline __m512i combine(__m512i a, __m512i b) {
  alignas(64) static const int32_t kIndex[4][16] = {
      {1, 16, 3, 18, 5, 20, 7, 22, 9, 24, 11, 26, 13, 28, 15, 30},  // (l & S ? 16 : 0) + (l ^ S)
      {2, 3, 16, 17, 6, 7, 20, 21, 10, 11, 24, 25, 14, 15, 28, 29},
      {4, 5, 6, 7, 16, 17, 18, 19, 12, 13, 14, 15, 24, 25, 26, 27},
      {8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23},
  };
  constexpr int kLevel = S == 1 ? 0 : S == 2 ? 1 : S == 4 ? 2 : 3;
  constexpr __mmask16 kFromB = S == 1 ? 0xAAAA : S == 2 ? 0xCCCC : S == 4 ? 0xF0F0 : 0xFF00;
  const __m512i partner = _mm512_maskz_permutex2var_epi32(kAll16, a, _mm512_load_si512(kIndex[kLevel]), b);
  return _mm512_add_epi32(_mm512_mask_blend_epi32(kFromB, a, b), partner);
}

// Adds leaf `leaf` (leaves come in order 0, 1, 2, ...) to a transpose-reduce tree: after 2^n leaves
// pending[n] holds lane l = the sum of leaf l's lanes for 16 leaves (n = 4), or of leaf l % 8's
// lower (l < 8) or upper half for 8 leaves (n = 3), 4 leaves: of leaf l % 4's 128-bit lane l / 4.
// `leaf` is a constant once the caller's loop is unrolled, and so is the tree's shape.
static inline void tree_push(__m512i* pending, int leaf, __m512i v) {
  if (leaf & 1) {
    v = combine<1>(pending[0], v);
    if (leaf & 2) {
      v = combine<2>(pending[1], v);
      if (leaf & 4) {
        v = combine<4>(pending[2], v);
        if (leaf & 8) {
          pending[4] = combine<8>(pending[3], v);
          return;
        }
        pending[3] = v;
        return;
      }
      pending[2] = v;
      return;
    }
    pending[1] = v;
    return;
  }
  pending[0] = v;
}

static inline __m512i load512(const void* p) { return _mm512_loadu_si512(p); }
static inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
static inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
static inline __m512i zext128(__m128i v) { return _mm512_maskz_inserti32x4(kAll16, _mm512_setzero_si512(), v, 0); }
static inline __m512i zext256(__m256i v) { return _mm512_maskz_inserti64x4(0xFF, _mm512_setzero_si512(), v, 0); }
static inline __m512i bcast256(const void* p) { return _mm512_maskz_broadcast_i64x4(0xFF, load256(p)); }
static inline __m512 halves_to_f32(__m512i v) {  // the low 16 bits of each lane, an f16
  return _mm512_maskz_cvtph_ps(kAll16, _mm512_maskz_cvtepi32_epi16(kAll16, v));
}
static inline __m512 to_f32(__m512i v) { return _mm512_maskz_cvtepi32_ps(kAll16, v); }

// The dword at `first + offset + r·row_bytes` of each row r, in lane r.
static inline __m512i gather_rows(const uint8_t* first, __m512i row_offsets, int offset) {
  return _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), kAll16, row_offsets, first + offset, 1);
}

// Software prefetch. The 16 rows are 16 streams, more than the hardware prefetcher follows, so each
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
  // Blocks shorter than a line (Q8_0): when the rows are whole lines apart, every row's line is the
  // one the previous block fetched unless this block starts a new one.
  if (block_bytes < 64 && row_bytes % 64 == 0 && reinterpret_cast<uintptr_t>(at) % 64 >= static_cast<uint64_t>(block_bytes)) {
    return;
  }
  prefetch_lines(at, row_bytes, block_bytes);
}

// The f32 steps per block shared by every type: sum = fma(dw·dx, isum, sum), lane-wise.
static inline __m512 step(__m512 sum, __m512 dw, float dx, __m512i isum) {
  return _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(dx)), to_f32(isum), sum);
}

// Q8_0: per block, the 16 rows' 32 bytes are transposed in registers (two rows to a zmm, then 4 × 4
// dword transposes inside 128-bit lanes, then a 128-bit shuffle: 24 shuffles) into 8 vectors whose
// lane r holds 4 weights of row r, so each vpdpbusd with 4 broadcast activations adds to all 16 rows'
// sums and no reduction is left (what quant_repack.h does once at load, done per block here; it
// pays for itself over both activation planes and every activation row).
template <int XR>
static void plain_q8_0(__m512 (&sum)[XR], const char* x, int64_t ldx, const uint8_t* w, int64_t row_bytes,
                       int64_t t, int64_t k, __m512i row_offsets) {
  const int64_t plane1 = quant_activation_plane(k);
  const uint8_t* blk = w + t * static_cast<int64_t>(sizeof(BlockQ8_0));
  const __m512 dw = halves_to_f32(gather_rows(blk, row_offsets, 0));
  // z[i]: rows i and i + 4 (i < 4), rows i + 4 and i + 8 (i >= 4), which the shuffles below put in order.
  __m512i z[8];
#pragma GCC unroll 8
  for (int i = 0; i < 8; i++) {
    const int row = i < 4 ? i : i + 4;
    const __m512i low = _mm512_maskz_loadu_epi64(0x0F, blk + row * row_bytes + 2);
    z[i] = _mm512_maskz_inserti64x4(0xFF, low, load256(blk + (row + 4) * row_bytes + 2), 1);
  }
  __m512i quads[2][4];  // per 128-bit lane: dword c of 4 rows
  for (int q = 0; q < 2; q++) {
    const __m512i a0 = _mm512_maskz_unpacklo_epi32(kAll16, z[4 * q], z[4 * q + 1]);
    const __m512i a1 = _mm512_maskz_unpackhi_epi32(kAll16, z[4 * q], z[4 * q + 1]);
    const __m512i a2 = _mm512_maskz_unpacklo_epi32(kAll16, z[4 * q + 2], z[4 * q + 3]);
    const __m512i a3 = _mm512_maskz_unpackhi_epi32(kAll16, z[4 * q + 2], z[4 * q + 3]);
    quads[q][0] = _mm512_maskz_unpacklo_epi64(0xFF, a0, a2);
    quads[q][1] = _mm512_maskz_unpackhi_epi64(0xFF, a0, a2);
    quads[q][2] = _mm512_maskz_unpacklo_epi64(0xFF, a1, a3);
    quads[q][3] = _mm512_maskz_unpackhi_epi64(0xFF, a1, a3);
  }
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));  // + 128: vpdpbusd's unsigned operand
  __m512i wv[8];  // wv[j] lane r: weights 4j .. 4j + 3 of row r, + 128
  for (int c = 0; c < 4; c++) {
    wv[c] = _mm512_xor_si512(_mm512_maskz_shuffle_i32x4(kAll16, quads[0][c], quads[1][c], _MM_SHUFFLE(2, 0, 2, 0)), flip);
    wv[c + 4] = _mm512_xor_si512(_mm512_maskz_shuffle_i32x4(kAll16, quads[0][c], quads[1][c], _MM_SHUFFLE(3, 1, 3, 1)), flip);
  }
#pragma GCC unroll 4
  for (int a = 0; a < XR; a++) {
    __m512i plane_sum[2];
#pragma GCC unroll 2
    for (int p = 0; p < 2; p++) {
      const char* plane = x + a * ldx + p * plane1;
      const BlockQ8_0* xb = reinterpret_cast<const BlockQ8_0*>(plane) + t;
      int32_t xsum;
      __builtin_memcpy(&xsum, plane + quant_activation_sums(k) + 4 * t, 4);
      __m512i chain[2] = {_mm512_set1_epi32(-128 * xsum), _mm512_setzero_si512()};  // two for latency
#pragma GCC unroll 8
      for (int j = 0; j < 8; j++) {
        int32_t quad;
        __builtin_memcpy(&quad, xb->qs + 4 * j, 4);
        chain[j % 2] = _mm512_dpbusd_epi32(chain[j % 2], wv[j], _mm512_set1_epi32(quad));
      }
      plane_sum[p] = _mm512_add_epi32(chain[0], chain[1]);
    }
    // The block's integer: kResidualScale·(plane 0's) + plane 1's, in plane 0's steps (cpu_simd.h).
    const __m512i isum = _mm512_add_epi32(_mm512_maskz_slli_epi32(kAll16, plane_sum[0], kResidualBits), plane_sum[1]);
    sum[a] = step(sum[a], dw, _cvtsh_ss(reinterpret_cast<const BlockQ8_0*>(x + a * ldx)[t].d), isum);
  }
}

// Q4_K: the 16 rows' 16-byte heads (d, dmin, 12 scale bytes) four to a zmm (rows j, j + 4, j + 8,
// j + 12 in its 128-bit lanes), from which d, dmin and the unpacked scales and mins come for all
// rows at once; per row, each 32 bytes of nibbles broadcast to both halves and split (low nibbles
// low, high nibbles high: sub-blocks 2i and 2i + 1, i.e. 64 consecutive x), vpmaddubsw with x, then
// vpdpwssd with the two sub-blocks' scales; a 16-leaf tree. The mins term: per 4 rows, vpmaddwd of
// their mins with x's sub-block sums, a 4-leaf tree.
template <int XR>
static void plain_q4_k(__m512 (&sum)[XR], const char* x, int64_t ldx, const uint8_t* w, int64_t row_bytes,
                       int64_t t) {
  const uint8_t* blk = w + t * static_cast<int64_t>(sizeof(BlockQ4_K));
  __m512i head[4], sm[4];  // sm: per 128-bit lane, scale j at byte j, min j at byte 8 + j
  for (int j = 0; j < 4; j++) {
    const __m512i lanes01 = _mm512_inserti32x4(zext128(load128(blk + j * row_bytes)),
                                               load128(blk + (j + 4) * row_bytes), 1);
    const __m512i lanes012 = _mm512_inserti32x4(lanes01, load128(blk + (j + 8) * row_bytes), 2);
    head[j] = _mm512_inserti32x4(lanes012, load128(blk + (j + 12) * row_bytes), 3);
  }
  const __m512i d_dmin = _mm512_maskz_unpacklo_epi64(0xFF, _mm512_maskz_unpacklo_epi32(kAll16, head[0], head[1]),
                                               _mm512_maskz_unpacklo_epi32(kAll16, head[2], head[3]));
  const __m512 dw = halves_to_f32(d_dmin);
  const __m512 dmin = halves_to_f32(_mm512_maskz_srli_epi32(kAll16, d_dmin, 16));
  {
    // Dwords per lane: [d dmin, A, B, C] → [A & 0x3f…, (C & 0x0f…) | (A >> 6) << 4, B & 0x3f…,
    // (C >> 4) | (B >> 6) << 4] bytewise: k_scale_min for the 8 sub-blocks.
    const __m512i keep6 = _mm512_maskz_broadcast_i32x4(kAll16, _mm_set_epi32(0, 0x3f3f3f3f, 0, 0x3f3f3f3f));
    const __m512i top2 = _mm512_maskz_broadcast_i32x4(kAll16, _mm_set_epi32(0x30303030, 0, 0x30303030, 0));
    const __m512i low4 = _mm512_maskz_broadcast_i32x4(kAll16, _mm_set_epi32(0x0f0f0f0f, 0, 0x0f0f0f0f, 0));
    const __m512i shift = _mm512_maskz_broadcast_i32x4(kAll16, _mm_set_epi32(4, 0, 0, 0));
    for (int j = 0; j < 4; j++) {
      const __m512i ab = _mm512_maskz_shuffle_epi32(kAll16, head[j], _MM_PERM_CCBB);
      const __m512i c = _mm512_maskz_shuffle_epi32(kAll16, head[j], _MM_PERM_DDDD);
      const __m512i high = _mm512_and_si512(_mm512_maskz_srli_epi32(kAll16, ab, 2), top2);
      sm[j] = _mm512_or_si512(_mm512_and_si512(ab, keep6),
                              _mm512_or_si512(high, _mm512_and_si512(_mm512_maskz_srlv_epi32(kAll16, c, shift), low4)));
    }
  }
  const BlockQ8_K* xb[XR];
  __m512i msum[XR];
  {
    const __m512i mins = _mm512_maskz_broadcast_i32x4(kAll16,   // the 8 mins as words
        _mm_set_epi16(-32753, -32754, -32755, -32756, -32757, -32758, -32759, -32760));
    for (int a = 0; a < XR; a++) {
      xb[a] = reinterpret_cast<const BlockQ8_K*>(x + a * ldx) + t;
      const __m512i pair_sums =
          _mm512_maskz_broadcast_i32x4(kAll16, _mm_hadd_epi16(load128(xb[a]->bsums), load128(xb[a]->bsums + 8)));
      __m512i pending[5] = {};
      for (int j = 0; j < 4; j++) {
        tree_push(pending, j, _mm512_madd_epi16(_mm512_shuffle_epi8(sm[j], mins), pair_sums));
      }
      msum[a] = pending[2];
    }
  }
  const __m512i nibble_shift = _mm512_mask_blend_epi16(0xFFFF0000, _mm512_setzero_si512(), _mm512_set1_epi16(4));
  const __m512i nibble = _mm512_set1_epi8(0x0F);
  __m512i scale_pick[4];  // sub-block 2i's scale as words in the low half, 2i + 1's in the high half
  for (int i = 0; i < 4; i++) {
    scale_pick[i] = _mm512_mask_blend_epi16(0xFFFF0000, _mm512_set1_epi16(static_cast<short>(0x8000 | (2 * i))),
                                            _mm512_set1_epi16(static_cast<short>(0x8000 | (2 * i + 1))));
  }
  const __m512i lane_of_row = _mm512_maskz_broadcast_i32x4(kAll16, _mm_set_epi32(3, 2, 1, 0));  // + 4·(r / 4): row r's 128-bit lane
  __m512i pending[XR][5] = {};
#pragma GCC unroll 16
  for (int r = 0; r < kPlainRows; r++) {
    const uint8_t* qs = blk + r * row_bytes + offsetof(BlockQ4_K, qs);
    const __m512i row_sm = _mm512_maskz_permutexvar_epi32(kAll16, _mm512_add_epi32(lane_of_row, _mm512_set1_epi32(r / 4 * 4)), sm[r % 4]);
    __m512i acc[XR];
    for (int a = 0; a < XR; a++) acc[a] = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
      const __m512i levels = _mm512_and_si512(_mm512_srlv_epi16(bcast256(qs + 32 * i), nibble_shift), nibble);
      const __m512i scales = _mm512_shuffle_epi8(row_sm, scale_pick[i]);
#pragma GCC unroll 4
      for (int a = 0; a < XR; a++) {
        acc[a] = _mm512_dpwssd_epi32(acc[a], _mm512_maddubs_epi16(levels, load512(xb[a]->qs + 64 * i)), scales);
      }
    }
    for (int a = 0; a < XR; a++) tree_push(pending[a], r, acc[a]);
  }
  for (int a = 0; a < XR; a++) {
    sum[a] = step(sum[a], dw, xb[a]->d, pending[a][4]);
    sum[a] = _mm512_fnmadd_ps(_mm512_mul_ps(dmin, _mm512_set1_ps(xb[a]->d)), to_f32(msum[a]), sum[a]);
  }
}

// Q6_K: per row and half, the 64 low-nibble bytes in one zmm and the 32 high-bit bytes broadcast to
// both halves give the levels of 64 consecutive x twice (low nibbles, then high nibbles), shifted
// per half with vpsllvw / vpsrlvw; vpmaddubsw with x, vpdpwssd with the 16-value sub-blocks' scales
// (sign-extended words spread by vpermw), the −32 offset as −32·scales·(x's sub-block sums) to
// start from; a 16-leaf tree.
template <int XR>
static void plain_q6_k(__m512 (&sum)[XR], const char* x, int64_t ldx, const uint8_t* w, int64_t row_bytes,
                       int64_t t, __m512i row_offsets) {
  const uint8_t* blk = w + t * static_cast<int64_t>(sizeof(BlockQ6_K));
  // d is the last 2 bytes of the block: the dword before it keeps the gather inside the row.
  const __m512 dw = halves_to_f32(_mm512_maskz_srli_epi32(kAll16, gather_rows(blk, row_offsets, offsetof(BlockQ6_K, d) - 2), 16));
  const BlockQ8_K* xb[XR];
  __m256i bsums[XR];
  for (int a = 0; a < XR; a++) {
    xb[a] = reinterpret_cast<const BlockQ8_K*>(x + a * ldx) + t;
    bsums[a] = load256(xb[a]->bsums);
  }
  const __m512i nibble = _mm512_set1_epi8(0x0F);
  const __m512i two_bits = _mm512_set1_epi8(0x30);
  const __m512i shift_first = _mm512_mask_blend_epi16(0xFFFF0000, _mm512_set1_epi16(4), _mm512_set1_epi16(2));
  const __m512i shift_second = _mm512_mask_blend_epi16(0xFFFF0000, _mm512_setzero_si512(), _mm512_set1_epi16(2));
  // Word l of 64 x's products is x pair l: sub-block l / 8 of the 4 (scale 8h + 4g + l / 8).
  const __m512i sub_block = _mm512_srli_epi16(
      _mm512_set_epi16(31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7,
                       6, 5, 4, 3, 2, 1, 0), 3);
  __m512i pending[XR][5] = {};
#pragma GCC unroll 16
  for (int r = 0; r < kPlainRows; r++) {
    const BlockQ6_K* q = reinterpret_cast<const BlockQ6_K*>(blk + r * row_bytes);
    const __m256i sc = _mm256_cvtepi8_epi16(load128(q->scales));
    const __m512i sc_words = zext256(sc);
    const __m256i offset_scales = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(sc, 5));
    __m512i acc[XR];
    for (int a = 0; a < XR; a++) acc[a] = zext256(_mm256_madd_epi16(offset_scales, bsums[a]));
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      const __m512i low = load512(q->ql + 64 * h);
      const __m512i high = bcast256(q->qh + 32 * h);
      const __m512i levels[2] = {
          _mm512_ternarylogic_epi32(low, nibble, _mm512_and_si512(_mm512_sllv_epi16(high, shift_first), two_bits), 0xEA),
          _mm512_ternarylogic_epi32(_mm512_srli_epi16(low, 4), nibble,
                                    _mm512_and_si512(_mm512_srlv_epi16(high, shift_second), two_bits), 0xEA),
      };
#pragma GCC unroll 2
      for (int g = 0; g < 2; g++) {
        const __m512i pick = _mm512_add_epi16(sub_block, _mm512_set1_epi16(static_cast<short>(8 * h + 4 * g)));
        const __m512i scales = _mm512_permutexvar_epi16(pick, sc_words);
#pragma GCC unroll 4
        for (int a = 0; a < XR; a++) {
          acc[a] = _mm512_dpwssd_epi32(acc[a], _mm512_maddubs_epi16(levels[g], load512(xb[a]->qs + 128 * h + 64 * g)),
                                       scales);
        }
      }
    }
    for (int a = 0; a < XR; a++) tree_push(pending[a], r, acc[a]);
  }
  for (int a = 0; a < XR; a++) sum[a] = step(sum[a], dw, xb[a]->d, pending[a][4]);
}

// One group of 16 rows against XR activation rows, chunk by chunk (cpu_simd.h).
template <int TYPE, int XR>
static void group_plain(float* out, int64_t ldo, const char* x, int64_t ldx, const uint8_t* w, int64_t row_bytes,
                        int64_t blocks, int chunks, const uint8_t* next) {
  const int64_t per_chunk = blocks / chunks;
  const __m512i row_offsets = _mm512_mullo_epi32(
      _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), _mm512_set1_epi32(static_cast<int32_t>(row_bytes)));
  alignas(64) float partial[kMaxPairwiseParts][XR][kPlainRows];
  for (int c = 0; c < chunks; c++) {
    __m512 sum[XR];
    for (int a = 0; a < XR; a++) sum[a] = _mm512_setzero_ps();
    for (int64_t t = c * per_chunk; t < (c + 1) * per_chunk; t++) {
      prefetch_ahead(w, next, row_bytes, t, block_bytes_of(TYPE));
      if constexpr (TYPE == kSimdQ8_0) plain_q8_0<XR>(sum, x, ldx, w, row_bytes, t, blocks * kQk8_0, row_offsets);
      else if constexpr (TYPE == kSimdQ4_K) plain_q4_k<XR>(sum, x, ldx, w, row_bytes, t);
      else plain_q6_k<XR>(sum, x, ldx, w, row_bytes, t, row_offsets);
    }
    for (int a = 0; a < XR; a++) {
      const __m512 total = TYPE == kSimdQ8_0 ? _mm512_mul_ps(sum[a], _mm512_set1_ps(1.0f / kResidualScale)) : sum[a];
      _mm512_store_ps(partial[c][a], total);
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
    for (int64_t i = 0; i < rows_x; i += 4) {
      // the last pass over this group fetches the next one
      const uint8_t* next = i + 4 >= rows_x && r + kPlainRows < grouped ? g + kPlainRows * w.row_bytes : nullptr;
      float* o = out + i * ldo + r;
      const char* xs = x + i * ldx;
      switch (rows_x - i >= 4 ? 4 : rows_x - i) {
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

// Whether matmul_plain takes these plain rows: its types, and row offsets a gather can index.
static bool plain_takes(const SimdQuantWeights& w) {
  const bool type = w.type == kSimdQ8_0 || w.type == kSimdQ4_K || w.type == kSimdQ6_K;
  return type && !w.packed && w.row_bytes * kPlainRows < (int64_t(1) << 31);
}

static void matmul_plain(float* out, int64_t ldo, const void* x, int64_t ldx, const SimdQuantWeights& w, int chunks,
                         int64_t rows_x, int64_t rows_w) {
  const char* xs = static_cast<const char*>(x);
  switch (w.type) {
    case kSimdQ8_0: matmul_plain_type<kSimdQ8_0>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w); break;
    case kSimdQ4_K: matmul_plain_type<kSimdQ4_K>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w); break;
    default: matmul_plain_type<kSimdQ6_K>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w); break;
  }
}
