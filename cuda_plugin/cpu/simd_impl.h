// simd_impl.h — the kernels of cpu_simd.h written once over a vector type V (see the kernels_*.cpp
// files). Included only by those files, inside an anonymous namespace, after their target pragma.
// V provides: T, W (lanes), kRowsX (activation rows per register block, at most 6), zero, load,
// load_bf16, load_f16, panel_low, panel_high, fma, reduce.

static inline float scalar_weight(const void* w, int dtype, int64_t at) {
  if (dtype == kSimdF32) return static_cast<const float*>(w)[at];
  const uint16_t h = static_cast<const uint16_t*>(w)[at];
  return dtype == kSimdBf16 ? bf16_to_f32(h) : f16_to_f32(h);
}

template <int DT>
struct WeightLoad {
  static constexpr int64_t kBytes = simd_dtype_bytes(DT);
  static typename V::T load(const void* w, int64_t at) {
    if (DT == kSimdF32) return V::load(static_cast<const float*>(w) + at);
    if (DT == kSimdBf16) return V::load_bf16(static_cast<const uint16_t*>(w) + at);
    return V::load_f16(static_cast<const uint16_t*>(w) + at);
  }
};

// How a block's weights are read: plain rows, the packed layout (cpu_simd.h), or the packed layout
// summed in k-slices that do not start on vector boundaries (a vector straddles two blocks and is
// gathered element by element: slow, but the same lanes in the same order).
enum Layout { kPlain, kPacked, kPackedGather };

// Where weight (row b of the block, column c) lies, from the block's first row: cpu_simd.h's
// packed_index within one group, written again here because the ISA files may not call shared
// inline functions at run time (they would be compiled under this file's target pragma).
template <int LAYOUT>
static inline int64_t weight_index(int64_t cols, int b, int64_t c) {
  if (LAYOUT == kPlain) return b * cols + c;
  return c / kPackCols * (kPackRows * kPackCols) + b * kPackCols + c % kPackCols;
}

template <int DT, int LAYOUT>
static inline typename V::T load_weights(const void* rows, int64_t cols, int b, int64_t c) {
  if (LAYOUT != kPackedGather) return WeightLoad<DT>::load(rows, weight_index<LAYOUT>(cols, b, c));
  float gathered[V::W];
  for (int j = 0; j < V::W; j++) gathered[j] = scalar_weight(rows, DT, weight_index<LAYOUT>(cols, b, c + j));
  return V::load(gathered);
}

// A WR × XR block of outputs: out[a·ldo + b] = x[a·ldx ..] · (weight row b) over all cols, for XR
// rows of x and WR weight rows from `rows`. WR is kPackRows, or 1 for a tensor's last rows (which the
// packed layout leaves plain). The columns (k) are summed as `chunks` consecutive slices, each one
// accumulated in the vector lanes and reduced, then the slices' sums added in pairwise_sum's order;
// the slices are walked in memory order, so the block's weights stream past once.
template <int DT, int LAYOUT, int WR, int XR>
static void tile(float* out, int64_t ldo, const float* x, int64_t ldx, const char* rows, int64_t cols, int chunks) {
  const int64_t chunk = cols / chunks;
  float partial[kMaxPairwiseParts][XR][WR];
  // Decode streams each weight once. A packed block is one contiguous run, which the hardware
  // prefetchers follow on their own (a software prefetch there, non-temporal above all, halved bf16
  // decode on this project's Xeon: 6.6 against 13.6 tok/s); plain rows are short separate streams
  // the prefetchers keep losing, so for them the block after next is prefetched, a line at a time.
  const char* ahead = rows + 2 * WR * cols * WeightLoad<DT>::kBytes;
  for (int c = 0; c < chunks; c++) {
    const int64_t begin = c * chunk;
    typename V::T acc[XR][WR];
#pragma GCC unroll 8
    for (int a = 0; a < XR; a++) {
#pragma GCC unroll 8
      for (int b = 0; b < WR; b++) acc[a][b] = V::zero();
    }
    int64_t at = 0;
    for (; at + V::W <= chunk; at += V::W) {
      typename V::T wv[WR];
#pragma GCC unroll 8
      for (int b = 0; b < WR; b++) {
        if (XR == 1 && LAYOUT == kPlain && (at * WeightLoad<DT>::kBytes) % 64 == 0) {
          __builtin_prefetch(ahead + weight_index<LAYOUT>(cols, b, begin + at) * WeightLoad<DT>::kBytes, 0, 3);
        }
        wv[b] = load_weights<DT, LAYOUT>(rows, cols, b, begin + at);
      }
#pragma GCC unroll 8
      for (int a = 0; a < XR; a++) {
        const typename V::T xv = V::load(x + a * ldx + begin + at);
#pragma GCC unroll 8
        for (int b = 0; b < WR; b++) acc[a][b] = V::fma(xv, wv[b], acc[a][b]);
      }
    }
    for (int a = 0; a < XR; a++) {
      for (int b = 0; b < WR; b++) {
        float sum = V::reduce(acc[a][b]);
        for (int64_t j = begin + at; j < begin + chunk; j++) {
          sum += x[a * ldx + j] * scalar_weight(rows, DT, weight_index<LAYOUT>(cols, b, j));
        }
        partial[c][a][b] = sum;
      }
    }
  }
  for (int a = 0; a < XR; a++) {
    for (int b = 0; b < WR; b++) out[a * ldo + b] = pairwise_sum(&partial[0][a][b], XR * WR, chunks);
  }
}

