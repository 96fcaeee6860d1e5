// quant_impl.h — cpu_simd.h's matmul_quant written once over a small set of integer primitives P
// (see quant_kernels_*.cpp), so the scalar, AVX2 and AVX-512 VNNI paths do the same arithmetic and
// give the same bits. Included only by those files, inside an anonymous namespace, after their
// target pragma.
//
// P provides 32 int8 lanes (I8), 16 int16 (I16), 8 int32 (I32) and 8 f32 (F8):
//   load(p)                32 bytes;             nibbles_q4_0(qs)  a Q4_0 block's 32 levels in order
//   and8, or8, sub8, splat8, srl16, sll16        byte-wise logic (shifts on 16-bit lanes)
//   dot_ss(w, x)           I32 whose lanes add up to Σ w·x, signed × signed (any int8, −128 too)
//   pairs_us(u, x)         I16: lane i = u[2i]·x[2i] + u[2i+1]·x[2i+1], unsigned (≤ 63) × signed
//   madd_acc(acc, p, s)    acc + (p[2j]·s[2j] + p[2j+1]·s[2j+1]);   scale16(a, b)  8 × a then 8 × b
//   hsum(I32), zero32()
//   fma1(a, b, c), half(h)  scalar fused multiply-add and f16 → f32
// Every integer here is exact (no saturation can occur for levels from ggml's formats and
// activations in −127..127), so only the f32 steps define the result, and those are the same.

static inline int64_t block_bytes_of(int type) {
  switch (type) {
    case kSimdQ8_0: return sizeof(BlockQ8_0);
    case kSimdQ4_0: return sizeof(BlockQ4_0);
    case kSimdQ4_K: return sizeof(BlockQ4_K);
    case kSimdQ5_K: return sizeof(BlockQ5_K);
    default: return sizeof(BlockQ6_K);
  }
}

// Q8_0 / Q4_0 weights against two-plane Q8_0 activations: XR activation rows × WR weight rows. Each
// block's integer dot isum = kResidualScale·(dot with plane 0) + (dot with plane 1) is exact; the sum
// adds s = fma(dw·dx, isum, s) block by block (dx: plane 0's scale), and a chunk's sum is
// s · (1 / kResidualScale).
template <int TYPE, int XR, int WR>
static void tile_32(float* out, int64_t ldo, const char* x, int64_t ldx, const char* w, int64_t row_bytes,
                    int64_t blocks, int chunks) {
  const int64_t per_chunk = blocks / chunks;
  const int64_t plane1 = quant_activation_plane(blocks * 32);
  float partial[kMaxPairwiseParts][XR][WR];
  for (int c = 0; c < chunks; c++) {
    float sum[XR][WR];
    for (int a = 0; a < XR; a++) {
      for (int b = 0; b < WR; b++) sum[a][b] = 0.0f;
    }
    for (int64_t t = c * per_chunk; t < (c + 1) * per_chunk; t++) {
      typename P::I8 xv[2][XR];
      float dx[XR];
#pragma GCC unroll 4
      for (int a = 0; a < XR; a++) {
        for (int p = 0; p < 2; p++) {
          const BlockQ8_0* xb = reinterpret_cast<const BlockQ8_0*>(x + a * ldx + p * plane1) + t;
          xv[p][a] = P::load(xb->qs);
          if (p == 0) dx[a] = P::half(xb->d);
        }
      }
#pragma GCC unroll 4
      for (int b = 0; b < WR; b++) {
        typename P::I8 wv;
        float dw;
        if (TYPE == kSimdQ8_0) {
          const BlockQ8_0* wb = reinterpret_cast<const BlockQ8_0*>(w + b * row_bytes) + t;
          wv = P::load(wb->qs);
          dw = P::half(wb->d);
        } else {
          const BlockQ4_0* wb = reinterpret_cast<const BlockQ4_0*>(w + b * row_bytes) + t;
          wv = P::sub8(P::nibbles_q4_0(wb->qs), P::splat8(8));
          dw = P::half(wb->d);
        }
#pragma GCC unroll 4
        for (int a = 0; a < XR; a++) {
          const int isum = P::hsum(P::dot_ss(wv, xv[0][a])) * (1 << kResidualBits) + P::hsum(P::dot_ss(wv, xv[1][a]));
          sum[a][b] = P::fma1(dw * dx[a], static_cast<float>(isum), sum[a][b]);
        }
      }
    }
    for (int a = 0; a < XR; a++) {
      for (int b = 0; b < WR; b++) partial[c][a][b] = sum[a][b] * (1.0f / kResidualScale);
    }
  }
  for (int a = 0; a < XR; a++) {
    for (int b = 0; b < WR; b++) out[a * ldo + b] = pairwise_sum(&partial[0][a][b], XR * WR, chunks);
  }
}

