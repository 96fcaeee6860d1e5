// quant_packed_impl.h — matmul_quant_avx512 over the interleaved layout of quant_repack.h, written
// over a set of 16-lane primitives G (quant_kernels_avx512.cpp: one zmm, vpdpbusd). Included by that
// file inside its anonymous namespace, after quant_impl.h (whose plain kernels take the rows after the
// last group). AVX2 has its own kernels for this layout (quant_packed_avx2_impl.h).
//
// Each 64-byte load holds 4 consecutive weights of 16 rows; dot4 multiplies them (unsigned) with the
// same 4 activations (signed, broadcast), so the 16 int32 lanes are the 16 rows' dot products and no
// horizontal sums are needed. Offsets that make the weights unsigned (Q4_0's 8, Q6_K's 32, and
// Q8_0's 128 where dot4_q8 takes the stored bytes as they are) start the integer accumulator at
// −offset·Σx. The f32 steps are the same as everywhere else (cpu_simd.h), lane by lane.

#include "quant_packed_groups.h"

template <int TYPE, int XR>
static void group_packed(float* out, int64_t ldo, const char* x, int64_t ldx, const uint8_t* g, int64_t blocks,
                         int64_t k, int chunks) {
  const int64_t per_chunk = blocks / chunks;
  const int64_t block_bytes = kG * block_bytes_of(TYPE);
  const int64_t plane1 = quant_activation_plane(k);  // Q8_0 / Q4_0: where a row's second plane starts
  alignas(64) float partial[kMaxPairwiseParts][XR][kG];
  const typename G::V low4 = G::splat8(0x0F);
  for (int c = 0; c < chunks; c++) {
    typename G::F sum[XR];
    for (int a = 0; a < XR; a++) sum[a] = G::zerof();
    for (int64_t t = c * per_chunk; t < (c + 1) * per_chunk; t++) {
      const uint8_t* blk = g + t * block_bytes;
      prefetch_block(blk, block_bytes);
      if (TYPE == kSimdQ8_0 || TYPE == kSimdQ4_0) {
        const typename G::F dw = G::halves16(blk);
        const uint8_t* qs = blk + 2 * kG;
        // One accumulator per row and plane: four (or, for XR = 1, two) independent vpdpbusd chains
        // per weight vector; integer sums are exact, so how they are split changes nothing. A block's
        // integer is then kResidualScale·(plane 0's) + plane 1's (cpu_simd.h).
        typename G::V acc[2][XR];
        const BlockQ8_0* xb[2][XR];
        for (int a = 0; a < XR; a++) {
          for (int p = 0; p < 2; p++) {
            const char* plane = x + a * ldx + p * plane1;
            xb[p][a] = reinterpret_cast<const BlockQ8_0*>(plane) + t;
            int32_t xsum;
            __builtin_memcpy(&xsum, plane + quant_activation_sums(k) + 4 * t, 4);
            acc[p][a] = G::splat32(TYPE == kSimdQ8_0 ? G::kQ8Offset * xsum : -8 * xsum);
          }
        }
        if (TYPE == kSimdQ8_0) {
#pragma GCC unroll 8
          for (int q = 0; q < 8; q++) {
            const typename G::V wv = G::load(qs + 64 * q);
#pragma GCC unroll 4
            for (int a = 0; a < XR; a++) {
              for (int p = 0; p < 2; p++) acc[p][a] = G::dot4_q8(acc[p][a], wv, G::bcast4(xb[p][a]->qs + 4 * q));
            }
          }
        } else {
#pragma GCC unroll 4
          for (int q = 0; q < 4; q++) {
            const typename G::V wv = G::load(qs + 64 * q);
            const typename G::V lo = G::and_(wv, low4);
            const typename G::V hi = G::and_(G::srl16(wv, 4), low4);
#pragma GCC unroll 4
            for (int a = 0; a < XR; a++) {
              for (int p = 0; p < 2; p++) {
                acc[p][a] = G::dot4(acc[p][a], lo, G::bcast4(xb[p][a]->qs + 4 * q));
                acc[p][a] = G::dot4(acc[p][a], hi, G::bcast4(xb[p][a]->qs + 16 + 4 * q));
              }
            }
          }
        }
        for (int a = 0; a < XR; a++) {
          const typename G::V isum = G::add(G::sll32(acc[0][a], kResidualBits), acc[1][a]);
          sum[a] = G::fma(G::mulf(dw, G::splatf(_cvtsh_ss(xb[0][a]->d))), G::tof(isum), sum[a]);
        }
      } else if (TYPE == kSimdQ4_K || TYPE == kSimdQ5_K) {
        const typename G::F dw = G::halves16(blk);
        const typename G::F dmin = G::halves16(blk + 2 * kG);
        const uint8_t* planes = blk + 4 * kG;
        const uint8_t* qh = blk + 16 * kG;
        const uint8_t* qs = blk + (TYPE == kSimdQ5_K ? 48 : 16) * kG;
        // The 6-bit scales and mins of the 16 rows, unpacked from the 12 planes (k_scale_min).
        alignas(64) int32_t sc[8][kG], mn[8][kG];
        for (int j = 0; j < 4; j++) {
          const typename G::V six = G::splat32(63);
          G::store(sc[j], G::and_(G::bytes_to_i32(planes + j * kG), six));
          G::store(mn[j], G::and_(G::bytes_to_i32(planes + (j + 4) * kG), six));
        }
        for (int j = 4; j < 8; j++) {
          const typename G::V b_hi = G::bytes_to_i32(planes + (j + 4) * kG);
          const typename G::V b_lo = G::bytes_to_i32(planes + (j - 4) * kG);
          const typename G::V b_mid = G::bytes_to_i32(planes + j * kG);
          const typename G::V fifteen = G::splat32(15);
          G::store(sc[j], G::or_(G::and_(b_hi, fifteen),
                                                    G::sll32(G::srl32(b_lo, 6), 4)));
          G::store(mn[j], G::or_(G::srl32(b_hi, 4),
                                                    G::sll32(G::srl32(b_mid, 6), 4)));
        }
        typename G::V isum[XR], msum[XR];
        const BlockQ8_K* xb[XR];
        for (int a = 0; a < XR; a++) {
          xb[a] = reinterpret_cast<const BlockQ8_K*>(x + a * ldx) + t;
          isum[a] = G::zero();
          msum[a] = G::zero();
          for (int j = 0; j < 8; j++) {
            const int32_t bsum = xb[a]->bsums[2 * j] + xb[a]->bsums[2 * j + 1];
            msum[a] = G::add(msum[a], G::mul(G::load(mn[j]), G::splat32(bsum)));
          }
        }
        const typename G::V one = G::splat8(1);
#pragma GCC unroll 1
        for (int i = 0; i < 4; i++) {
          typename G::V lo_acc[XR], hi_acc[XR], lo_acc2[XR], hi_acc2[XR];  // even and odd quads (latency)
          for (int a = 0; a < XR; a++) lo_acc[a] = hi_acc[a] = lo_acc2[a] = hi_acc2[a] = G::zero();
#pragma GCC unroll 8
          for (int q = 0; q < 8; q++) {
            const typename G::V wv = G::load(qs + 64 * (8 * i + q));
            typename G::V lo = G::and_(wv, low4);
            typename G::V hi = G::and_(G::srl16(wv, 4), low4);
            if (TYPE == kSimdQ5_K) {
              const typename G::V hv = G::load(qh + 64 * q);
              lo = G::or_(lo, G::sll16(G::and_(G::srl16(hv, 2 * i), one), 4));
              hi = G::or_(hi, G::sll16(G::and_(G::srl16(hv, 2 * i + 1), one), 4));
            }
#pragma GCC unroll 4
            for (int a = 0; a < XR; a++) {
              if (q % 2 == 0) {
                lo_acc[a] = G::dot4(lo_acc[a], lo, G::bcast4(xb[a]->qs + 64 * i + 4 * q));
                hi_acc[a] = G::dot4(hi_acc[a], hi, G::bcast4(xb[a]->qs + 64 * i + 32 + 4 * q));
              } else {
                lo_acc2[a] = G::dot4(lo_acc2[a], lo, G::bcast4(xb[a]->qs + 64 * i + 4 * q));
                hi_acc2[a] = G::dot4(hi_acc2[a], hi, G::bcast4(xb[a]->qs + 64 * i + 32 + 4 * q));
              }
            }
          }
          for (int a = 0; a < XR; a++) {
            lo_acc[a] = G::add(lo_acc[a], lo_acc2[a]);
            hi_acc[a] = G::add(hi_acc[a], hi_acc2[a]);
          }
          const typename G::V sc_lo = G::load(sc[2 * i]);
          const typename G::V sc_hi = G::load(sc[2 * i + 1]);
          for (int a = 0; a < XR; a++) {
            isum[a] = G::add(isum[a], G::mul(lo_acc[a], sc_lo));
            isum[a] = G::add(isum[a], G::mul(hi_acc[a], sc_hi));
          }
        }
        for (int a = 0; a < XR; a++) {
          const typename G::F dx = G::splatf(xb[a]->d);
          sum[a] = G::fma(G::mulf(dw, dx), G::tof(isum[a]), sum[a]);
          sum[a] = G::fnma(G::mulf(dmin, dx), G::tof(msum[a]), sum[a]);
        }
      } else {  // Q6_K
        const uint8_t* ql = blk;
        const uint8_t* qh = blk + 128 * kG;
        const uint8_t* scales = blk + 192 * kG;
        const typename G::F dw = G::halves16(blk + 208 * kG);
        const typename G::V three = G::splat8(3);
        typename G::V isum[XR];
        const BlockQ8_K* xb[XR];
        for (int a = 0; a < XR; a++) {
          xb[a] = reinterpret_cast<const BlockQ8_K*>(x + a * ldx) + t;
          isum[a] = G::zero();
        }
#pragma GCC unroll 1
        for (int h = 0; h < 2; h++) {
#pragma GCC unroll 1
          for (int s = 0; s < 2; s++) {
#pragma GCC unroll 2
            for (int u = 0; u < 2; u++) {
              const int sub_lo = 8 * h + 2 * s + u, sub_hi = 8 * h + 4 + 2 * s + u;
              typename G::V lo_acc[XR], hi_acc[XR];
              for (int a = 0; a < XR; a++) {
                lo_acc[a] = G::splat32(-32 * xb[a]->bsums[sub_lo]);
                hi_acc[a] = G::splat32(-32 * xb[a]->bsums[sub_hi]);
              }
#pragma GCC unroll 4
              for (int q = 4 * u; q < 4 * u + 4; q++) {
                const typename G::V wv = G::load(ql + 64 * ((2 * h + s) * 8 + q));
                const typename G::V hv = G::load(qh + 64 * (8 * h + q));
                const typename G::V lo = G::or_(G::and_(wv, low4),
                    G::sll16(G::and_(G::srl16(hv, 2 * s), three), 4));
                const typename G::V hi = G::or_(G::and_(G::srl16(wv, 4), low4),
                    G::sll16(G::and_(G::srl16(hv, 4 + 2 * s), three), 4));
#pragma GCC unroll 4
                for (int a = 0; a < XR; a++) {
                  lo_acc[a] = G::dot4(lo_acc[a], lo, G::bcast4(xb[a]->qs + 128 * h + 32 * s + 4 * q));
                  hi_acc[a] = G::dot4(hi_acc[a], hi, G::bcast4(xb[a]->qs + 128 * h + 64 + 32 * s + 4 * q));
                }
              }
              const typename G::V sc_lo = G::sbytes_to_i32(scales + sub_lo * kG);
              const typename G::V sc_hi = G::sbytes_to_i32(scales + sub_hi * kG);
              for (int a = 0; a < XR; a++) {
                isum[a] = G::add(isum[a], G::mul(lo_acc[a], sc_lo));
                isum[a] = G::add(isum[a], G::mul(hi_acc[a], sc_hi));
              }
            }
          }
        }
        for (int a = 0; a < XR; a++) {
          const typename G::F s = G::mulf(dw, G::splatf(xb[a]->d));
          sum[a] = G::fma(s, G::tof(isum[a]), sum[a]);
        }
      }
    }
    for (int a = 0; a < XR; a++) {
      if (TYPE == kSimdQ8_0 || TYPE == kSimdQ4_0) {
        G::storef(partial[c][a], G::mulf(sum[a], G::splatf(1.0f / kResidualScale)));
      } else {
        G::storef(partial[c][a], sum[a]);
      }
    }
  }
  for (int a = 0; a < XR; a++) {
    for (int r = 0; r < kG; r++) out[a * ldo + r] = pairwise_sum(&partial[0][a][r], XR * kG, chunks);
  }
}

