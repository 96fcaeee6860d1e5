// simd_impl.h — the kernels of cpu_simd.h written once over a vector type V (see the kernels_*.cpp
// files). Included only by those files, inside an anonymous namespace, after their target pragma.
// V provides: T, W (lanes), zero, load, load_bf16, load_f16, fma, reduce.

static inline float scalar_weight(const void* w, int dtype, int64_t at) {
  if (dtype == kSimdF32) return static_cast<const float*>(w)[at];
  const uint16_t h = static_cast<const uint16_t*>(w)[at];
  return dtype == kSimdBf16 ? bf16_to_f32(h) : f16_to_f32(h);
}

template <int DT>
struct WeightLoad {
  static typename V::T load(const void* w, int64_t at) {
    if (DT == kSimdF32) return V::load(static_cast<const float*>(w) + at);
    if (DT == kSimdBf16) return V::load_bf16(static_cast<const uint16_t*>(w) + at);
    return V::load_f16(static_cast<const uint16_t*>(w) + at);
  }
};

// A WR × XR block of outputs: WR weight rows from r, XR rows of x from i.
template <int DT, int WR, int XR>
static void tile(float* out, const float* x, const void* w, int64_t d, int64_t k, int64_t i, int64_t r) {
  typename V::T acc[XR][WR];
#pragma GCC unroll 8
  for (int a = 0; a < XR; a++) {
#pragma GCC unroll 8
    for (int b = 0; b < WR; b++) acc[a][b] = V::zero();
  }
  const float* xs = x + i * k;
  int64_t at = 0;
  for (; at + V::W <= k; at += V::W) {
    typename V::T wv[WR];
#pragma GCC unroll 8
    for (int b = 0; b < WR; b++) wv[b] = WeightLoad<DT>::load(w, (r + b) * k + at);
#pragma GCC unroll 8
    for (int a = 0; a < XR; a++) {
      const typename V::T xv = V::load(xs + a * k + at);
#pragma GCC unroll 8
      for (int b = 0; b < WR; b++) acc[a][b] = V::fma(xv, wv[b], acc[a][b]);
    }
  }
  for (int a = 0; a < XR; a++) {
    for (int b = 0; b < WR; b++) {
      float sum = V::reduce(acc[a][b]);
      for (int64_t j = at; j < k; j++) sum += xs[a * k + j] * scalar_weight(w, DT, (r + b) * k + j);
      out[(i + a) * d + r + b] = sum;
    }
  }
}

template <int DT, int XR>
static void rows_block(float* out, const float* x, const void* w, int64_t d, int64_t k, int64_t i, int64_t r0,
                       int64_t r1) {
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) tile<DT, 4, XR>(out, x, w, d, k, i, r);
  for (; r < r1; r++) tile<DT, 1, XR>(out, x, w, d, k, i, r);
}

template <int DT>
static void matmul_dtype(float* out, const float* x, const void* w, int64_t d, int64_t k, int64_t i0, int64_t i1,
                         int64_t r0, int64_t r1) {
  for (int64_t i = i0; i < i1; i += 6) {
    switch (i1 - i >= 6 ? 6 : i1 - i) {
      case 6: rows_block<DT, 6>(out, x, w, d, k, i, r0, r1); break;
      case 5: rows_block<DT, 5>(out, x, w, d, k, i, r0, r1); break;
      case 4: rows_block<DT, 4>(out, x, w, d, k, i, r0, r1); break;
      case 3: rows_block<DT, 3>(out, x, w, d, k, i, r0, r1); break;
      case 2: rows_block<DT, 2>(out, x, w, d, k, i, r0, r1); break;
      default: rows_block<DT, 1>(out, x, w, d, k, i, r0, r1); break;
    }
  }
}

static void matmul_impl(float* out, const float* x, const void* w, int dtype, int64_t d, int64_t k, int64_t i0,
                        int64_t i1, int64_t r0, int64_t r1) {
  if (dtype == kSimdBf16) matmul_dtype<kSimdBf16>(out, x, w, d, k, i0, i1, r0, r1);
  else if (dtype == kSimdF16) matmul_dtype<kSimdF16>(out, x, w, d, k, i0, i1, r0, r1);
  else matmul_dtype<kSimdF32>(out, x, w, d, k, i0, i1, r0, r1);
}

static float dot_impl(const float* a, const float* b, int64_t n) {
  typename V::T acc = V::zero();
  int64_t i = 0;
  for (; i + V::W <= n; i += V::W) acc = V::fma(V::load(a + i), V::load(b + i), acc);
  float sum = V::reduce(acc);
  for (; i < n; i++) sum += a[i] * b[i];
  return sum;
}

static void attend_impl(float* out, const float* q, const float* keys, const float* values, int64_t stride,
                        int count, int head_dim, float* scores) {
  const float scale = 1.0f / sqrtf(static_cast<float>(head_dim));
  float max_score = -INFINITY;
  for (int t = 0; t < count; t++) {
    scores[t] = dot_impl(q, keys + t * stride, head_dim) * scale;
    max_score = scores[t] > max_score ? scores[t] : max_score;
  }
  float total = 0;
  for (int t = 0; t < count; t++) {
    scores[t] = expf(scores[t] - max_score);
    total += scores[t];
  }
  const float inv_total = 1.0f / total;
  for (int j = 0; j < head_dim; j++) out[j] = 0;
  for (int t = 0; t < count; t++) {
    const float* value = values + t * stride;
    const float p = scores[t] * inv_total;
    for (int j = 0; j < head_dim; j++) out[j] += p * value[j];
  }
}

static float stream_sum_impl(const float* data, int64_t count) {
  typename V::T a0 = V::zero(), a1 = V::zero(), a2 = V::zero(), a3 = V::zero();
  int64_t i = 0;
  const typename V::T one = V::one();
  for (; i + 4 * V::W <= count; i += 4 * V::W) {
    a0 = V::fma(V::load(data + i), one, a0);
    a1 = V::fma(V::load(data + i + V::W), one, a1);
    a2 = V::fma(V::load(data + i + 2 * V::W), one, a2);
    a3 = V::fma(V::load(data + i + 3 * V::W), one, a3);
  }
  float sum = V::reduce(a0) + V::reduce(a1) + V::reduce(a2) + V::reduce(a3);
  for (; i < count; i++) sum += data[i];
  return sum;
}
