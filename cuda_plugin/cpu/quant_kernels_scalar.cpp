// quant_kernels_scalar.cpp — cpu_simd.h's matmul_quant in plain C++: the integer primitives of
// quant_impl.h as loops over arrays. The reference the AVX2 and AVX-512 paths are tested against.
// Also the generic activation-row quantizer (cpu_simd.h's quantize_activation_row), which every ISA's
// bytes equal.
#include <math.h>
#include <string.h>

#include "cpu_simd.h"
#include "cx_math.h"
#include "quant.h"

namespace cx {
namespace {

struct P {
  struct I8 {
    int8_t v[32];
  };
  struct I16 {
    int32_t v[16];  // int16 values, held wider
  };
  struct I32 {
    int32_t v[8];
  };
  static constexpr int kRowsX = 4;

  static I8 load(const void* p) {
    I8 r;
    memcpy(r.v, p, 32);
    return r;
  }
  static I8 nibbles_q4_0(const uint8_t* qs) {
    I8 r;
    for (int j = 0; j < 16; j++) {
      r.v[j] = static_cast<int8_t>(qs[j] & 0x0F);
      r.v[j + 16] = static_cast<int8_t>(qs[j] >> 4);
    }
    return r;
  }
  static I8 splat8(int value) {
    I8 r;
    for (int j = 0; j < 32; j++) r.v[j] = static_cast<int8_t>(value);
    return r;
  }
  static I8 and8(const I8& a, const I8& b) {
    I8 r;
    for (int j = 0; j < 32; j++) r.v[j] = static_cast<int8_t>(a.v[j] & b.v[j]);
    return r;
  }
  static I8 or8(const I8& a, const I8& b) {
    I8 r;
    for (int j = 0; j < 32; j++) r.v[j] = static_cast<int8_t>(a.v[j] | b.v[j]);
    return r;
  }
  static I8 sub8(const I8& a, const I8& b) {
    I8 r;
    for (int j = 0; j < 32; j++) r.v[j] = static_cast<int8_t>(a.v[j] - b.v[j]);
    return r;
  }
  // Shifts of the 16-bit lanes (little-endian pairs of bytes), as the vector instructions do.
  static I8 srl16(const I8& a, int n) {
    I8 r;
    for (int j = 0; j < 32; j += 2) {
      const uint16_t lane = static_cast<uint16_t>(static_cast<uint8_t>(a.v[j]) | (static_cast<uint8_t>(a.v[j + 1]) << 8));
      const uint16_t shifted = static_cast<uint16_t>(lane >> n);
      r.v[j] = static_cast<int8_t>(shifted & 0xFF);
      r.v[j + 1] = static_cast<int8_t>(shifted >> 8);
    }
    return r;
  }
  static I8 sll16(const I8& a, int n) {
    I8 r;
    for (int j = 0; j < 32; j += 2) {
      const uint16_t lane = static_cast<uint16_t>(static_cast<uint8_t>(a.v[j]) | (static_cast<uint8_t>(a.v[j + 1]) << 8));
      const uint16_t shifted = static_cast<uint16_t>(lane << n);
      r.v[j] = static_cast<int8_t>(shifted & 0xFF);
      r.v[j + 1] = static_cast<int8_t>(shifted >> 8);
    }
    return r;
  }
  static I32 dot_ss(const I8& w, const I8& x) {
    I32 r;
    for (int j = 0; j < 8; j++) {
      int sum = 0;
      for (int e = 0; e < 4; e++) sum += w.v[4 * j + e] * x.v[4 * j + e];
      r.v[j] = sum;
    }
    return r;
  }
  static I16 pairs_us(const I8& u, const I8& x) {
    I16 r;
    for (int i = 0; i < 16; i++) {
      r.v[i] = static_cast<uint8_t>(u.v[2 * i]) * x.v[2 * i] + static_cast<uint8_t>(u.v[2 * i + 1]) * x.v[2 * i + 1];
    }
    return r;
  }
  static I16 scale16(int a, int b) {
    I16 r;
    for (int i = 0; i < 8; i++) {
      r.v[i] = a;
      r.v[i + 8] = b;
    }
    return r;
  }
  static I32 madd_acc(I32 acc, const I16& p, const I16& s) {
    for (int j = 0; j < 8; j++) acc.v[j] += p.v[2 * j] * s.v[2 * j] + p.v[2 * j + 1] * s.v[2 * j + 1];
    return acc;
  }
  static I32 zero32() {
    I32 r;
    for (int j = 0; j < 8; j++) r.v[j] = 0;
    return r;
  }
  static int hsum(const I32& a) {
    int sum = 0;
    for (int j = 0; j < 8; j++) sum += a.v[j];
    return sum;
  }
  static float fma1(float a, float b, float c) { return fmaf(a, b, c); }
  static float half(uint16_t h) { return f16_to_f32(h); }
};

#include "quant_impl.h"

}  // namespace

// roundf (ties away from zero) without the library call, for |v| < 2^23: truncate, then step away
// from zero when the fraction (exact: v − trunc(v)) is at least one half (quantize_row_q8_0's rule).
static int round_away(float v) {
  const int q = static_cast<int>(v);
  const float fraction = v - static_cast<float>(q);
  return q + (fraction >= 0.5f) - (fraction <= -0.5f);
}

void activation_wide(uint8_t* row, int64_t k) {
  const int8_t* q0 = reinterpret_cast<const BlockQ8_0*>(row)->qs;
  const int8_t* q1 = reinterpret_cast<const BlockQ8_0*>(row + quant_activation_plane(k))->qs;
  int16_t* wide = reinterpret_cast<int16_t*>(row + quant_activation_wide(k));
  constexpr int kOrder[4] = {0, 2, 1, 3};  // within each quad of k
  for (int64_t b = 0; b < k / kQk8_0; b++) {
    const int64_t at = b * static_cast<int64_t>(sizeof(BlockQ8_0));  // block b's levels, in both planes
    for (int j = 0; j < kQk8_0; j++) {
      const int from = j / 4 * 4 + kOrder[j % 4];
      wide[b * kQk8_0 + j] = static_cast<int16_t>(q0[at + from] * (1 << kResidualBits) + q1[at + from]);
    }
  }
}

// The Q8_0 layout (cpu_simd.h): per block, amax as quantize_row_q8_0 takes it (8 lanes in k order,
// then the lanes in order), d = f16(amax / 127), t = x · (kResidualScale / d) (0 where d is 0)
// clamped as t > −kWideMax ? t : −kWideMax, then t < kWideMax ? t : kWideMax (vmaxps / vminps with
// the value first: a NaN becomes −kWideMax), v = round_away(t), split into the planes.
static void quantize_activation_q8_0(const float* x, uint8_t* row, int64_t k) {
  BlockQ8_0* first = reinterpret_cast<BlockQ8_0*>(row);
  BlockQ8_0* second = reinterpret_cast<BlockQ8_0*>(row + quant_activation_plane(k));
  int32_t* sums0 = reinterpret_cast<int32_t*>(row + quant_activation_sums(k));
  int32_t* sums1 = reinterpret_cast<int32_t*>(row + quant_activation_plane(k) + quant_activation_sums(k));
  const float limit = static_cast<float>(kWideMax);
  for (int64_t b = 0; b < k / kQk8_0; b++) {
    const float* xb = x + b * kQk8_0;
    float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int j = 0; j < kQk8_0; j += 8) {
      for (int l = 0; l < 8; l++) lanes[l] = lanes[l] > fabsf(xb[j + l]) ? lanes[l] : fabsf(xb[j + l]);
    }
    float amax = 0;
    for (int l = 0; l < 8; l++) amax = amax > lanes[l] ? amax : lanes[l];
    first[b].d = second[b].d = f32_to_f16(amax / 127);
    const float d = f16_to_f32(first[b].d);
    const float id = d != 0 ? kResidualScale / d : 0.0f;
    int32_t sum0 = 0, sum1 = 0;
    for (int j = 0; j < kQk8_0; j++) {
      float t = xb[j] * id;
      t = t > -limit ? t : -limit;
      t = t < limit ? t : limit;
      const int v = round_away(t);
      const int q0 = (v + (1 << (kResidualBits - 1))) >> kResidualBits;  // arithmetic shift: floor
      const int q1 = v - q0 * (1 << kResidualBits);
      first[b].qs[j] = static_cast<int8_t>(q0);
      second[b].qs[j] = static_cast<int8_t>(q1);
      sum0 += q0;
      sum1 += q1;
    }
    sums0[b] = sum0;
    sums1[b] = sum1;
  }
  activation_wide(row, k);
}

void quantize_activation_row(const float* x, uint8_t* row, int64_t k, bool k_type) {
  if (k_type) return quantize_row_q8_k(x, reinterpret_cast<BlockQ8_K*>(row), k);
  quantize_activation_q8_0(x, row, k);
}

void matmul_quant_scalar(float* out, int64_t ldo, const void* x, int64_t ldx, const SimdQuantWeights& w, int chunks,
                         int64_t rows_x, int64_t rows_w) {
  matmul_quant_impl(out, ldo, x, ldx, w, chunks, rows_x, rows_w);
}

}  // namespace cx