// group_packed as matmul_packed_groups takes it (it prefetches on every pass).
template <int TYPE, int XR>
struct PackedGroup {
  static void run(float* out, int64_t ldo, const char* x, int64_t ldx, const uint8_t* g, int64_t blocks, int64_t k,
                  int chunks, bool /*first_pass*/) {
    group_packed<TYPE, XR>(out, ldo, x, ldx, g, blocks, k, chunks);
  }
};

template <int TYPE>
static void matmul_packed_type(float* out, int64_t ldo, const char* x, int64_t ldx, const SimdQuantWeights& w,
                               int chunks, int64_t rows_x, int64_t rows_w) {
  matmul_packed_groups<TYPE, 4, PackedGroup>(out, ldo, x, ldx, w, chunks, rows_x, rows_w);
}

static void matmul_quant_packed_impl(float* out, int64_t ldo, const void* x, int64_t ldx, const SimdQuantWeights& w,
                                     int chunks, int64_t rows_x, int64_t rows_w) {
  if (!w.packed) return matmul_quant_impl(out, ldo, x, ldx, w, chunks, rows_x, rows_w);
  const char* xs = static_cast<const char*>(x);
  switch (w.type) {
    case kSimdQ8_0: matmul_packed_type<kSimdQ8_0>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w); break;
    case kSimdQ4_0: matmul_packed_type<kSimdQ4_0>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w); break;
    case kSimdQ4_K: matmul_packed_type<kSimdQ4_K>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w); break;
    case kSimdQ5_K: matmul_packed_type<kSimdQ5_K>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w); break;
    default: matmul_packed_type<kSimdQ6_K>(out, ldo, xs, ldx, w, chunks, rows_x, rows_w); break;
  }
}


