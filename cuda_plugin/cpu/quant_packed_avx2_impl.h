// quant_packed_avx2_impl.h — matmul_quant_avx2 over the interleaved layout (quant_repack.h), every
// type. Included by quant_kernels_avx2.cpp inside its anonymous namespace, after quant_packed_groups.h,
// whose driver (matmul_packed_groups) runs these over the groups.
//
// The K types (Q4_K, Q5_K, Q6_K). AVX-512's form (quant_packed_impl.h) is written for vpdpbusd and 16
// lanes: on AVX2 its 16 rows would be two ymm halves and its accumulators (4 activation rows × 2 halves × 4 chains) spill the 16 registers; it
// takes every 4-weight product to int32 on its own and multiplies whole sub-block sums by the scales
// (vpmulld): two multiply uops per product where AVX-512 spends one vpdpbusd. Here, 8 rows (one ymm)
// and 3 activation rows at a time, the int16 pair sums of vpmaddubsw are added as int16 over as many
// loads as cannot overflow — a pair sum is below 2·15·128, 2·31·128 or 2·63·128 for Q4_K, Q5_K, Q6_K
// levels times |x| ≤ 128, so 8, 4 or 2 loads stay below 32768 — and ONE vpmaddwd against the rows'
// sub-block scales (each in both 16-bit halves of its lane) takes them to int32. The per-block terms
// that the other kernels multiply out (Q4_K / Q5_K's Σ m_j·bsum_j, Q6_K's −32·Σ sc·bsum) are vpmaddwd
// of (scale, scale) pairs against (bsum, bsum) pairs.
//
// Q8_0 and Q4_0 read the activations' wide values (cpu_simd.h: v = kResidualScale·q0 + q1 as
// int16, the two planes as one integer): each 32 bytes of 4 weights × 8 rows split into two vectors of
// int16 pairs, (w0, w2) and (w1, w3) per row, each multiplied by one broadcast pair of v (vpmaddwd):
// 16 products per multiply uop, where the two planes' sign trick on the Q8_0 levels spent six uops
// per 32 (vpsignb, vpmaddubsw, vpmaddwd per plane).
//
// Every integer is the same exact sum as in the scalar kernel, and the f32 steps are cpu_simd.h's in
// the same order: the same bits.

constexpr int kAvx2RowsX = 3;  // activation rows per pass: 3 × 3 accumulators + the weights' registers ≤ 16 ymm
constexpr int kAvx2RowsQ6 = 2;  // Q6_K: its 6-bit levels take more registers to assemble
constexpr int kAvx2RowsQ0 = 4;  // Q8_0 / Q4_0: 2 halves × 4 rows of accumulators + 4 weight vectors + a broadcast

