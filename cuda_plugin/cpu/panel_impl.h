// panel_impl.h — the matmul of a bf16 weight in the panel layout (cpu_simd.h, panel_index), written
// over the vector type V of a kernels_*.cpp file; included by simd_impl.h. V provides panel_low(words)
// and panel_high(words): the f32 weights in the low or high bf16 halves of W 32-bit words, and
// kBf16Chain: whether its plain bf16 rows are summed in the same order (AVX2, whose weights the
// backend panels). Every output is one chain per k-slice, s = fma(x[c], w[c], s) in column order from
// zero. The blocking is AVX2's (the only ISA the backend panels weights for); the others read the
// layout correctly.

// AVX2 register blocks: 5 rows of x against one group of 16 weight rows (10 accumulators, 2 weights,
// a broadcast x and the high-half mask in 16 ymm; with 6 rows GCC spills 3 accumulators), 2 against 2
// groups, and for decode 1 against 4 groups (8 independent chains hide the FMA latency).
constexpr int kPanelRowsX = 5;

// One column c (x at x[a·ldx] for the XR rows): its weights are the low (even c) or HIGH (odd c)
// halves of its pair's words, `words` for the first group.
template <int XR, int G, bool HIGH>
static inline void panel_column(typename V::T (*acc)[G * (kPanelRows / V::W)], const float* x, int64_t ldx,
                                const uint32_t* words, int64_t group_words) {
  constexpr int VR = kPanelRows / V::W;
  auto weights = [&](int v) {
    const uint32_t* at = words + v / VR * group_words + v % VR * V::W;
    return HIGH ? V::panel_high(at) : V::panel_low(at);
  };
  if (XR == 1) {  // broadcast first: 1 + 1 registers beside the accumulators
    const typename V::T xb = V::set1(x[0]);
#pragma GCC unroll 8
    for (int v = 0; v < G * VR; v++) acc[0][v] = V::fma(xb, weights(v), acc[0][v]);
    return;
  }
  typename V::T w[G * VR];  // weights first: G · VR + 1 registers beside the accumulators
#pragma GCC unroll 8
  for (int v = 0; v < G * VR; v++) w[v] = weights(v);
#pragma GCC unroll 8
  for (int a = 0; a < XR; a++) {
    const typename V::T xb = V::set1(x[a * ldx]);
#pragma GCC unroll 8
    for (int v = 0; v < G * VR; v++) acc[a][v] = V::fma(xb, w[v], acc[a][v]);
  }
}

// G groups of kPanelRows weight rows (`group`, groups `group_words` apart) against XR rows of x.
template <int XR, int G>
static void panel_block(float* out, int64_t ldo, const float* x, int64_t ldx, const uint32_t* group,
                        int64_t group_words, int64_t cols, int chunks) {
  constexpr int VR = kPanelRows / V::W;  // vectors per group
  const int64_t chunk = cols / chunks;
  float partial[kMaxPairwiseParts][XR][G * kPanelRows];
  for (int c = 0; c < chunks; c++) {
    typename V::T acc[XR][G * VR];
#pragma GCC unroll 8
    for (int a = 0; a < XR; a++) {
#pragma GCC unroll 8
      for (int v = 0; v < G * VR; v++) acc[a][v] = V::zero();
    }
    int64_t col = c * chunk;
    const int64_t end = col + chunk;
    if (col % 2 != 0) {  // a slice starting on an odd column (k-chunks of odd length)
      panel_column<XR, G, true>(acc, x + col, ldx, group + col / 2 * kPanelRows, group_words);
      col++;
    }
    const uint32_t* words = group + col / 2 * kPanelRows;
    for (; col + 2 <= end; col += 2, words += kPanelRows) {
      panel_column<XR, G, false>(acc, x + col, ldx, words, group_words);
      panel_column<XR, G, true>(acc, x + col + 1, ldx, words, group_words);
    }
    if (col < end) panel_column<XR, G, false>(acc, x + col, ldx, words, group_words);
#pragma GCC unroll 8
    for (int a = 0; a < XR; a++) {
#pragma GCC unroll 8
      for (int v = 0; v < G * VR; v++) V::store(&partial[c][a][v * V::W], acc[a][v]);
    }
  }
  // The chunks added in pairwise_sum's order, W outputs at once.
#pragma GCC unroll 8
  for (int a = 0; a < XR; a++) {
#pragma GCC unroll 8
    for (int v = 0; v < G * VR; v++) {
      const float* first = &partial[0][a][v * V::W];
      V::store(out + a * ldo + v * V::W, pairwise_sum_of(
          chunks, V::zero(), [&](int j) { return V::load(first + j * XR * G * kPanelRows); },
          [&](typename V::T l, typename V::T r) { return V::add(l, r); }));
    }
  }
}

