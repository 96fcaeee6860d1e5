// kernels_scalar.cpp — cpu_simd.h for any x86-64 (or other) CPU: 16 f32 lanes in plain C++, the
// same lane order as cpu_kernels.h's dot(). The reference path the SIMD paths are tested against.
#include <math.h>

#include "cpu_simd.h"
#include "cx_math.h"

namespace cx {
namespace {

struct V {
  struct T {
    float lane[16];
  };
  static constexpr int W = 16;
  static T zero() {
    T v;
    for (int j = 0; j < W; j++) v.lane[j] = 0.0f;
    return v;
  }
  static T one() {
    T v;
    for (int j = 0; j < W; j++) v.lane[j] = 1.0f;
    return v;
  }
  static T load(const float* p) {
    T v;
    for (int j = 0; j < W; j++) v.lane[j] = p[j];
    return v;
  }
  static T load_bf16(const uint16_t* p) {
    T v;
    for (int j = 0; j < W; j++) v.lane[j] = bf16_to_f32(p[j]);
    return v;
  }
  static T load_f16(const uint16_t* p) {
    T v;
    for (int j = 0; j < W; j++) v.lane[j] = f16_to_f32(p[j]);
    return v;
  }
  static T fma(const T& a, const T& b, T c) {
    for (int j = 0; j < W; j++) c.lane[j] += a.lane[j] * b.lane[j];
    return c;
  }
  static float reduce(const T& a) {
    float sum = 0;
    for (int j = 0; j < W; j++) sum += a.lane[j];
    return sum;
  }
};

#include "simd_impl.h"

const SimdKernels kKernels = {1, matmul_impl, matmul_quant_scalar, dot_impl, attend_scalar, stream_sum_impl,
                             attend_segment_scalar, attend_finish_scalar};

}  // namespace

const SimdKernels& simd_kernels_scalar() { return kKernels; }

}  // namespace cx