// The 4 bytes at p (4 int8 activations, or a pair of int16 ones) in every 32-bit lane.
static inline __m256i bcast4(const void* p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// a + b in int16 lanes, which the sums above never overflow. Saturating (vpaddsw, as fast as vpaddw):
// the compiler may not reassociate it, so each chain stays one accumulator instead of 8 products
// computed ahead and spilled.
static inline __m256i add16(__m256i a, __m256i b) { return _mm256_adds_epi16(a, b); }

// acc + (a[2i]·b[2i] + a[2i + 1]·b[2i + 1]) per int32 lane. The empty asm pins each sum to a register
// as it is formed: otherwise GCC reassociates the chain, computes the products ahead and spills them
// (int32 adds, unlike add16's, associate).
static inline __m256i madd_acc(__m256i acc, __m256i a, __m256i b) {
  acc = _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
  asm("" : "+x"(acc));
  return acc;
}

// Lanes holding (low 16 bits of a's lane, low 16 bits of b's lane): vpmaddwd's (a, b) pair per row.
static inline __m256i pair16(__m256i a, __m256i b) { return _mm256_blend_epi16(a, _mm256_slli_epi32(b, 16), 0xAA); }

// The 8 bytes at p (one per row), zero- or sign-extended to int32 lanes.
static inline __m256i rows_u8(const uint8_t* p) {
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}
static inline __m256i rows_s8(const uint8_t* p) {
  return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}
static inline __m256 rows_f16(const uint8_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// One block of Q4_K / Q5_K for rows 8·half .. 8·half + 7 of the group block `blk` and XR activation
// rows: sum[a] += (dw·dx)·isum − (dmin·dx)·msum.
template <int TYPE, int XR>
static inline void k45_block_half(__m256* sum, const uint8_t* blk, const BlockQ8_K* const* xb, int half) {
  constexpr int kLoadsPerMadd = TYPE == kSimdQ4_K ? 8 : 4;
  const int h8 = 8 * half;
  const uint8_t* planes = blk + 4 * kG + h8;
  const uint8_t* qh = blk + 16 * kG + 4 * h8;
  const uint8_t* qs = blk + (TYPE == kSimdQ5_K ? 48 : 16) * kG + 4 * h8;
  // The 6-bit scales (sc) and mins (mn) of the 8 rows, unpacked from the 12 planes (k_scale_min).
  __m256i sc16[8], mn[8];
  const __m256i six = _mm256_set1_epi32(63), fifteen = _mm256_set1_epi32(15);
  for (int j = 0; j < 4; j++) {
    sc16[j] = _mm256_and_si256(rows_u8(planes + j * kG), six);
    mn[j] = _mm256_and_si256(rows_u8(planes + (j + 4) * kG), six);
  }
  for (int j = 4; j < 8; j++) {
    const __m256i b_hi = rows_u8(planes + (j + 4) * kG);
    sc16[j] = _mm256_or_si256(_mm256_and_si256(b_hi, fifteen),
                              _mm256_slli_epi32(_mm256_srli_epi32(rows_u8(planes + (j - 4) * kG), 6), 4));
    mn[j] = _mm256_or_si256(_mm256_srli_epi32(b_hi, 4),
                            _mm256_slli_epi32(_mm256_srli_epi32(rows_u8(planes + j * kG), 6), 4));
  }
  for (int j = 0; j < 8; j++) sc16[j] = pair16(sc16[j], sc16[j]);
  __m256i isum[XR], msum[XR];
  for (int a = 0; a < XR; a++) {
    // Σ_j mn_j · b_j, b_j = x summed over sub-block j (two bsums, |b_j| ≤ 32·128: an int16), two
    // sub-blocks per vpmaddwd: the 16 bsums pair-summed (b_0 .. b_7 in int32 lanes), packed to int16
    // (lane m of each half: b_2m, b_2m+1 of that half), one lane broadcast per pair.
    const __m256i b = _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb[a]->bsums)),
                                        _mm256_set1_epi16(1));
    const __m256i pairs = _mm256_packs_epi32(b, b);
    isum[a] = _mm256_setzero_si256();
    msum[a] = _mm256_setzero_si256();
    for (int m = 0; m < 4; m++) {
      const __m256i bm = _mm256_permutevar8x32_epi32(pairs, _mm256_set1_epi32(m % 2 + 4 * (m / 2)));
      msum[a] = _mm256_add_epi32(msum[a], _mm256_madd_epi16(pair16(mn[2 * m], mn[2 * m + 1]), bm));
    }
  }
  const __m256i low4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
#pragma GCC unroll 1
  for (int i = 0; i < 4; i++) {
    __m256i lo16[XR], hi16[XR];
    for (int a = 0; a < XR; a++) lo16[a] = hi16[a] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int q = 0; q < 8; q++) {
      const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 64 * (8 * i + q)));
      __m256i lo = _mm256_and_si256(wv, low4);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(wv, 4), low4);
      if (TYPE == kSimdQ5_K) {
        const __m256i hv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh + 64 * q));
        lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hv, _mm_cvtsi32_si128(2 * i)), one), 4));
        hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hv, _mm_cvtsi32_si128(2 * i + 1)), one), 4));
      }
#pragma GCC unroll 4
      for (int a = 0; a < XR; a++) {
        lo16[a] = add16(lo16[a], _mm256_maddubs_epi16(lo, bcast4(xb[a]->qs + 64 * i + 4 * q)));
        hi16[a] = add16(hi16[a], _mm256_maddubs_epi16(hi, bcast4(xb[a]->qs + 64 * i + 32 + 4 * q)));
      }
      if (q % kLoadsPerMadd == kLoadsPerMadd - 1) {
        for (int a = 0; a < XR; a++) {
          isum[a] = madd_acc(isum[a], lo16[a], sc16[2 * i]);
          isum[a] = madd_acc(isum[a], hi16[a], sc16[2 * i + 1]);
          lo16[a] = hi16[a] = _mm256_setzero_si256();
        }
      }
    }
  }
  const __m256 dw = rows_f16(blk + 2 * h8), dmin = rows_f16(blk + 2 * kG + 2 * h8);
  for (int a = 0; a < XR; a++) {
    const __m256 dx = _mm256_set1_ps(xb[a]->d);
    sum[a] = _mm256_fmadd_ps(_mm256_mul_ps(dw, dx), _mm256_cvtepi32_ps(isum[a]), sum[a]);
    sum[a] = _mm256_fnmadd_ps(_mm256_mul_ps(dmin, dx), _mm256_cvtepi32_ps(msum[a]), sum[a]);
  }
}

