// quant.h — block-quantized weight formats (the GGUF / ggml layouts, bit for bit): the block
// structs, their sizes, and dequantization written once as __host__ __device__ so the CPU backend,
// the CUDA kernels and the loader decode the same bytes the same way. Quantizers (host only; ISQ
// and the activation blocks the integer kernels multiply with) are declared at the end.
//
// Layouts (little-endian, packed, no padding; `half` = IEEE f16 bits):
//   Q8_0  32 weights  34 bytes  { half d; int8 qs[32] }                      w = d·q
//   Q4_0  32 weights  18 bytes  { half d; uint8 qs[16] }                     w = d·(q − 8), low nibbles
//                                                                           are weights 0..15, high 16..31
//   Q4_K 256 weights 144 bytes  { half d, dmin; uint8 scales[12]; uint8 qs[128] }
//                                 8 sub-blocks of 32 with 6-bit scale and min: w = d·sc·q − dmin·m
//   Q5_K 256 weights 176 bytes  { half d, dmin; uint8 scales[12]; uint8 qh[32]; uint8 qs[128] }
//                                 as Q4_K with a fifth bit per weight in qh
//   Q6_K 256 weights 210 bytes  { uint8 ql[128]; uint8 qh[64]; int8 scales[16]; half d }
//                                 16 sub-blocks of 16: w = d·sc·(q − 32)
//   Q8_K 256 values  292 bytes  { float d; int8 qs[256]; int16 bsums[16] } (activations only)
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "cx_math.h"

namespace cx {

constexpr int kQk8_0 = 32;
constexpr int kQk4_0 = 32;
constexpr int kQkK = 256;
constexpr int kKScaleBytes = 12;

struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQk8_0];
};
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQk4_0 / 2];
};
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qs[kQkK / 2];
};
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kQkK / 8];
  uint8_t qs[kQkK / 2];
};
struct BlockQ6_K {
  uint8_t ql[kQkK / 2];
  uint8_t qh[kQkK / 4];
  int8_t scales[kQkK / 16];
  uint16_t d;
};
struct BlockQ8_K {
  float d;
  int8_t qs[kQkK];
  int16_t bsums[kQkK / 16];
};

static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 block is 34 bytes");
static_assert(sizeof(BlockQ4_0) == 18, "Q4_0 block is 18 bytes");
static_assert(sizeof(BlockQ4_K) == 144, "Q4_K block is 144 bytes");
static_assert(sizeof(BlockQ5_K) == 176, "Q5_K block is 176 bytes");
static_assert(sizeof(BlockQ6_K) == 210, "Q6_K block is 210 bytes");
static_assert(sizeof(BlockQ8_K) == 292, "Q8_K block is 292 bytes");

/** Scale and min of sub-block j (0..7) of a Q4_K / Q5_K block: 6 bits each, packed in 12 bytes. */
CX_HD void k_scale_min(int j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

/** The 32 weights of a Q8_0 block. */
CX_HD void dequantize_q8_0(const BlockQ8_0* b, float* y) {
  const float d = f16_to_f32(b->d);
  for (int j = 0; j < kQk8_0; j++) y[j] = static_cast<float>(b->qs[j]) * d;
}

/** The 32 weights of a Q4_0 block. */
CX_HD void dequantize_q4_0(const BlockQ4_0* b, float* y) {
  const float d = f16_to_f32(b->d);
  for (int j = 0; j < kQk4_0 / 2; j++) {
    y[j] = static_cast<float>((b->qs[j] & 0x0F) - 8) * d;
    y[j + kQk4_0 / 2] = static_cast<float>((b->qs[j] >> 4) - 8) * d;
  }
}

/** The 256 weights of a Q4_K block (the products in ggml's order, so the values are its own). */
CX_HD void dequantize_q4_k(const BlockQ4_K* b, float* y) {
  const float d = f16_to_f32(b->d);
  const float dmin = f16_to_f32(b->dmin);
  const uint8_t* q = b->qs;
  for (int j = 0, is = 0; j < kQkK; j += 64, is += 2) {
    uint8_t sc = 0, m = 0;
    k_scale_min(is, b->scales, &sc, &m);
    const float d1 = d * sc, m1 = dmin * m;
    k_scale_min(is + 1, b->scales, &sc, &m);
    const float d2 = d * sc, m2 = dmin * m;
    for (int l = 0; l < 32; l++) *y++ = d1 * (q[l] & 0xF) - m1;
    for (int l = 0; l < 32; l++) *y++ = d2 * (q[l] >> 4) - m2;
    q += 32;
  }
}

/** The 256 weights of a Q5_K block. */
CX_HD void dequantize_q5_k(const BlockQ5_K* b, float* y) {
  const float d = f16_to_f32(b->d);
  const float dmin = f16_to_f32(b->dmin);
  const uint8_t* ql = b->qs;
  const uint8_t* qh = b->qh;
  uint8_t u1 = 1, u2 = 2;
  for (int j = 0, is = 0; j < kQkK; j += 64, is += 2) {
    uint8_t sc = 0, m = 0;
    k_scale_min(is, b->scales, &sc, &m);
    const float d1 = d * sc, m1 = dmin * m;
    k_scale_min(is + 1, b->scales, &sc, &m);
    const float d2 = d * sc, m2 = dmin * m;
    for (int l = 0; l < 32; l++) *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
    for (int l = 0; l < 32; l++) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
    ql += 32;
    u1 = static_cast<uint8_t>(u1 << 2);
    u2 = static_cast<uint8_t>(u2 << 2);
  }
}

/** The 256 weights of a Q6_K block. */
CX_HD void dequantize_q6_k(const BlockQ6_K* b, float* y) {
  const float d = f16_to_f32(b->d);
  const uint8_t* ql = b->ql;
  const uint8_t* qh = b->qh;
  const int8_t* sc = b->scales;
  for (int n = 0; n < kQkK; n += 128) {
    for (int l = 0; l < 32; l++) {
      const int is = l / 16;
      const int q1 = static_cast<int8_t>((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = static_cast<int8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = static_cast<int8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = static_cast<int8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * sc[is + 0] * q1;
      y[l + 32] = d * sc[is + 2] * q2;
      y[l + 64] = d * sc[is + 4] * q3;
      y[l + 96] = d * sc[is + 6] * q4;
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

#if !defined(__CUDACC__)
// Host-only (quant.cpp): quantizers for ISQ and for the activation blocks of the integer kernels.
// DType is safetensors.h's (a scoped enum of int), declared here so this header stays free of the
// standard library for the CPU kernel files compiled under ISA target pragmas.
enum class DType;

/** Quantizes k floats (k a multiple of the type's block) into one row of `type` (a quantized DType).
 * Q8_0 and Q4_0 are byte-identical to ggml's reference quantizers; Q4_K, Q5_K and Q6_K follow its
 * reference algorithms (no importance matrix). */
void quantize_row(DType type, const float* x, void* out, int64_t k);
/** Widens a row of k elements of any engine DType (F32, F16, BF16 or quantized) to f32. */
void dequantize_row(DType type, const void* row, float* y, int64_t k);
/** f32 → IEEE half, rounded to nearest even (ggml's GGML_FP32_TO_FP16). */
uint16_t f32_to_f16(float f);
/** Q8_0 blocks of k floats (Q8_0 weights). */
void quantize_row_q8_0(const float* x, BlockQ8_0* y, int64_t k);
/** Q8_K blocks of k floats (activations for Q4_K / Q5_K / Q6_K weights). */
void quantize_row_q8_k(const float* x, BlockQ8_K* y, int64_t k);
#endif

}  // namespace cx