template <int DT, int LAYOUT, int XR>
static void rows_block(float* out, int64_t ldo, const float* x, int64_t ldx, const SimdWeights& w, int chunks,
                       int64_t rows_w) {
  const char* first = static_cast<const char*>(w.rows);
  const int64_t row_bytes = w.cols * WeightLoad<DT>::kBytes;
  int64_t r = 0;
  for (; r + kPackRows <= rows_w; r += kPackRows) {
    tile<DT, LAYOUT, kPackRows, XR>(out + r, ldo, x, ldx, first + r * row_bytes, w.cols, chunks);
  }
  for (; r < rows_w; r++) tile<DT, kPlain, 1, XR>(out + r, ldo, x, ldx, first + r * row_bytes, w.cols, chunks);
}

template <int DT, int LAYOUT>
static void matmul_layout(float* out, int64_t ldo, const float* x, int64_t ldx, const SimdWeights& w, int chunks,
                          int64_t rows_x, int64_t rows_w) {
  for (int64_t i = 0; i < rows_x; i += V::kRowsX) {
    float* o = out + i * ldo;
    const float* xs = x + i * ldx;
    switch (rows_x - i >= V::kRowsX ? V::kRowsX : rows_x - i) {
      case 6: rows_block<DT, LAYOUT, 6>(o, ldo, xs, ldx, w, chunks, rows_w); break;
      case 5: rows_block<DT, LAYOUT, 5>(o, ldo, xs, ldx, w, chunks, rows_w); break;
      case 4: rows_block<DT, LAYOUT, 4>(o, ldo, xs, ldx, w, chunks, rows_w); break;
      case 3: rows_block<DT, LAYOUT, 3>(o, ldo, xs, ldx, w, chunks, rows_w); break;
      case 2: rows_block<DT, LAYOUT, 2>(o, ldo, xs, ldx, w, chunks, rows_w); break;
      default: rows_block<DT, LAYOUT, 1>(o, ldo, xs, ldx, w, chunks, rows_w); break;
    }
  }
}

template <int DT>
static void matmul_dtype(float* out, int64_t ldo, const float* x, int64_t ldx, const SimdWeights& w, int chunks,
                         int64_t rows_x, int64_t rows_w) {
  if (!w.packed) matmul_layout<DT, kPlain>(out, ldo, x, ldx, w, chunks, rows_x, rows_w);
  else if (w.cols / chunks % V::W == 0) matmul_layout<DT, kPacked>(out, ldo, x, ldx, w, chunks, rows_x, rows_w);
  else matmul_layout<DT, kPackedGather>(out, ldo, x, ldx, w, chunks, rows_x, rows_w);
}

#include "panel_impl.h"

static void matmul_impl(float* out, int64_t ldo, const float* x, int64_t ldx, const SimdWeights& w, int chunks,
                        int64_t rows_x, int64_t rows_w) {
  if (w.panel || (w.dtype == kSimdBf16 && V::kBf16Chain)) {  // full groups in the panel layout, then plain rows
    // Full groups from the panel layout, or plain ones paneled on the fly where they can be.
    const bool groups = w.panel || (V::kBf16Chain && w.cols % kPackCols == 0);
    const int64_t paneled = groups ? rows_w / kPanelRows * kPanelRows : 0;
    if (w.panel) matmul_panel(out, ldo, x, ldx, w, chunks, rows_x, paneled);
    else if (paneled > 0) matmul_panel_of_rows(out, ldo, x, ldx, w, chunks, rows_x, paneled);
    if (paneled == rows_w) return;
    const uint16_t* rest = static_cast<const uint16_t*>(w.rows) + paneled * w.cols;
    if (V::kBf16Chain) return matmul_bf16_chain(out + paneled, ldo, x, ldx, rest, w.cols, chunks, rows_x, rows_w - paneled);
    const SimdWeights plain{rest, kSimdBf16, false, false, w.cols};
    return matmul_dtype<kSimdBf16>(out + paneled, ldo, x, ldx, plain, chunks, rows_x, rows_w - paneled);
  }
  if (w.dtype == kSimdBf16) matmul_dtype<kSimdBf16>(out, ldo, x, ldx, w, chunks, rows_x, rows_w);
  else if (w.dtype == kSimdF16) matmul_dtype<kSimdF16>(out, ldo, x, ldx, w, chunks, rows_x, rows_w);
  else matmul_dtype<kSimdF32>(out, ldo, x, ldx, w, chunks, rows_x, rows_w);
}

static float dot_impl(const float* a, const float* b, int64_t n) {
  typename V::T acc = V::zero();
  int64_t i = 0;
  for (; i + V::W <= n; i += V::W) acc = V::fma(V::load(a + i), V::load(b + i), acc);
  float sum = V::reduce(acc);
  for (; i < n; i++) sum += a[i] * b[i];
  return sum;
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