// One block of Q6_K for rows 8·half .. 8·half + 7: sum[a] += (dw·dx)·isum.
template <int XR>
static inline void k6_block_half(__m256* sum, const uint8_t* blk, const BlockQ8_K* const* xb, int half) {
  const int h8 = 8 * half;
  const uint8_t* ql = blk + 4 * h8;
  const uint8_t* qh = blk + 128 * kG + 4 * h8;
  const uint8_t* scales = blk + 192 * kG + h8;
  __m256i isum[XR];
  {
    // −32 · Σ_sub sc_sub · bsum_sub (the levels' offset), two sub-blocks per vpmaddwd.
    __m256i pairs[8];
    for (int m = 0; m < 8; m++) pairs[m] = pair16(rows_s8(scales + 2 * m * kG), rows_s8(scales + (2 * m + 1) * kG));
    for (int a = 0; a < XR; a++) {
      __m256i offset = _mm256_setzero_si256();
      for (int m = 0; m < 8; m++) offset = _mm256_add_epi32(offset, _mm256_madd_epi16(pairs[m], bcast4(xb[a]->bsums + 2 * m)));
      isum[a] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(offset, 5));
    }
  }
  const __m256i low4 = _mm256_set1_epi8(0x0F), bits45 = _mm256_set1_epi8(0x30);
#pragma GCC unroll 1
  for (int h = 0; h < 2; h++) {
#pragma GCC unroll 2
    for (int s = 0; s < 2; s++) {
#pragma GCC unroll 2
      for (int u = 0; u < 2; u++) {
        const int sub_lo = 8 * h + 2 * s + u, sub_hi = 8 * h + 4 + 2 * s + u;
        const __m256i sc_lo = rows_s8(scales + sub_lo * kG), sc_hi = rows_s8(scales + sub_hi * kG);
        const __m256i sc16_lo = pair16(sc_lo, sc_lo), sc16_hi = pair16(sc_hi, sc_hi);
        __m256i lo16[XR], hi16[XR];
#pragma GCC unroll 4
        for (int q = 4 * u; q < 4 * u + 4; q++) {
          const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 64 * ((2 * h + s) * 8 + q)));
          const __m256i hv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh + 64 * (8 * h + q)));
          // The high 2 bits of the low levels are qh's bits 2s, 2s + 1, of the high ones bits 4 + 2s,
          // 5 + 2s: moved to bits 4, 5 of each byte by one 16-bit shift (s = 0: left 4, none; s = 1:
          // left 2, right 2), the bits a shift carries across a byte boundary masked off with the rest.
          const __m256i h_lo = _mm256_and_si256(s == 0 ? _mm256_slli_epi16(hv, 4) : _mm256_slli_epi16(hv, 2), bits45);
          const __m256i h_hi = _mm256_and_si256(s == 0 ? hv : _mm256_srli_epi16(hv, 2), bits45);
          const __m256i lo = _mm256_or_si256(_mm256_and_si256(wv, low4), h_lo);
          const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(wv, 4), low4), h_hi);
#pragma GCC unroll 4
          for (int a = 0; a < XR; a++) {
            const __m256i p_lo = _mm256_maddubs_epi16(lo, bcast4(xb[a]->qs + 128 * h + 32 * s + 4 * q));
            const __m256i p_hi = _mm256_maddubs_epi16(hi, bcast4(xb[a]->qs + 128 * h + 64 + 32 * s + 4 * q));
            lo16[a] = q % 2 == 0 ? p_lo : add16(lo16[a], p_lo);
            hi16[a] = q % 2 == 0 ? p_hi : add16(hi16[a], p_hi);
          }
          if (q % 2 == 1) {
            for (int a = 0; a < XR; a++) {
              isum[a] = madd_acc(isum[a], lo16[a], sc16_lo);
              isum[a] = madd_acc(isum[a], hi16[a], sc16_hi);
            }
          }
        }
      }
    }
  }
  const __m256 dw = rows_f16(blk + 208 * kG + 2 * h8);
  for (int a = 0; a < XR; a++) {
    sum[a] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(xb[a]->d)), _mm256_cvtepi32_ps(isum[a]), sum[a]);
  }
}