// The integer dot of one K-type weight block with XR Q8_K activation blocks: isum[a] (the −32 of
// Q6_K folded in) and, for Q4_K / Q5_K, msum[a] = Σ m_j · (sum of x over sub-block j).
template <int TYPE, int XR>
static inline void block_dot_k(const char* wblock, const BlockQ8_K* const* xb, int* isum, int* msum, float* d,
                               float* dmin) {
  typename P::I32 acc[XR];
#pragma GCC unroll 4
  for (int a = 0; a < XR; a++) acc[a] = P::zero32();
  const typename P::I8 low4 = P::splat8(0x0F);
  if (TYPE == kSimdQ4_K || TYPE == kSimdQ5_K) {
    const uint8_t* scales_raw = TYPE == kSimdQ4_K ? reinterpret_cast<const BlockQ4_K*>(wblock)->scales
                                                  : reinterpret_cast<const BlockQ5_K*>(wblock)->scales;
    const uint8_t* qs = TYPE == kSimdQ4_K ? reinterpret_cast<const BlockQ4_K*>(wblock)->qs
                                          : reinterpret_cast<const BlockQ5_K*>(wblock)->qs;
    const uint16_t* dd = reinterpret_cast<const uint16_t*>(wblock);  // d, dmin lead both layouts
    *d = P::half(dd[0]);
    *dmin = P::half(dd[1]);
    uint8_t sc[8], m[8];
    for (int j = 0; j < 8; j++) k_scale_min(j, scales_raw, &sc[j], &m[j]);
    typename P::I8 qh;
    if (TYPE == kSimdQ5_K) qh = P::load(reinterpret_cast<const BlockQ5_K*>(wblock)->qh);
    const typename P::I8 one = P::splat8(1);
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
      const typename P::I8 raw = P::load(qs + 32 * i);
      typename P::I8 lo = P::and8(raw, low4);
      typename P::I8 hi = P::and8(P::srl16(raw, 4), low4);
      if (TYPE == kSimdQ5_K) {
        lo = P::or8(lo, P::sll16(P::and8(P::srl16(qh, 2 * i), one), 4));
        hi = P::or8(hi, P::sll16(P::and8(P::srl16(qh, 2 * i + 1), one), 4));
      }
      const typename P::I16 s_lo = P::scale16(sc[2 * i], sc[2 * i]);
      const typename P::I16 s_hi = P::scale16(sc[2 * i + 1], sc[2 * i + 1]);
#pragma GCC unroll 4
      for (int a = 0; a < XR; a++) {
        acc[a] = P::madd_acc(acc[a], P::pairs_us(lo, P::load(xb[a]->qs + 64 * i)), s_lo);
        acc[a] = P::madd_acc(acc[a], P::pairs_us(hi, P::load(xb[a]->qs + 64 * i + 32)), s_hi);
      }
    }
    for (int a = 0; a < XR; a++) {
      int mins = 0;
      for (int j = 0; j < 8; j++) mins += m[j] * (xb[a]->bsums[2 * j] + xb[a]->bsums[2 * j + 1]);
      msum[a] = mins;
      isum[a] = P::hsum(acc[a]);
    }
  } else {
    const BlockQ6_K* q = reinterpret_cast<const BlockQ6_K*>(wblock);
    *d = P::half(q->d);
    *dmin = 0;
    const typename P::I8 three = P::splat8(3);
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      const typename P::I8 l0 = P::load(q->ql + 64 * h);
      const typename P::I8 l1 = P::load(q->ql + 64 * h + 32);
      const typename P::I8 qh = P::load(q->qh + 32 * h);
      const int8_t* sc = q->scales + 8 * h;
      const typename P::I8 level[4] = {
          P::or8(P::and8(l0, low4), P::sll16(P::and8(qh, three), 4)),
          P::or8(P::and8(l1, low4), P::sll16(P::and8(P::srl16(qh, 2), three), 4)),
          P::or8(P::and8(P::srl16(l0, 4), low4), P::sll16(P::and8(P::srl16(qh, 4), three), 4)),
          P::or8(P::and8(P::srl16(l1, 4), low4), P::sll16(P::and8(P::srl16(qh, 6), three), 4)),
      };
#pragma GCC unroll 4
      for (int g = 0; g < 4; g++) {
        const typename P::I16 s = P::scale16(sc[2 * g], sc[2 * g + 1]);
#pragma GCC unroll 4
        for (int a = 0; a < XR; a++) {
          acc[a] = P::madd_acc(acc[a], P::pairs_us(level[g], P::load(xb[a]->qs + 128 * h + 32 * g)), s);
        }
      }
    }
    for (int a = 0; a < XR; a++) {
      int offset = 0;
      for (int j = 0; j < 16; j++) offset += q->scales[j] * xb[a]->bsums[j];
      isum[a] = P::hsum(acc[a]) - 32 * offset;
      msum[a] = 0;
    }
  }
}

