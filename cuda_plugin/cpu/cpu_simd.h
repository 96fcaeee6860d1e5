// cpu_simd.h — the CPU backend's hot loops, compiled three times (scalar, AVX2 + FMA, AVX-512) from
// one template (simd_impl.h) and picked at run time by CpuIsa. Plain types only: the ISA translation
// units must not instantiate any shared inline code (std templates) under their target pragmas.
#pragma once

#include <stdint.h>

namespace cx {

/** Weight element types the kernels read (matches cx::DType's F32, F16, BF16). */
enum SimdDType : int { kSimdF32 = 0, kSimdF16 = 1, kSimdBf16 = 2 };

/** Bytes per element of a SimdDType. */
constexpr int64_t simd_dtype_bytes(int dtype) { return dtype == kSimdF32 ? 4 : 2; }

/** The packed weight layout: rows in groups of kPackRows whose kPackCols-column blocks are
 * interleaved ([block][row][column] within a group), so the kernels, which read kPackRows rows at a
 * time, stream one run of memory instead of four short rows the hardware prefetcher keeps losing.
 * Rows past the last full group stay plain; a tensor is packed only when cols % kPackCols == 0. */
constexpr int64_t kPackRows = 4;
constexpr int64_t kPackCols = 16;

/** The element index of (row, col) in a packed tensor of `rows` × `cols`. */
constexpr int64_t packed_index(int64_t row, int64_t col, int64_t rows, int64_t cols) {
  return row >= rows / kPackRows * kPackRows ? row * cols + col
      : (row - row % kPackRows) * cols + col / kPackCols * (kPackRows * kPackCols) + row % kPackRows * kPackCols
          + col % kPackCols;
}

/** The panel layout of bf16 weights for the AVX2 kernels: rows in groups of kPanelRows, each group
 * column pair by column pair: for pair p, one 32-bit word per row (row order), holding the row's bf16
 * at column 2p in its low half and at 2p + 1 in its high half. One 32-byte load then gives 8 rows' f32
 * weights at column 2p (shifted up) and at 2p + 1 (masked): the kernel broadcasts x[2p] and x[2p + 1]
 * and accumulates 16 rows' outputs in vector lanes (an outer product), with no horizontal sums and
 * one integer op per 8 widened weights. Rows past the last full group stay plain; a tensor is
 * paneled only when cols % kPackCols == 0. */
constexpr int64_t kPanelRows = 16;

/** The element index of (row, col) in a paneled tensor of `rows` × `cols`. */
constexpr int64_t panel_index(int64_t row, int64_t col, int64_t rows, int64_t cols) {
  return row >= rows / kPanelRows * kPanelRows ? row * cols + col
      : (row - row % kPanelRows) * cols + col / 2 * (2 * kPanelRows) + row % kPanelRows * 2 + col % 2;
}

/** A block of weight rows as the kernels read it. */
struct SimdWeights {
  const void* rows;  // the block's first row; a multiple of kPackRows when packed, of kPanelRows when paneled
  int dtype;         // SimdDType
  bool packed;       // the packed layout above (else plain row-major)
  bool panel;        // bf16 in the panel layout (packed is then false); only kernels_avx2 reads it fast
  int64_t cols;      // the tensor's columns (k): elements from one row to the next
};

/** Block-quantized weight types the integer kernels read (cx::DType's values for them). */
enum SimdQuantType : int { kSimdQ8_0 = 4, kSimdQ4_0 = 5, kSimdQ4_K = 6, kSimdQ5_K = 7, kSimdQ6_K = 8 };

/** A block of quantized weight rows (ggml's block layouts, quant.h; rows `row_bytes` apart). */
struct SimdQuantWeights {
  const void* rows;   // the block's first row
  int type;           // SimdQuantType
  int64_t row_bytes;  // bytes from one row to the next
  int64_t blocks;     // quant blocks per row (k / 32 or k / 256)
  bool packed;        // rows interleaved in groups of 16 (quant_repack.h); only the AVX-512 kernels read it
};

/** Where the block sums of one Q8_0 activation plane start: after its Q8_0 blocks, at a multiple of 4. */
constexpr int64_t quant_activation_sums(int64_t k) { return (k / 32 * 34 + 3) / 4 * 4; }
/** Bytes of one Q8_0 activation plane: the Q8_0 blocks, then one int32 per block, the sum of its levels. */
constexpr int64_t quant_activation_plane(int64_t k) { return quant_activation_sums(k) + k / 32 * 4; }
/** Where an activation row's wide values start (Q8_0 / Q4_0 weights): after its two planes, at a
 * multiple of 32. */
constexpr int64_t quant_activation_wide(int64_t k) { return (2 * quant_activation_plane(k) + 31) / 32 * 32; }
/** Bytes of one activation row of k values as matmul_quant takes it: for the K types, the Q8_K blocks;
 * for Q8_0 / Q4_0 weights, each block's values as one integer v per value in steps of
 * d / kResidualScale, d = f16(amax / 127) (llama.cpp's Q8_0 scale of the block):
 * v = round(x · (kResidualScale / d)) clamped to ±kWideMax (ties away from zero; 0 where d is 0), each
 * value rounded to about d/512 where llama.cpp's Q8_0 rounds to d/2. Stored twice: as two Q8_0 planes
 * (quant_activation_plane bytes apart) for int8 products, plane 0 the high part q0 = (v + 128) >> 8
 * and plane 1 the low part q1 = v − 256·q0 (−128 .. 127), both with d as their blocks' scale and
 * their level sums after their blocks (int32); and wide (at quant_activation_wide), v as int16, each
 * quad of k (4j .. 4j + 3) in the order v[4j], v[4j + 2], v[4j + 1], v[4j + 3], for AVX2's int16
 * products (vpmaddwd). Rows are padded to 64 bytes. */
constexpr int64_t quant_activation_bytes(bool k_type, int64_t k) {
  return k_type ? (k / 256 * 292 + 63) / 64 * 64 : (quant_activation_wide(k) + 2 * k + 63) / 64 * 64;
}
/** The ratio of a Q8_0 activation block's scale d to its step (plane 0's weight in v): a power of two,
 * so dividing by it is exact. */
constexpr int kResidualBits = 8;
constexpr float kResidualScale = 1 << kResidualBits;
/** The largest |v|: plane 0's and plane 1's levels 127 both. */
constexpr int kWideMax = 127 * (1 << kResidualBits) + 127;

/** Attention works on keys in blocks of kAttendBlock positions and merges partial softmaxes at
 * segments of kAttendSegment positions, both aligned to multiples of their size from position 0. */
constexpr int kAttendBlock = 64;
constexpr int kAttendSegment = 1024;

/** A tile of `rows` query rows of one sequence and the `group` query heads of each that share one KV
 * head. Row r attends positions begin[r] .. end[r] − 1. Each (row, head) is computed on its own, in
 * an order fixed by its begin and end alone, so a row's result never depends on its tile:
 * per segment (positions [s, s + kAttendSegment)) an online softmax from m = −∞, l = 0, o = 0 over
 * the blocks, per block: scores x_t = (q·k_t, summed like `dot`)·(log2 e / √head_dim) for the row's
 * positions in the block, m' = max(m, max x), c = 2^(m − m'), p_t = 2^(x_t − m'), l = l·c + Σp
 * (summed in vector lanes, then reduced), o = o·c, then o += p_t·v_t in t order; the segments merge
 * into the total in order (m = max, each side's l and o scaled by 2^(its m − m), then added); out =
 * o · (1 / l). 2^x is the kernels' own polynomial (attend_impl.h), the same for every row. */
struct SimdAttend {
  float* out;            // row r's heads at out + r·ld, head g at + g·head_dim
  const float* q;        // the same layout as out
  int64_t ld;            // floats from one row to the next in q and out
  int rows;
  int group;
  int head_dim;
  const float* keys;     // the sequence's KV head at position 0 (position t at t·head_dim)
  const float* values;
  const int32_t* begin;  // rows entries
  const int32_t* end;
  float* scratch;        // attend_scratch_floats(rows, group, head_dim)
};

/** Floats of scratch SimdKernels::attend needs for a tile: two states (m, l, o) and one block of
 * scores per (row, head). */
constexpr int64_t attend_scratch_floats(int rows, int group, int head_dim) {
  return static_cast<int64_t>(rows) * group * (2 * (2 + head_dim) + kAttendBlock);
}

/** Floats of one tile's attention state (SimdKernels::attend_segment). */
constexpr int64_t attend_state_floats(int rows, int group, int head_dim) {
  return static_cast<int64_t>(rows) * group * (2 + head_dim);
}

/** One ISA's kernels. Every output element is one dot product accumulated in the ISA's vector lanes
 * in k order, then reduced in a fixed order, so it never depends on how rows are blocked. */
struct SimdKernels {
  int isa;  // CpuIsa
  /** out[i·ldo + r] = x[i·ldx ..] · w row r over k = w.cols columns, for i < rows_x and r < rows_w; x
   * is f32. Each dot product is summed as `chunks` equal consecutive slices of k (each in the vector
   * lanes, then reduced) added in pairwise_sum's order (cx_math.h). Reuses each weight vector over
   * up to 6 rows of x and each x vector over 4 weight rows (blocked GEMM). On AVX2 every bf16 row,
   * paneled or not, sums each slice in k order instead, s = fma(x[c], w[c], s) from zero (the
   * backend panels bf16 weights for AVX2 only). */
  void (*matmul)(float* out, int64_t ldo, const float* x, int64_t ldx, const SimdWeights& w, int chunks,
                 int64_t rows_x, int64_t rows_w);
  /** out[i·ldo + r] = x row i · w row r over k, for i < rows_x, r < rows_w, with x quantized per row
   * (`ldx` bytes apart, quant_activation_bytes): two Q8_0 planes for Q8_0 / Q4_0 weights, Q8_K
   * blocks for the K types. Integer
   * dot products per block; each ISA computes exactly the same f32 result (the order is fixed): per
   * block (32 weights, or 256 for the K types) the exact integer dot isum = Σ level·x (the K types'
   * sub-block scales, and the offsets of Q4_0 / Q6_K, folded into the integer; for Q8_0 / Q4_0 x is
   * the block's v = kResidualScale·q0 + q1, so isum = kResidualScale·isum0 + isum1 over the planes)
   * and for Q4_K / Q5_K the integer min term msum = Σ m_j·(x summed over sub-block j); the row sum
   * adds, block by block, s = fma(dw·dx, isum, s) (dx: plane 0's d for Q8_0 / Q4_0), then
   * s = fma(−(dmin·dx), msum, s) for Q4_K / Q5_K. Q8_0 / Q4_0's run sum is then s · (1 / kResidualScale).
   * k is summed as `chunks` equal consecutive runs of whole blocks (blocks % chunks == 0), each as
   * above from zero, the runs' sums added in pairwise_sum's order (cx_math.h). */
  void (*matmul_quant)(float* out, int64_t ldo, const void* x, int64_t ldx, const SimdQuantWeights& w, int chunks,
                       int64_t rows_x, int64_t rows_w);
  /** Σ a[i]·b[i]. */
  float (*dot)(const float* a, const float* b, int64_t n);
  /** Attention of a tile of query rows of one sequence over one KV head (SimdAttend). */
  void (*attend)(const SimdAttend& a);
  /** Sums `bytes` bytes at `data` (the bandwidth probe's inner loop); the result defeats elimination. */
  float (*stream_sum)(const float* data, int64_t count);
  /** attend in two halves, so that one row's segments can run on several threads: the state of
   * segment `segment` (positions segment·kAttendSegment up to (segment + 1)·kAttendSegment) for
   * each (row, head) of the tile, laid out as m and l of every (row, head), then o
   * (attend_state_floats in all)... */
  void (*attend_segment)(const SimdAttend& a, int segment, float* state);
  /** ... then the states of segments first .. first + count − 1 (attend_state_floats apart) merged
   * in order into out: the same bits as attend when they are all the segments the rows meet. */
  void (*attend_finish)(const SimdAttend& a, const float* states, int first, int count);
  /** These kernels sum every bf16 row in the panel order and read the panel layout fast (AVX2): the
   * backend uploads bf16 weights paneled, or plain where a tensor cannot be, never packed. */
  bool bf16_panels;
};

/** The matmul_quant of each ISA (quant_kernels_*.cpp); the AVX-512 one uses AVX512-VNNI. */
void matmul_quant_scalar(float* out, int64_t ldo, const void* x, int64_t ldx, const SimdQuantWeights& w, int chunks,
                         int64_t rows_x, int64_t rows_w);
void matmul_quant_avx2(float* out, int64_t ldo, const void* x, int64_t ldx, const SimdQuantWeights& w, int chunks,
                       int64_t rows_x, int64_t rows_w);
void matmul_quant_avx512(float* out, int64_t ldo, const void* x, int64_t ldx, const SimdQuantWeights& w, int chunks,
                         int64_t rows_x, int64_t rows_w);

/** Intel AMX's tile shape for bf16 (amx_bf16.cpp): 16 rows, 32 bf16 columns, 512 elements. */
constexpr int64_t kAmxRows = 16;
constexpr int64_t kAmxCols = 32;
constexpr int64_t kAmxTile = kAmxRows * kAmxCols;

/** Elements amx_pack_x writes for one 16-row block of x over k columns: a high and a low tile per 32. */
constexpr int64_t amx_x_block(int64_t k) { return 2 * (k / kAmxCols) * kAmxTile; }

/** Which Intel AMX kernels this process may run (amx_support.cpp): the CPU has the instructions
 * (AMX-BF16 with AVX512-BF16; AMX-INT8 with AVX512-VNNI) and Linux granted the tile state. */
struct AmxSupport {
  bool bf16;  // amx_bf16.cpp
  bool int8;  // quant_kernels_amx.cpp
};
/** AmxSupport, detected (and the tile state asked for) once per process. */
AmxSupport amx_support();
/** Packs `rows` ≤ 16 rows of x (f32, `ldx` apart, k % kAmxCols == 0) as one block for
 * amx_matmul_bf16 (amx_x_block(k) elements): each value split into bf16 hi = x rounded and
 * lo = (x − hi) rounded (to nearest even, subnormals flushed), each 32-column slice as tdpbf16ps's
 * second operand (row i: the pair of columns 2i, 2i + 1 of each x row), the high tiles then the low
 * ones; rows past `rows` are zero. */
void amx_pack_x(uint16_t* packed, const float* x, int64_t ldx, int64_t rows, int64_t k);
/** out[i·ldo + r] = x row i · w row r over k, for i < rows_x, r < rows_w: w is bf16 row-major (`ldw`
 * apart, readable up to the next multiple of 16 rows), x the blocks of amx_pack_x. k is summed as
 * `chunks` equal consecutive slices of whole 32-column tiles, each from zero by tdpbf16ps in column
 * order (per tile the high x tile, then the low one; the order within one tdpbf16ps is the
 * hardware's), the slices' sums added in pairwise_sum's order (cx_math.h). A row's result never
 * depends on the other rows. */
void amx_matmul_bf16(float* out, int64_t ldo, const uint16_t* w, int64_t ldw, int64_t rows_w, const uint16_t* x,
                     int64_t rows_x, int64_t k, int chunks);

/** Bytes amx_pack_quant_x writes per quant block for one tile of 16 activation rows: Q8_0 (two planes):
 * each plane's 8 rows of 64 bytes (tdpbssd's second operand: row q holds k 4q .. 4q + 3 of the 16
 * rows), then the 2 × 16 block scales as f32; the K types: the block's 64 rows of 64 bytes, the 16
 * scales, then the 8 × 16 sums of each sub-block of 32, as f32. */
constexpr int64_t amx_quant_x_block(bool k_type) { return k_type ? 64 * 64 + 64 + 8 * 64 : 2 * 8 * 64 + 2 * 64; }
/** Bytes of one packed tile of 16 activation rows over k. */
constexpr int64_t amx_quant_x_tile(bool k_type, int64_t k) { return k / (k_type ? 256 : 32) * amx_quant_x_block(k_type); }
/** True for the weight types amx_matmul_quant takes (Q8_0, Q4_K, Q6_K). */
bool amx_quant_takes(int type);
/** Packs `rows` ≤ 16 activation rows (quant_activation_bytes each, `ldx` apart) as one tile for
 * amx_matmul_quant (amx_quant_x_tile bytes); rows past `rows` are zero. */
void amx_pack_quant_x(uint8_t* packed, const uint8_t* x, int64_t ldx, int64_t rows, int64_t k, bool k_type);
/** matmul_quant on AMX-INT8 for plain (file-layout) Q8_0 / Q4_K / Q6_K rows, the same bits as the
 * other ISAs (quant_kernels_amx.cpp): `xp` the tiles of amx_pack_quant_x for x's rows (16 a tile;
 * the first `rows_x` rows are written), x the same rows unpacked, which the weight rows after the
 * last multiple of 16 take through matmul_quant_avx512. Only where amx_support().int8. */
void amx_matmul_quant(float* out, int64_t ldo, const uint8_t* xp, const void* x, int64_t ldx,
                      const SimdQuantWeights& w, int chunks, int64_t rows_x, int64_t rows_w);
/** amx_matmul_quant with x packed on the spot, for ≥ 16 rows of x and of w; anything else (and
 * interleaved weights) through matmul_quant_avx512. The native checks' entry. */
void matmul_quant_amx(float* out, int64_t ldo, const void* x, int64_t ldx, const SimdQuantWeights& w, int chunks,
                      int64_t rows_x, int64_t rows_w);

/** One activation row for matmul_quant (quant_activation_bytes), generic code (quant_kernels_scalar.cpp):
 * quantize_row_q8_k for the K types, else the two planes and the wide values of the layout above.
 * Every ISA writes these bytes. */
void quantize_activation_row(const float* x, uint8_t* row, int64_t k, bool k_type);
/** quantize_activation_row with AVX2: the same bytes. */
void quantize_activation_row_avx2(const float* x, uint8_t* row, int64_t k, bool k_type);
/** quantize_activation_row with AVX-512: the same bytes. */
void quantize_activation_row_avx512(const float* x, uint8_t* row, int64_t k, bool k_type);
/** The wide values of a Q8_0-layout activation row from its two planes (written last by every ISA). */
void activation_wide(uint8_t* row, int64_t k);

const SimdKernels& simd_kernels_scalar();
const SimdKernels& simd_kernels_avx2();
const SimdKernels& simd_kernels_avx512();

}  // namespace cx