// out[a·ldo + r] = the chunks' partial sums of (activation row a, group row r) added pairwise, 8
// lanes at once (partial: [chunk][a][16], rows_x rows).
static inline void store_group(float* out, int64_t ldo, const float* partial, int rows_x, int chunks) {
  for (int a = 0; a < rows_x; a++) {
    for (int half = 0; half < 2; half++) {
      const float* first = partial + a * kG + 8 * half;
      _mm256_storeu_ps(out + a * ldo + 8 * half, pairwise_sum_of(
          chunks, _mm256_setzero_ps(), [&](int j) { return _mm256_load_ps(first + j * rows_x * kG); },
          [&](__m256 l, __m256 r) { return _mm256_add_ps(l, r); }));
    }
  }
}

// acc + the products of the int16 pairs (u[2i], u[2i + 1]) with (v0, v1) = the broadcast pair at p.
static inline __m256i madd_pair(__m256i acc, __m256i u, const int16_t* p) { return madd_acc(acc, u, bcast4(p)); }

// acc + one quad of k (4 weights of 8 rows, as the int16 pairs (w0, w2) and (w1, w3) per row) times
// the wide values at p, which hold that quad as v0, v2, v1, v3.
static inline __m256i madd_quad(__m256i acc, __m256i even, __m256i odd, const int16_t* p) {
  return madd_pair(madd_pair(acc, even, p), odd, p + 2);
}

// One block of Q8_0 / Q4_0 for all 16 rows of the group block `blk` and XR activation rows' wide
// values (wide[a] at the block): sum[a·16 + r] += (dw·dx)·isum (the sums in memory, which leaves the
// registers to the integer accumulators). The stored levels are unsigned (Q8_0's
// + 128, Q4_0's + 8), so each row's integer starts at −offset·Σv (Σv = kResidualScale·Σq0 + Σq1 from
// the planes' block sums).
template <int TYPE, int XR>
static inline void q0_block(float* sum, const uint8_t* blk, const int16_t* const* wide, const int32_t* vsum,
                            const float* dx) {
  const uint8_t* qs = blk + 2 * kG;
  __m256i acc[2][XR];
  for (int a = 0; a < XR; a++) acc[0][a] = acc[1][a] = _mm256_set1_epi32((TYPE == kSimdQ8_0 ? -128 : -8) * vsum[a]);
  if (TYPE == kSimdQ8_0) {
    const __m256i low8 = _mm256_set1_epi16(0x00FF);
#pragma GCC unroll 8
    for (int q = 0; q < 8; q++) {
      __m256i even[2], odd[2];  // per half: levels 4q, 4q + 2 and 4q + 1, 4q + 3 of each row as int16
      for (int half = 0; half < 2; half++) {
        const __m256i u = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 64 * q + 32 * half));
        even[half] = _mm256_and_si256(u, low8);
        odd[half] = _mm256_srli_epi16(u, 8);
      }
#pragma GCC unroll 4
      for (int a = 0; a < XR; a++) {
        for (int half = 0; half < 2; half++) acc[half][a] = madd_quad(acc[half][a], even[half], odd[half], wide[a] + 4 * q);
      }
    }
  } else {
    const __m256i low4 = _mm256_set1_epi16(0x000F);
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) {
      // Byte j of a row's dword: level 4q + j (low nibble) and 16 + 4q + j (high nibble).
      __m256i lo_even[2], lo_odd[2], hi_even[2], hi_odd[2];
      for (int half = 0; half < 2; half++) {
        const __m256i u = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 64 * q + 32 * half));
        lo_even[half] = _mm256_and_si256(u, low4);
        lo_odd[half] = _mm256_and_si256(_mm256_srli_epi16(u, 8), low4);
        hi_even[half] = _mm256_and_si256(_mm256_srli_epi16(u, 4), low4);
        hi_odd[half] = _mm256_srli_epi16(u, 12);
      }
#pragma GCC unroll 4
      for (int a = 0; a < XR; a++) {
        for (int half = 0; half < 2; half++) {
          acc[half][a] = madd_quad(acc[half][a], lo_even[half], lo_odd[half], wide[a] + 4 * q);
          acc[half][a] = madd_quad(acc[half][a], hi_even[half], hi_odd[half], wide[a] + 16 + 4 * q);
        }
      }
    }
  }
  for (int half = 0; half < 2; half++) {
    const __m256 dw = rows_f16(blk + 16 * half);
    for (int a = 0; a < XR; a++) {
      float* s = sum + a * kG + 8 * half;
      _mm256_store_ps(s, _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(dx[a])), _mm256_cvtepi32_ps(acc[half][a]),
                                         _mm256_load_ps(s)));
    }
  }
}

