// kernels_scalar.cpp — cpu_simd.h for any x86-64 (or other) CPU: 16 f32 lanes in plain C++, the
// same lane order as cpu_kernels.h's dot(). The reference path the SIMD paths are tested against.
// The matmul and dot loops are simd_impl.h's, attention attend_impl.h's, both over V below.
#include <math.h>
#include <string.h>

#include <algorithm>
#include <vector>

#include "cpu_simd.h"
#include "cx_math.h"
#include "transpose_words.h"

namespace cx {
namespace {

struct V {
  struct T {
    float lane[16];
  };
  static constexpr int W = 16;
  static constexpr int kRowsX = 6;  // no registers to run out of
  static constexpr bool kBf16Chain = false;  // bf16 rows in the lanes, like f32 and f16
  template <typename F>
  static T each(F f) {
    T v;
    for (int j = 0; j < W; j++) v.lane[j] = f(j);
    return v;
  }
  static T zero() { return set1(0.0f); }
  static T one() { return set1(1.0f); }
  static T set1(float x) { return each([&](int) { return x; }); }
  static T load(const float* p) { return each([&](int j) { return p[j]; }); }
  static T load_bf16(const uint16_t* p) { return each([&](int j) { return bf16_to_f32(p[j]); }); }
  // The panel layout's words (cpu_simd.h): the bf16 in their low halves, or in their high halves.
  static T panel_low(const uint32_t* p) { return each([&](int j) { return bf16_to_f32(static_cast<uint16_t>(p[j])); }); }
  static T panel_high(const uint32_t* p) { return each([&](int j) { return bf16_to_f32(static_cast<uint16_t>(p[j] >> 16)); }); }
  static T load_f16(const uint16_t* p) { return each([&](int j) { return f16_to_f32(p[j]); }); }
  static void store(float* p, const T& a) {
    for (int j = 0; j < W; j++) p[j] = a.lane[j];
  }
  static T add(const T& a, const T& b) { return each([&](int j) { return a.lane[j] + b.lane[j]; }); }
  static T sub(const T& a, const T& b) { return each([&](int j) { return a.lane[j] - b.lane[j]; }); }
  static T mul(const T& a, const T& b) { return each([&](int j) { return a.lane[j] * b.lane[j]; }); }
  static T max(const T& a, const T& b) { return each([&](int j) { return a.lane[j] > b.lane[j] ? a.lane[j] : b.lane[j]; }); }
  static T fma(const T& a, const T& b, const T& c) { return each([&](int j) { return c.lane[j] + a.lane[j] * b.lane[j]; }); }
  // Nearest, ties to even, for |x| < 2^22: adding and taking away 1.5·2^23 leaves no fraction bits.
  static T round(const T& a) { return each([&](int j) { return (a.lane[j] + 12582912.0f) - 12582912.0f; }); }
  // p · 2^n for integral n in [−126, 127], 2^n built in the exponent field.
  static T scale_pow2(const T& p, const T& n) {
    return each([&](int j) {
      const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(n.lane[j]) + 127) << 23;
      float scale;
      memcpy(&scale, &bits, sizeof(scale));
      return p.lane[j] * scale;
    });
  }
  static T zero_below(const T& v, const T& x, const T& limit) {
    return each([&](int j) { return x.lane[j] >= limit.lane[j] ? v.lane[j] : 0.0f; });
  }
  static float reduce(const T& a) {
    float sum = 0;
    for (int j = 0; j < W; j++) sum += a.lane[j];
    return sum;
  }
  static T reduce_lanes(const T* a) { return each([&](int t) { return reduce(a[t]); }); }
};

#include "simd_impl.h"
#include "attend_impl.h"

const SimdKernels kKernels = {1, matmul_impl, matmul_quant_scalar, dot_impl, attend_impl, stream_sum_impl,
                             attend_segment_impl, attend_finish_impl, V::kBf16Chain};

}  // namespace

const SimdKernels& simd_kernels_scalar() { return kKernels; }

}  // namespace cx