// K-type weights against Q8_K activations: XR activation rows × WR weight rows.
template <int TYPE, int XR, int WR>
static void tile_k(float* out, int64_t ldo, const char* x, int64_t ldx, const char* w, int64_t row_bytes,
                   int64_t blocks, int chunks) {
  const int64_t per_chunk = blocks / chunks;
  const int64_t block_bytes = block_bytes_of(TYPE);
  float partial[kMaxPairwiseParts][XR][WR];
  for (int c = 0; c < chunks; c++) {
    float sum[XR][WR];
    for (int a = 0; a < XR; a++) {
      for (int b = 0; b < WR; b++) sum[a][b] = 0.0f;
    }
    for (int64_t t = c * per_chunk; t < (c + 1) * per_chunk; t++) {
      const BlockQ8_K* xb[XR];
      for (int a = 0; a < XR; a++) xb[a] = reinterpret_cast<const BlockQ8_K*>(x + a * ldx) + t;
#pragma GCC unroll 4
      for (int b = 0; b < WR; b++) {
        int isum[XR], msum[XR];
        float d = 0, dmin = 0;
        block_dot_k<TYPE, XR>(w + b * row_bytes + t * block_bytes, xb, isum, msum, &d, &dmin);
        for (int a = 0; a < XR; a++) {
          sum[a][b] = P::fma1(d * xb[a]->d, static_cast<float>(isum[a]), sum[a][b]);
          if (TYPE != kSimdQ6_K) sum[a][b] = P::fma1(-(dmin * xb[a]->d), static_cast<float>(msum[a]), sum[a][b]);
        }
      }
    }
    for (int a = 0; a < XR; a++) {
      for (int b = 0; b < WR; b++) partial[c][a][b] = sum[a][b];
    }
  }
  for (int a = 0; a < XR; a++) {
    for (int b = 0; b < WR; b++) out[a * ldo + b] = pairwise_sum(&partial[0][a][b], XR * WR, chunks);
  }
}

template <int TYPE, int XR, int WR>
static inline void tile_quant(float* out, int64_t ldo, const char* x, int64_t ldx, const char* w, int64_t row_bytes,
                              int64_t blocks, int chunks) {
  if (TYPE == kSimdQ8_0 || TYPE == kSimdQ4_0) tile_32<TYPE, XR, WR>(out, ldo, x, ldx, w, row_bytes, blocks, chunks);
  else tile_k<TYPE, XR, WR>(out, ldo, x, ldx, w, row_bytes, blocks, chunks);
}

// All weight rows for XR activation rows: four weight rows at a time, then the last ones singly.
template <int TYPE, int XR>
static void rows_quant(float* out, int64_t ldo, const char* x, int64_t ldx, const SimdQuantWeights& w, int chunks,
                       int64_t rows_w) {
  const char* first = static_cast<const char*>(w.rows);
  int64_t r = 0;
  for (; r + 4 <= rows_w; r += 4) {
    tile_quant<TYPE, XR, 4>(out + r, ldo, x, ldx, first + r * w.row_bytes, w.row_bytes, w.blocks, chunks);
  }
  for (; r < rows_w; r++) {
    tile_quant<TYPE, XR, 1>(out + r, ldo, x, ldx, first + r * w.row_bytes, w.row_bytes, w.blocks, chunks);
  }
}

template <int TYPE>
static void matmul_quant_type(float* out, int64_t ldo, const char* x, int64_t ldx, const SimdQuantWeights& w,
                              int chunks, int64_t rows_x, int64_t rows_w) {
  for (int64_t i = 0; i < rows_x; i += P::kRowsX) {
    float* o = out + i * ldo;
    const char* xs = x + i * ldx;
    switch (rows_x - i >= P::kRowsX ? P::kRowsX : rows_x - i) {
      case 4: rows_quant<TYPE, 4>(o, ldo, xs, ldx, w, chunks, rows_w); break;
      case 3: rows_quant<TYPE, 3>(o, ldo, xs, ldx, w, chunks, rows_w); break;
      case 2: rows_quant<TYPE, 2>(o, ldo, xs, ldx, w, chunks, rows_w); break;
      default: rows_quant<TYPE, 1>(o, ldo, xs, ldx, w, chunks, rows_w); break;
    }
  }
}

static void matmul_quant_impl(float* out, int64_t ldo, const void* x, int64_t ldx, const SimdQuantWeights& w,
                              int chunks, int64_t rows_x, int64_t rows_w) {
  const char* xs = static_cast<const char*>(x);
  switch (w.type) {
    case kSimdQ8_0: matmul_quant_type<kSimdQ8_0>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w); break;
    case kSimdQ4_0: matmul_quant_type<kSimdQ4_0>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w); break;
    case kSimdQ4_K: matmul_quant_type<kSimdQ4_K>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w); break;
    case kSimdQ5_K: matmul_quant_type<kSimdQ5_K>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w); break;
    default: matmul_quant_type<kSimdQ6_K>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w); break;
  }
}