// One 16-row group (g) of Q8_0 / Q4_0 times XR activation rows, every block, in `chunks` runs
// (cpu_simd.h), each run's sums times 1 / kResidualScale.
template <int TYPE, int XR>
struct PackedQ0Group {
  static void run(float* out, int64_t ldo, const char* x, int64_t ldx, const uint8_t* g, int64_t blocks, int64_t k,
                  int chunks, bool first_pass) {
    const int64_t per_chunk = blocks / chunks;
    const int64_t block_bytes = kG * block_bytes_of(TYPE);
    const int64_t sums = quant_activation_sums(k), plane1 = quant_activation_plane(k);
    alignas(32) float partial[kMaxPairwiseParts][XR][kG];
    for (int c = 0; c < chunks; c++) {
      float* sum = partial[c][0];
      for (int a = 0; a < XR; a++) {
        _mm256_store_ps(sum + a * kG, _mm256_setzero_ps());
        _mm256_store_ps(sum + a * kG + 8, _mm256_setzero_ps());
      }
      for (int64_t t = c * per_chunk; t < (c + 1) * per_chunk; t++) {
        const uint8_t* blk = g + t * block_bytes;
        if (first_pass) prefetch_block(blk, block_bytes);  // later passes find the group in cache
        const int16_t* wide[XR];
        int32_t vsum[XR];
        float dx[XR];
        for (int a = 0; a < XR; a++) {
          const char* row = x + a * ldx;
          wide[a] = reinterpret_cast<const int16_t*>(row + quant_activation_wide(k)) + 32 * t;
          int32_t s0, s1;
          __builtin_memcpy(&s0, row + sums + 4 * t, 4);
          __builtin_memcpy(&s1, row + plane1 + sums + 4 * t, 4);
          vsum[a] = s0 * (1 << kResidualBits) + s1;
          dx[a] = _cvtsh_ss(reinterpret_cast<const BlockQ8_0*>(row)[t].d);
        }
        q0_block<TYPE, XR>(sum, blk, wide, vsum, dx);
      }
      for (int i = 0; i < XR * kG; i += 8) {
        _mm256_store_ps(sum + i, _mm256_mul_ps(_mm256_load_ps(sum + i), _mm256_set1_ps(1.0f / kResidualScale)));
      }
    }
    store_group(out, ldo, &partial[0][0][0], XR, chunks);
  }
};

// One 16-row group (g) times XR activation rows, every block, in `chunks` runs (cpu_simd.h).
template <int TYPE, int XR>
struct PackedKGroup {
  static void run(float* out, int64_t ldo, const char* x, int64_t ldx, const uint8_t* g, int64_t blocks, int64_t,
                  int chunks, bool first_pass) {
    const int64_t per_chunk = blocks / chunks;
    const int64_t block_bytes = kG * block_bytes_of(TYPE);
    alignas(32) float partial[kMaxPairwiseParts][XR][kG];
    for (int c = 0; c < chunks; c++) {
      __m256 sum[2][XR];
      for (int a = 0; a < XR; a++) sum[0][a] = sum[1][a] = _mm256_setzero_ps();
      for (int64_t t = c * per_chunk; t < (c + 1) * per_chunk; t++) {
        const uint8_t* blk = g + t * block_bytes;
        if (first_pass) prefetch_block(blk, block_bytes);  // later passes find the group in cache
        const BlockQ8_K* xb[XR];
        for (int a = 0; a < XR; a++) xb[a] = reinterpret_cast<const BlockQ8_K*>(x + a * ldx) + t;
        for (int half = 0; half < 2; half++) {
          if (TYPE == kSimdQ6_K) k6_block_half<XR>(sum[half], blk, xb, half);
          else k45_block_half<TYPE, XR>(sum[half], blk, xb, half);
        }
      }
      for (int a = 0; a < XR; a++) {
        _mm256_store_ps(partial[c][a], sum[0][a]);
        _mm256_store_ps(partial[c][a] + 8, sum[1][a]);
      }
    }
    store_group(out, ldo, &partial[0][0][0], XR, chunks);
  }
};