// `groups` full groups of rows from w.rows against the rows of x in blocks of XR.
template <int XR>
static void panel_groups(float* out, int64_t ldo, const float* x, int64_t ldx, const SimdWeights& w, int chunks,
                         int64_t groups) {
  const uint32_t* first = static_cast<const uint32_t*>(w.rows);
  const int64_t group_words = kPanelRows * w.cols / 2;
  constexpr int G = XR == 1 ? 4 : XR == 2 ? 2 : 1;
  int64_t g = 0;
  for (; g + G <= groups; g += G) {
    panel_block<XR, G>(out + g * kPanelRows, ldo, x, ldx, first + g * group_words, group_words, w.cols, chunks);
  }
  for (; g < groups; g++) {
    panel_block<XR, 1>(out + g * kPanelRows, ldo, x, ldx, first + g * group_words, group_words, w.cols, chunks);
  }
}

static void matmul_panel(float* out, int64_t ldo, const float* x, int64_t ldx, const SimdWeights& w, int chunks,
                         int64_t rows_x, int64_t rows_w) {
  static_assert(kPanelRowsX == 5, "one case per block height below");
  const int64_t groups = rows_w / kPanelRows;
  for (int64_t i = 0; i < rows_x; i += kPanelRowsX) {
    float* o = out + i * ldo;
    const float* xs = x + i * ldx;
    switch (rows_x - i >= kPanelRowsX ? kPanelRowsX : rows_x - i) {
      case 5: panel_groups<5>(o, ldo, xs, ldx, w, chunks, groups); break;
      case 4: panel_groups<4>(o, ldo, xs, ldx, w, chunks, groups); break;
      case 3: panel_groups<3>(o, ldo, xs, ldx, w, chunks, groups); break;
      case 2: panel_groups<2>(o, ldo, xs, ldx, w, chunks, groups); break;
      default: panel_groups<1>(o, ldo, xs, ldx, w, chunks, groups); break;
    }
  }
}

// Plain bf16 rows in full groups (a weight served from the mapped file until its paneled copy is
// built, background_repack.h) at nearly the panel layout's speed: blocks of kPanelOfRowsGroups groups
// are paneled into this thread's buffer (in L2) and multiplied from there, the same bits.
constexpr int64_t kPanelOfRowsGroups = 4;

static void matmul_panel_of_rows(float* out, int64_t ldo, const float* x, int64_t ldx, const SimdWeights& w,
                                 int chunks, int64_t rows_x, int64_t rows_w) {
  thread_local std::vector<uint32_t> buffer;
  const int64_t row_bytes = w.cols * 2;
  const int64_t block_rows = kPanelOfRowsGroups * kPanelRows;
  if (buffer.size() < static_cast<size_t>(block_rows * row_bytes / 4)) buffer.resize(block_rows * row_bytes / 4);
  for (int64_t r = 0; r < rows_w; r += block_rows) {
    const int64_t rows = std::min(block_rows, rows_w - r);
    words_to_panels<kPanelRows, false>(reinterpret_cast<char*>(buffer.data()),
                                       static_cast<const char*>(w.rows) + r * row_bytes, rows / kPanelRows, row_bytes);
    const SimdWeights paneled{buffer.data(), kSimdBf16, false, true, w.cols};
    matmul_panel(out + r, ldo, x, ldx, paneled, chunks, rows_x, rows);
  }
}

// Plain bf16 rows summed in the panel order, one fma chain per k-slice, so that where bf16 weights
// are paneled (V::kBf16Chain) a row's bits do not depend on whether its tensor or its row was: the
// rows after a tensor's last group and tensors too small or narrow to panel (tensor-parallel shards
// among them) take this. Scalar and slow, for the few rows that need it.
static void matmul_bf16_chain(float* out, int64_t ldo, const float* x, int64_t ldx, const uint16_t* rows, int64_t cols,
                              int chunks, int64_t rows_x, int64_t rows_w) {
  const int64_t chunk = cols / chunks;
  float partial[kMaxPairwiseParts];
  for (int64_t a = 0; a < rows_x; a++) {
    for (int64_t r = 0; r < rows_w; r++) {
      for (int c = 0; c < chunks; c++) {
        float s = 0.0f;
        for (int64_t col = c * chunk; col < (c + 1) * chunk; col++) {
          s = fmaf(x[a * ldx + col], bf16_to_f32(rows[r * cols + col]), s);
        }
        partial[c] = s;
      }
      out[a * ldo + r] = pairwise_sum(partial, 1, chunks);
    }
  }
}
