// cpu_kernels.h — the CPU backend's inner loops (rmsnorm, dot, rope, attention for one head),
// written so that gcc vectorises them. Summation order is fixed (16 lanes, then lane order), so a
// row's result never depends on the batch it is computed in.
#pragma once

#include <cmath>
#include <cstdint>

#include "backend.h"
#include "cpu_simd.h"
#include "cx_math.h"

namespace cx {

/** Σ a[i]·b[i] with 16 independent accumulators. */
static inline float dot(const float* a, const float* b, int64_t n) {
  float lanes[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int j = 0; j < 16; j++) lanes[j] += a[i + j] * b[i + j];
  }
  float sum = 0;
  for (int j = 0; j < 16; j++) sum += lanes[j];
  for (; i < n; i++) sum += a[i] * b[i];
  return sum;
}

/** `count` elements of a weight from element `at`, widened to f32 into `out`. */
static inline void widen(const Tensor& w, int64_t at, int64_t count, float* out) {
  if (w.dtype == DType::F32) {
    const float* src = static_cast<const float*>(w.data) + at;
    for (int64_t i = 0; i < count; i++) out[i] = src[i];
  } else if (w.dtype == DType::BF16) {
    const uint16_t* src = static_cast<const uint16_t*>(w.data) + at;
    for (int64_t i = 0; i < count; i++) out[i] = bf16_to_f32(src[i]);
  } else {
    const uint16_t* src = static_cast<const uint16_t*>(w.data) + at;
    for (int64_t i = 0; i < count; i++) out[i] = f16_to_f32(src[i]);
  }
}

/** Row `r` of a weight, widened to f32 into `out` (cols floats). A packed row (cpu_simd.h) lies in
 * runs of kPackCols, a paneled one in pairs of columns. */
static inline void widen_row(const Tensor& w, int64_t r, float* out) {
  if (w.panel) {
    for (int64_t c = 0; c < w.cols; c += 2) widen(w, panel_index(r, c, w.rows, w.cols), 2, out + c);
    return;
  }
  const int64_t run = w.packed ? kPackCols : w.cols;
  for (int64_t c = 0; c < w.cols; c += run) {
    widen(w, w.packed ? packed_index(r, c, w.rows, w.cols) : r * w.cols + c, run, out + c);
  }
}

/** out = RMSNorm(x) · weight over one row of `dim`. */
static inline void rmsnorm_row(float* out, const float* x, const float* weight, int dim, float eps) {
  const float scale = rms_scale(dot(x, x, dim), dim, eps);
  for (int j = 0; j < dim; j++) out[j] = rmsnorm_element(x[j], scale, weight[j]);
}

/** Rotate-half RoPE over the first `rotary_dim` dims of every head of one row, cos and sin scaled by
 * `attention_scale` as transformers scales them; `trig` holds rotary_dim floats of scratch. */
static inline void rope_row(float* x, int32_t position, int heads, int head_dim, int rotary_dim, const float* inv_freq,
                            float attention_scale, float* trig) {
  const int half = rotary_dim / 2;
  for (int i = 0; i < half; i++) {
    const float angle = rope_angle(position, inv_freq[i]);
    trig[i] = cosf(angle) * attention_scale;
    trig[half + i] = sinf(angle) * attention_scale;
  }
  for (int h = 0; h < heads; h++) {
    float* head = x + static_cast<int64_t>(h) * head_dim;
    for (int i = 0; i < half; i++) rope_rotate(head + i, head + half + i, trig[i], trig[half + i]);
  }
}

/** Attention of one query head over positions attention_start(position, window)..position of its
 * slot (window 0: all); `scores` holds context floats. */
static inline void attend_head(float* out, const float* q, const KvCache& cache, int layer, int slot, int position,
                               int kv_head, int head_dim, float* scores, int window = 0) {
  const float scale = 1.0f / sqrtf(static_cast<float>(head_dim));
  float max_score = -INFINITY;
  const int start = attention_start(position, window);
  for (int t = start; t <= position; t++) {
    const float* key = cache.keys + cache.offset(layer, slot, kv_head, t);
    scores[t] = dot(q, key, head_dim) * scale;
    max_score = scores[t] > max_score ? scores[t] : max_score;
  }
  float total = 0;
  for (int t = start; t <= position; t++) {
    scores[t] = expf(scores[t] - max_score);
    total += scores[t];
  }
  const float inv_total = 1.0f / total;
  for (int j = 0; j < head_dim; j++) out[j] = 0;
  for (int t = start; t <= position; t++) {
    const float* value = cache.values + cache.offset(layer, slot, kv_head, t);
    const float p = scores[t] * inv_total;
    for (int j = 0; j < head_dim; j++) out[j] += p * value[j];
  }
}

}  // namespace cx
