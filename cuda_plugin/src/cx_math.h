// cx_math.h — per-element math shared by every backend. Compiled by g++ for the CPU backend and by
// nvcc (as __host__ __device__) for the CUDA backend, so the formulas tested on CPU are the ones
// that run on the GPU. (Not named math.h: `-Isrc` would shadow the C library's header.)
#pragma once

#include <math.h>
#include <stdint.h>

#if defined(__CUDACC__)
#define CX_HD __host__ __device__ __forceinline__
#define CX_HD_TEMPLATE __host__ __device__ __forceinline__
#else
#define CX_HD static inline
#define CX_HD_TEMPLATE __attribute__((always_inline)) inline  // takes the target of the SIMD code it is used in
#endif

namespace cx {

/** bf16 → f32: the top 16 bits of an f32. */
CX_HD float bf16_to_f32(uint16_t h) {
  union { uint32_t u; float f; } v;
  v.u = static_cast<uint32_t>(h) << 16;
  return v.f;
}

/** f32 → bf16 with round-to-nearest-even (NaN kept quiet). */
CX_HD uint16_t f32_to_bf16(float f) {
  union { uint32_t u; float f; } v;
  v.f = f;
  if ((v.u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((v.u >> 16) | 0x40u);
  uint32_t rounding = 0x7fffu + ((v.u >> 16) & 1u);
  return static_cast<uint16_t>((v.u + rounding) >> 16);
}

/** IEEE half → f32, including subnormals, infinities and NaN. */
CX_HD float f16_to_f32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  union { uint32_t u; float f; } v;
  if (exponent == 0) {
    if (mantissa == 0) {
      v.u = sign;
    } else {  // subnormal: normalise
      int shift = 0;
      while ((mantissa & 0x400u) == 0) { mantissa <<= 1; shift++; }
      mantissa &= 0x3ffu;
      v.u = sign | (static_cast<uint32_t>(127 - 15 - shift + 1) << 23) | (mantissa << 13);
    }
  } else if (exponent == 31) {
    v.u = sign | 0x7f800000u | (mantissa << 13);
  } else {
    v.u = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  return v.f;
}

/** SiLU (swish): x·σ(x). */
CX_HD float silu(float x) { return x / (1.0f + expf(-x)); }

/** SwiGLU's per-element product: silu(gate)·up. */
CX_HD float swiglu(float gate, float up) { return silu(gate) * up; }

/** RMSNorm scale for a row whose sum of squares is `sum_squares` over `dim` elements. */
CX_HD float rms_scale(float sum_squares, int dim, float eps) {
  return 1.0f / sqrtf(sum_squares / static_cast<float>(dim) + eps);
}

/** RMSNorm of one element, in Hugging Face's order: weight · (x · scale). */
CX_HD float rmsnorm_element(float x, float scale, float weight) { return weight * (x * scale); }

/** The first position a query at `position` attends to: with a sliding window of `window` positions
 * (transformers: key > query − window) the last `window` ones, itself included; 0 when window <= 0. */
CX_HD int attention_start(int position, int window) {
  return window > 0 && position + 1 > window ? position + 1 - window : 0;
}

/** Rotary angle of frequency `inv_freq` at `position`, computed in f32 like transformers does. */
CX_HD float rope_angle(int32_t position, float inv_freq) { return static_cast<float>(position) * inv_freq; }

/** Rotate-half RoPE on the pair (x[i], x[i + head_dim/2]). */
CX_HD void rope_rotate(float* first, float* second, float cos_angle, float sin_angle) {
  float a = *first;
  float b = *second;
  *first = a * cos_angle - b * sin_angle;
  *second = b * cos_angle + a * sin_angle;
}

/** The most parts pairwise_sum adds: k-chunks of a matmul, or tensor-parallel ranks. */
constexpr int kMaxPairwiseParts = 16;

/** pairwise_sum's tree over `count` (≤ kMaxPairwiseParts) parts of any type: load(j) gives part j,
 * add(a, b) adds two, level by level: (p0+p1) + (p2+p3) for four. With power-of-two counts the tree is
 * balanced, so a sum first reduced over consecutive groups and then over the groups' results rounds
 * exactly like the sum over all parts: that is what makes tensor-parallel outputs (chunks per rank,
 * then ranks) equal the single-device ones (all chunks on one device). Vectors added lane by lane
 * round like pairwise_sum in every lane (the SIMD kernels' epilogues). */
template <typename T, typename Load, typename Add>
CX_HD_TEMPLATE T pairwise_sum_of(int count, T zero, Load load, Add add) {
  T level[kMaxPairwiseParts];
  level[0] = zero;  // the sum of no parts
  for (int j = 0; j < count; j++) level[j] = load(j);
  for (int width = count; width > 1; width = (width + 1) / 2) {
    for (int j = 0; j < width / 2; j++) level[j] = add(level[2 * j], level[2 * j + 1]);
    if (width % 2 == 1) level[width / 2] = level[width - 1];
  }
  return level[0];
}

/** Σ values[j·stride] for j < count (≤ kMaxPairwiseParts), added in pairwise_sum_of's tree. */
CX_HD float pairwise_sum(const float* values, int64_t stride, int count) {
  return pairwise_sum_of(count, 0.0f, [&](int j) { return values[j * stride]; }, [](float a, float b) { return a + b; });
}

}  // namespace cx
