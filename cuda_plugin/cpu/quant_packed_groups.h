// quant_packed_groups.h — what every ISA's kernels over the interleaved layout (quant_repack.h) share:
// the group size, the prefetch of a group's blocks, and the driver that runs a group kernel over
// every group and a plain kernel (quant_impl.h's matmul_quant_type) over the rows after the last.
// Included inside the ISA file's anonymous namespace, after quant_impl.h.

constexpr int kG = 16;  // rows per group (kQuantPackRows)
constexpr int kPrefetchBlocks = 8;  // how far ahead prefetch_block reaches, in blocks of 16 rows

// Every cache line of the block kPrefetchBlocks blocks after `blk`: decode streams the weights once,
// and the hardware prefetcher alone keeps too few lines in flight for one core to reach the bandwidth.
static inline void prefetch_block(const uint8_t* blk, int64_t block_bytes) {
  for (int64_t line = 0; line < block_bytes; line += 64) __builtin_prefetch(blk + kPrefetchBlocks * block_bytes + line, 0, 3);
}

// Runs GROUP<TYPE, XR>::run over every 16-row group, up to XMAX (≤ 4) activation rows at a time (told
// whether it is the group's first pass), and the plain kernel over the rows after the last group.
template <int TYPE, int XMAX, template <int, int> class GROUP>
static void matmul_packed_groups(float* out, int64_t ldo, const char* x, int64_t ldx, const SimdQuantWeights& w,
                                 int chunks, int64_t rows_x, int64_t rows_w) {
  static_assert(XMAX >= 1 && XMAX <= 4, "1 to 4 activation rows per pass");
  const uint8_t* first = static_cast<const uint8_t*>(w.rows);
  const int64_t k = w.blocks * (TYPE == kSimdQ8_0 || TYPE == kSimdQ4_0 ? 32 : 256);
  const int64_t grouped = rows_w / kG * kG;
  for (int64_t r = 0; r < grouped; r += kG) {
    const uint8_t* g = first + r * w.row_bytes;
    for (int64_t i = 0; i < rows_x; i += XMAX) {
      float* o = out + i * ldo + r;
      const char* xs = x + i * ldx;
      switch (rows_x - i >= XMAX ? XMAX : rows_x - i) {
        case 4: GROUP<TYPE, XMAX < 4 ? XMAX : 4>::run(o, ldo, xs, ldx, g, w.blocks, k, chunks, i == 0); break;
        case 3: GROUP<TYPE, XMAX < 3 ? XMAX : 3>::run(o, ldo, xs, ldx, g, w.blocks, k, chunks, i == 0); break;
        case 2: GROUP<TYPE, XMAX < 2 ? XMAX : 2>::run(o, ldo, xs, ldx, g, w.blocks, k, chunks, i == 0); break;
        default: GROUP<TYPE, 1>::run(o, ldo, xs, ldx, g, w.blocks, k, chunks, i == 0); break;
      }
    }
  }
  if (grouped < rows_w) {  // the plain rows after the last group
    const SimdQuantWeights tail{first + grouped * w.row_bytes, w.type, w.row_bytes, w.blocks, false};
    matmul_quant_type<TYPE>(out + grouped, ldo, x, ldx, tail, chunks, rows_x, rows_w - grouped);
  }
}

