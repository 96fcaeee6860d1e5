// quant_kernels_scalar.cpp — cpu_simd.h's matmul_quant in plain C++: the integer primitives of
// quant_impl.h as loops over arrays. The reference the AVX2 and AVX-512 paths are tested against.
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
  struct F8 {
    float v[8];
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
  static F8 zerof() {
    F8 r;
    for (int j = 0; j < 8; j++) r.v[j] = 0.0f;
    return r;
  }
  static F8 fma_lanes(const I32& p, float s, F8 acc) {
    for (int j = 0; j < 8; j++) acc.v[j] = fmaf(static_cast<float>(p.v[j]), s, acc.v[j]);
    return acc;
  }
  static float reduce(const F8& a) {
    float s4[4], s2[2];
    for (int j = 0; j < 4; j++) s4[j] = a.v[j] + a.v[j + 4];
    for (int j = 0; j < 2; j++) s2[j] = s4[j] + s4[j + 2];
    return s2[0] + s2[1];
  }
  static float fma1(float a, float b, float c) { return fmaf(a, b, c); }
  static float half(uint16_t h) { return f16_to_f32(h); }
};

#include "quant_impl.h"

}  // namespace

void matmul_quant_scalar(float* out, int64_t ldo, const void* x, int64_t ldx, const SimdQuantWeights& w, int chunks,
                         int64_t rows_x, int64_t rows_w) {
  matmul_quant_impl(out, ldo, x, ldx, w, chunks, rows_x, rows_w);
}

}  // namespace cx
