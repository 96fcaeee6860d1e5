// quant.cpp — the host-side quantizers of quant.h: Q8_0 and Q4_0 as ggml's reference quantizers
// write them (the same bytes), the K types by ggml's reference searches (make_qkx2_quants for the
// scale + min types Q4_K / Q5_K, make_qx_quants for Q6_K; no importance matrix), and the Q8_K
// activation blocks the K-type integer kernels multiply with. Written from the algorithms, in the
// same floating-point order, so llama-quantize's files are reproduced byte for byte.
//
// This file must be compiled without FMA contraction of its float expressions (the plugin's
// baseline, x86-64-v2, has no FMA): ggml's reference code runs as separate multiplies and adds.
#include "quant.h"

#include <math.h>
#include <string.h>

#include <string>

#include "error.h"
#include "safetensors.h"

namespace cx {

uint16_t f32_to_f16(float f) {
  uint32_t u = 0;
  memcpy(&u, &f, sizeof(u));
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  u &= 0x7fffffffu;
  if (u > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);   // NaN
  if (u >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // ≥ 65520 rounds to infinity
  if (u < 0x38800000u) {  // below 2^-14: a half subnormal, units of 2^-24 (the scaling is exact)
    float magnitude = 0;
    memcpy(&magnitude, &u, sizeof(u));
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(nearbyintf(magnitude * 16777216.0f)));
  }
  const uint32_t rebased = u - (112u << 23);  // exponent bias 127 → 15
  const uint32_t rounded = rebased + 0xfffu + ((rebased >> 13) & 1u);
  return static_cast<uint16_t>(sign | (rounded >> 13));
}

namespace {

/** Round to nearest, ties to even, for |x| < 2^22: adding 1.5·2^23 leaves the integer in the low
 * mantissa bits (ggml's nearest_int, which its K-quant searches depend on). */
int nearest_int(float x) {
  const float shifted = x + 12582912.0f;
  int32_t bits = 0;
  memcpy(&bits, &shifted, sizeof(bits));
  return (bits & 0x007fffff) - 0x00400000;
}

int clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

constexpr float kGroupMaxEps = 1e-15f;

void quantize_q4_0(const float* x, BlockQ4_0* y, int64_t k) {
  for (int64_t b = 0; b < k / kQk4_0; b++, x += kQk4_0) {
    float amax = 0, max = 0;  // the value of largest magnitude, with its sign
    for (int j = 0; j < kQk4_0; j++) {
      if (amax < fabsf(x[j])) {
        amax = fabsf(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[b].d = f32_to_f16(d);
    for (int j = 0; j < kQk4_0 / 2; j++) {
      // Truncation toward zero of q + 8.5 (not a rounding function), capped at 15.
      const int lo = static_cast<int8_t>(x[j] * id + 8.5f);
      const int hi = static_cast<int8_t>(x[j + kQk4_0 / 2] * id + 8.5f);
      y[b].qs[j] = static_cast<uint8_t>((lo < 15 ? lo : 15) | ((hi < 15 ? hi : 15) << 4));
    }
  }
}

// The least-squares search for a scale and a min over n values quantized to 0..nmax with per-value
// weights: start from (max − min)/nmax, then try nstep + 1 other inverse scales, keeping the one
// with the smallest weighted squared error. Returns the scale; *neg_min is −min (≥ 0).
float search_scale_min(int n, int nmax, const float* x, const float* weights, uint8_t* levels, float* neg_min,
                       float rmin, float rdelta, int nstep) {
  float min = x[0], max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; i++) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sum_w += weights[i];
    sum_x += weights[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; i++) levels[i] = 0;
    *neg_min = -min;
    return 0.0f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; i++) {
    levels[i] = static_cast<uint8_t>(clamp_int(nearest_int(iscale * (x[i] - min)), 0, nmax));
    const float diff = scale * levels[i] + min - x[i];
    best_error += weights[i] * (diff * diff);
  }
  uint8_t trial[32];
  for (int step = 0; step <= nstep; step++) {
    iscale = (rmin + rdelta * step + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; i++) {
      const int l = clamp_int(nearest_int(iscale * (x[i] - min)), 0, nmax);
      trial[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      sum_l += w * l;
      sum_l2 += w * l * l;
      sum_xl += w * l * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float error = 0;
      for (int i = 0; i < n; i++) {
        const float diff = this_scale * trial[i] + this_min - x[i];
        error += weights[i] * (diff * diff);
      }
      if (error < best_error) {
        for (int i = 0; i < n; i++) levels[i] = trial[i];
        best_error = error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *neg_min = -min;
  return scale;
}

// The symmetric search for Q6_K's 16-value sub-blocks (ggml's make_qx_quants with rmse_type 1:
// weights x²): levels −nmax..nmax−1 stored + nmax, 18 inverse scales around −nmax/max tried.
float search_scale_symmetric(int n, int nmax, const float* x, int8_t* levels) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; i++) {
    if (fabsf(x[i]) > amax) {
      amax = fabsf(x[i]);
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; i++) levels[i] = 0;
    return 0.0f;
  }
  float iscale = -nmax / max;
  float sum_lx = 0, sum_l2 = 0;
  for (int i = 0; i < n; i++) {
    const int l = clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    levels[i] = static_cast<int8_t>(l + nmax);
    const float w = x[i] * x[i];
    sum_lx += w * x[i] * l;
    sum_l2 += w * l * l;
  }
  float scale = sum_l2 != 0 ? sum_lx / sum_l2 : 0.0f;
  float best = scale * sum_lx;
  for (int step = -9; step <= 9; step++) {
    if (step == 0) continue;
    iscale = -(nmax + 0.1f * step) / max;
    sum_lx = sum_l2 = 0;
    for (int i = 0; i < n; i++) {
      const int l = clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1);
      const float w = x[i] * x[i];
      sum_lx += w * x[i] * l;
      sum_l2 += w * l * l;
    }
    if (sum_l2 > 0 && sum_lx * sum_lx > best * sum_l2) {
      for (int i = 0; i < n; i++) levels[i] = static_cast<int8_t>(clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1) + nmax);
      scale = sum_lx / sum_l2;
      best = scale * sum_lx;
    }
  }
  return scale;
}

// Q4_K and Q5_K share everything but the level count (15 or 31) and the search's range and steps;
// the 256 levels of a block come back in `levels` for the caller to pack, and the header is written.
template <typename Block>
void quantize_k_scales(const float* x, Block* y, int nmax, float rmin, int nstep, uint8_t* levels) {
  float scales[8], mins[8], weights[32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; j++) {
    const float* sub = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; l++) sum_x2 += sub[l] * sub[l];
    const float av_x = sqrtf(sum_x2 / 32);
    for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(sub[l]);
    scales[j] = search_scale_min(32, nmax, sub, weights, levels + 32 * j, &mins[j], rmin, 0.1f, nstep);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  memset(y->scales, 0, sizeof(y->scales));
  for (int j = 0; j < 8; j++) {
    // uint8 wrap of nearest_int, then capped at 63 (as ggml stores it).
    uint8_t ls = static_cast<uint8_t>(nearest_int(inv_scale * scales[j]));
    uint8_t lm = static_cast<uint8_t>(nearest_int(inv_min * mins[j]));
    ls = ls < 63 ? ls : 63;
    lm = lm < 63 ? lm : 63;
    if (j < 4) {
      y->scales[j] = static_cast<uint8_t>(y->scales[j] | ls);
      y->scales[j + 4] = static_cast<uint8_t>(y->scales[j + 4] | lm);
    } else {
      y->scales[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
      y->scales[j - 4] = static_cast<uint8_t>(y->scales[j - 4] | ((ls >> 4) << 6));
      y->scales[j] = static_cast<uint8_t>(y->scales[j] | ((lm >> 4) << 6));
    }
  }
  y->d = f32_to_f16(max_scale / 63.f);
  y->dmin = f32_to_f16(max_min / 63.f);
  // The levels again, against the scales as stored (6-bit, f16 d): what dequantization will use.
  for (int j = 0; j < 8; j++) {
    uint8_t sc = 0, m = 0;
    k_scale_min(j, y->scales, &sc, &m);
    const float d = f16_to_f32(y->d) * sc;
    if (d == 0) continue;
    const float dm = f16_to_f32(y->dmin) * m;
    for (int l = 0; l < 32; l++) {
      levels[32 * j + l] = static_cast<uint8_t>(clamp_int(nearest_int((x[32 * j + l] + dm) / d), 0, nmax));
    }
  }
}

void quantize_q4_k(const float* x, BlockQ4_K* y, int64_t k) {
  uint8_t levels[kQkK];
  for (int64_t b = 0; b < k / kQkK; b++, x += kQkK) {
    quantize_k_scales(x, &y[b], 15, -1.0f, 20, levels);
    uint8_t* q = y[b].qs;
    for (int j = 0; j < kQkK; j += 64, q += 32) {
      for (int l = 0; l < 32; l++) q[l] = static_cast<uint8_t>(levels[j + l] | (levels[j + l + 32] << 4));
    }
  }
}

void quantize_q5_k(const float* x, BlockQ5_K* y, int64_t k) {
  uint8_t levels[kQkK];
  for (int64_t b = 0; b < k / kQkK; b++, x += kQkK) {
    quantize_k_scales(x, &y[b], 31, -0.5f, 15, levels);
    memset(y[b].qh, 0, sizeof(y[b].qh));
    uint8_t* ql = y[b].qs;
    uint8_t m1 = 1, m2 = 2;
    for (int n = 0; n < kQkK; n += 64, ql += 32) {
      for (int j = 0; j < 32; j++) {
        int l1 = levels[n + j], l2 = levels[n + j + 32];
        if (l1 > 15) {
          l1 -= 16;
          y[b].qh[j] = static_cast<uint8_t>(y[b].qh[j] | m1);
        }
        if (l2 > 15) {
          l2 -= 16;
          y[b].qh[j] = static_cast<uint8_t>(y[b].qh[j] | m2);
        }
        ql[j] = static_cast<uint8_t>(l1 | (l2 << 4));
      }
      m1 = static_cast<uint8_t>(m1 << 2);
      m2 = static_cast<uint8_t>(m2 << 2);
    }
  }
}

void quantize_q6_k(const float* x, BlockQ6_K* y, int64_t k) {
  int8_t levels[kQkK];
  float scales[kQkK / 16];
  for (int64_t b = 0; b < k / kQkK; b++, x += kQkK) {
    float max_scale = 0, max_abs_scale = 0;
    for (int s = 0; s < kQkK / 16; s++) {
      scales[s] = search_scale_symmetric(16, 32, x + 16 * s, levels + 16 * s);
      if (fabsf(scales[s]) > max_abs_scale) {
        max_abs_scale = fabsf(scales[s]);
        max_scale = scales[s];
      }
    }
    BlockQ6_K& out = y[b];
    if (max_abs_scale < kGroupMaxEps) {
      memset(&out, 0, sizeof(out));
      continue;
    }
    const float iscale = -128.f / max_scale;
    out.d = f32_to_f16(1 / iscale);
    for (int s = 0; s < kQkK / 16; s++) {
      const int v = nearest_int(iscale * scales[s]);
      out.scales[s] = static_cast<int8_t>(v < 127 ? v : 127);
    }
    for (int s = 0; s < kQkK / 16; s++) {
      const float d = f16_to_f32(out.d) * out.scales[s];
      if (d == 0) continue;
      for (int i = 0; i < 16; i++) {
        levels[16 * s + i] = static_cast<int8_t>(clamp_int(nearest_int(x[16 * s + i] / d), -32, 31) + 32);
      }
    }
    uint8_t* ql = out.ql;
    uint8_t* qh = out.qh;
    for (int j = 0; j < kQkK; j += 128, ql += 64, qh += 32) {
      for (int l = 0; l < 32; l++) {
        const int l0 = levels[j + l], l1 = levels[j + l + 32], l2 = levels[j + l + 64], l3 = levels[j + l + 96];
        ql[l] = static_cast<uint8_t>((l0 & 0xF) | ((l2 & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((l1 & 0xF) | ((l3 & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((l0 >> 4) | ((l1 >> 4) << 2) | ((l2 >> 4) << 4) | ((l3 >> 4) << 6));
      }
    }
  }
}

void check_row_length(DType type, int64_t k) {
  const int64_t block = dtype_block_elements(type);
  if (block <= 0 || k % block != 0) {
    throw Error(CX_ERR_INVALID_ARGUMENT, std::string("a ") + dtype_name(type) + " row of " + std::to_string(k)
        + " elements is not a whole number of blocks");
  }
}

}  // namespace

void quantize_row_q8_0(const float* x, BlockQ8_0* y, int64_t k) {
  for (int64_t b = 0; b < k / kQk8_0; b++, x += kQk8_0) {
    // The largest magnitude, in 8 lanes (a maximum does not depend on the order it is taken in).
    float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int j = 0; j < kQk8_0; j += 8) {
      for (int l = 0; l < 8; l++) lanes[l] = lanes[l] > fabsf(x[j + l]) ? lanes[l] : fabsf(x[j + l]);
    }
    float amax = 0;
    for (int l = 0; l < 8; l++) amax = amax > lanes[l] ? amax : lanes[l];
    const float d = amax / 127;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[b].d = f32_to_f16(d);
    // roundf (ties away from zero) without the library call: truncate, then step away from zero when
    // the fraction (exact: v − trunc(v)) is at least one half.
    for (int j = 0; j < kQk8_0; j++) {
      const float v = x[j] * id;
      int q = static_cast<int>(v);
      const float fraction = v - static_cast<float>(q);
      q += (fraction >= 0.5f) - (fraction <= -0.5f);
      y[b].qs[j] = static_cast<int8_t>(q);
    }
  }
}

void quantize_row_q8_k(const float* x, BlockQ8_K* y, int64_t k) {
  for (int64_t b = 0; b < k / kQkK; b++, x += kQkK) {
    float max = 0, amax = 0;
    for (int j = 0; j < kQkK; j++) {
      if (fabsf(x[j]) > amax) {
        amax = fabsf(x[j]);
        max = x[j];
      }
    }
    BlockQ8_K& out = y[b];
    if (amax == 0) {
      memset(&out, 0, sizeof(out));
      continue;
    }
    const float iscale = -127.f / max;  // the largest value maps to ±127 exactly
    for (int j = 0; j < kQkK; j++) {
      const int v = nearest_int(iscale * x[j]);
      out.qs[j] = static_cast<int8_t>(v < 127 ? v : 127);
    }
    for (int s = 0; s < kQkK / 16; s++) {
      int sum = 0;
      for (int i = 0; i < 16; i++) sum += out.qs[16 * s + i];
      out.bsums[s] = static_cast<int16_t>(sum);
    }
    out.d = 1 / iscale;
  }
}

void quantize_row(DType type, const float* x, void* out, int64_t k) {
  check_row_length(type, k);
  switch (type) {
    case DType::Q8_0: quantize_row_q8_0(x, static_cast<BlockQ8_0*>(out), k); return;
    case DType::Q4_0: quantize_q4_0(x, static_cast<BlockQ4_0*>(out), k); return;
    case DType::Q4_K: quantize_q4_k(x, static_cast<BlockQ4_K*>(out), k); return;
    case DType::Q5_K: quantize_q5_k(x, static_cast<BlockQ5_K*>(out), k); return;
    case DType::Q6_K: quantize_q6_k(x, static_cast<BlockQ6_K*>(out), k); return;
    default:
      throw Error(CX_ERR_INVALID_ARGUMENT, std::string("cannot quantize to ") + dtype_name(type)
          + ": not a block-quantized type");
  }
}

void dequantize_row(DType type, const void* row, float* y, int64_t k) {
  check_row_length(type, k);
  switch (type) {
    case DType::F32: memcpy(y, row, static_cast<size_t>(k) * sizeof(float)); return;
    case DType::F16:
      for (int64_t i = 0; i < k; i++) y[i] = f16_to_f32(static_cast<const uint16_t*>(row)[i]);
      return;
    case DType::BF16:
      for (int64_t i = 0; i < k; i++) y[i] = bf16_to_f32(static_cast<const uint16_t*>(row)[i]);
      return;
    case DType::Q8_0:
      for (int64_t b = 0; b < k / kQk8_0; b++) dequantize_q8_0(static_cast<const BlockQ8_0*>(row) + b, y + b * kQk8_0);
      return;
    case DType::Q4_0:
      for (int64_t b = 0; b < k / kQk4_0; b++) dequantize_q4_0(static_cast<const BlockQ4_0*>(row) + b, y + b * kQk4_0);
      return;
    case DType::Q4_K:
      for (int64_t b = 0; b < k / kQkK; b++) dequantize_q4_k(static_cast<const BlockQ4_K*>(row) + b, y + b * kQkK);
      return;
    case DType::Q5_K:
      for (int64_t b = 0; b < k / kQkK; b++) dequantize_q5_k(static_cast<const BlockQ5_K*>(row) + b, y + b * kQkK);
      return;
    case DType::Q6_K:
      for (int64_t b = 0; b < k / kQkK; b++) dequantize_q6_k(static_cast<const BlockQ6_K*>(row) + b, y + b * kQkK);
      return;
    default: throw Error(CX_ERR_INVALID_ARGUMENT, std::string("cannot dequantize ") + dtype_name(type));
  }
}

}  // namespace cx
