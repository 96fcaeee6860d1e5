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

// One Q8_0 plane: the blocks, then each block's level sum (the interleaved kernels' offsets).
static void quantize_activation_plane(const float* x, uint8_t* plane, int64_t k) {
  BlockQ8_0* blocks = reinterpret_cast<BlockQ8_0*>(plane);
  quantize_row_q8_0(x, blocks, k);
  for (int64_t b = 0; b < k / kQk8_0; b++) {
    int32_t sum = 0;
    for (int j = 0; j < kQk8_0; j++) sum += blocks[b].qs[j];
    __builtin_memcpy(plane + quant_activation_sums(k) + 4 * b, &sum, 4);
  }
}

void activation_residual(const float* x, const uint8_t* plane0, int64_t k, float* scratch) {
  const BlockQ8_0* blocks = reinterpret_cast<const BlockQ8_0*>(plane0);
  for (int64_t i = 0; i < k; i++) {
    const BlockQ8_0& b = blocks[i / kQk8_0];
    scratch[i] = (x[i] - f16_to_f32(b.d) * b.qs[i % kQk8_0]) * kResidualScale;
  }
}

void quantize_activation_row(const float* x, uint8_t* row, int64_t k, bool k_type, float* scratch) {
  if (k_type) return quantize_row_q8_k(x, reinterpret_cast<BlockQ8_K*>(row), k);
  quantize_activation_plane(x, row, k);
  activation_residual(x, row, k, scratch);
  quantize_activation_plane(scratch, row + quant_activation_plane(k), k);
}

void matmul_quant_scalar(float* out, int64_t ldo, const void* x, int64_t ldx, const SimdQuantWeights& w, int chunks,
                         int64_t rows_x, int64_t rows_w) {
  matmul_quant_impl(out, ldo, x, ldx, w, chunks, rows_x, rows_w);
}

}  // namespace cx
