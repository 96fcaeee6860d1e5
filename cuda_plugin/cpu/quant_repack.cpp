// quant_repack.cpp — quant_repack.h: where each byte of a plain ggml block goes in the interleaved
// layout. Offsets are within one group block (kQuantPackRows × the type's block bytes); see the
// kernels in quant_kernels_avx512.cpp for how they are read.
#include "quant_repack.h"

#include <cstring>

#include "quant.h"
#include "transpose_words.h"

namespace cx {
namespace {

constexpr int64_t R = kQuantPackRows;

// A field of n bytes per row as n planes of R bytes (one byte of every row together).
int64_t planes(int64_t base, int r, int i) { return base + i * R + r; }
// Two-byte values (f16 scales) as R consecutive halves.
int64_t halves(int64_t base, int r, int i) { return base + r * 2 + i; }
// Weight bytes in runs of 4 ("quads"): quad q of every row together, 4 bytes per row.
int64_t quads(int64_t base, int r, int j) { return base + (j / 4) * (4 * R) + r * 4 + j % 4; }

// The offset in the group block of byte `o` of row r's block.
int64_t packed_offset(DType type, int r, int o) {
  switch (type) {
    case DType::Q8_0:  // d[R] | 8 quads of levels
      return o < 2 ? halves(0, r, o) : quads(2 * R, r, o - 2);
    case DType::Q4_0:  // d[R] | 4 quads of nibble bytes
      return o < 2 ? halves(0, r, o) : quads(2 * R, r, o - 2);
    case DType::Q4_K:  // d[R] | dmin[R] | 12 scale planes | 32 quads of nibble bytes
      if (o < 2) return halves(0, r, o);
      if (o < 4) return halves(2 * R, r, o - 2);
      if (o < 16) return planes(4 * R, r, o - 4);
      return quads(16 * R, r, o - 16);
    case DType::Q5_K:  // as Q4_K with 8 quads of high bits before the nibbles
      if (o < 2) return halves(0, r, o);
      if (o < 4) return halves(2 * R, r, o - 2);
      if (o < 16) return planes(4 * R, r, o - 4);
      if (o < 48) return quads(16 * R, r, o - 16);
      return quads(48 * R, r, o - 48);
    case DType::Q6_K:  // 32 quads of low nibbles | 16 quads of high bits | 16 scale planes | d[R]
      if (o < 128) return quads(0, r, o);
      if (o < 192) return quads(128 * R, r, o - 128);
      if (o < 208) return planes(192 * R, r, o - 192);
      return halves(208 * R, r, o - 208);
    default: return -1;
  }
}

// Q8_0's levels are stored + 128 (unsigned) so vpdpbusd can take them as its unsigned operand.
bool offset_levels(DType type, int o) { return type == DType::Q8_0 && o >= 2; }

}  // namespace

bool quant_packable(DType type) {
  return type == DType::Q8_0 || type == DType::Q4_0 || type == DType::Q4_K || type == DType::Q5_K
      || type == DType::Q6_K;
}

// quant_pack moves whole fields rather than bytes: one block of a type is a few runs of bytes, each
// laid out as halves, planes or quads (packed_offset above, which stays the definition). Every quads
// field is a multiple of 16 bytes, so quads move 4 rows × 4 quads at a time.
enum class Field { Halves, Planes, Quads };
struct Run {
  Field field;
  int begin, end;  // bytes [begin, end) of a plain block
  int64_t base;    // where the field starts in the group block
};

int block_runs(DType type, Run* runs) {
  switch (type) {
    case DType::Q8_0:
      runs[0] = {Field::Halves, 0, 2, 0};
      runs[1] = {Field::Quads, 2, 34, 2 * R};
      return 2;
    case DType::Q4_0:
      runs[0] = {Field::Halves, 0, 2, 0};
      runs[1] = {Field::Quads, 2, 18, 2 * R};
      return 2;
    case DType::Q4_K:
      runs[0] = {Field::Halves, 0, 2, 0};
      runs[1] = {Field::Halves, 2, 4, 2 * R};
      runs[2] = {Field::Planes, 4, 16, 4 * R};
      runs[3] = {Field::Quads, 16, 144, 16 * R};
      return 4;
    case DType::Q5_K:
      runs[0] = {Field::Halves, 0, 2, 0};
      runs[1] = {Field::Halves, 2, 4, 2 * R};
      runs[2] = {Field::Planes, 4, 16, 4 * R};
      runs[3] = {Field::Quads, 16, 48, 16 * R};
      runs[4] = {Field::Quads, 48, 176, 48 * R};
      return 5;
    case DType::Q6_K:
      runs[0] = {Field::Quads, 0, 128, 0};
      runs[1] = {Field::Quads, 128, 192, 128 * R};
      runs[2] = {Field::Planes, 192, 208, 192 * R};
      runs[3] = {Field::Halves, 208, 210, 208 * R};
      return 4;
    default: return 0;
  }
}

void quant_pack(DType type, const uint8_t* src, uint8_t* dst, int64_t rows, int64_t cols) {
  const int64_t block_bytes = static_cast<int64_t>(dtype_block_bytes(type));
  const int64_t row_bytes = static_cast<int64_t>(dtype_row_bytes(type, cols));
  const int64_t blocks = row_bytes / block_bytes;
  const int64_t packed_rows = rows / R * R;
  Run runs[5];
  const int n_runs = block_runs(type, runs);
  const __m128i flip = _mm_set1_epi32(type == DType::Q8_0 ? static_cast<int>(0x80808080u) : 0);  // offset_levels
  for (int64_t g = 0; g < packed_rows; g += R) {
    for (int64_t t = 0; t < blocks; t++) {
      uint8_t* group_block = dst + g * row_bytes + t * R * block_bytes;
      for (int r = 0; r < R; r++) {
        const uint8_t* block = src + (g + r) * row_bytes + t * block_bytes;
        for (int i = 0; i < n_runs; i++) {
          const Run& run = runs[i];
          if (run.field == Field::Halves) {
            std::memcpy(group_block + run.base + r * 2, block + run.begin, 2);
          } else if (run.field == Field::Planes) {
            for (int o = run.begin; o < run.end; o++) group_block[run.base + (o - run.begin) * R + r] = block[o];
          }
        }
      }
      // Quads, 4 rows × 4 quads at a time: a 4 × 4 transpose of 32-bit words.
      for (int i = 0; i < n_runs; i++) {
        const Run& run = runs[i];
        if (run.field != Field::Quads) continue;
        for (int r = 0; r < R; r += 4) {
          const uint8_t* block = src + (g + r) * row_bytes + t * block_bytes + run.begin;
          for (int q = 0; q < (run.end - run.begin) / 4; q += 4) {
            __m128i row[4];
            for (int j = 0; j < 4; j++) {
              row[j] = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block + j * row_bytes + q * 4)), flip);
            }
            __m128i quad[4];
            transpose_words_4x4(row, quad);
            for (int j = 0; j < 4; j++) {
              _mm_storeu_si128(reinterpret_cast<__m128i*>(group_block + run.base + (q + j) * (4 * R) + r * 4), quad[j]);
            }
          }
        }
      }
    }
  }
  std::memcpy(dst + packed_rows * row_bytes, src + packed_rows * row_bytes,
      static_cast<size_t>((rows - packed_rows) * row_bytes));
}

void quant_unpack_row(DType type, const uint8_t* packed, int64_t rows, int64_t cols, int64_t row, uint8_t* out) {
  const int64_t block_bytes = static_cast<int64_t>(dtype_block_bytes(type));
  const int64_t row_bytes = static_cast<int64_t>(dtype_row_bytes(type, cols));
  const int64_t blocks = row_bytes / block_bytes;
  if (row >= rows / R * R) {
    for (int64_t i = 0; i < row_bytes; i++) out[i] = packed[row * row_bytes + i];
    return;
  }
  const int64_t g = row / R * R;
  const int r = static_cast<int>(row - g);
  for (int64_t t = 0; t < blocks; t++) {
    const uint8_t* group_block = packed + g * row_bytes + t * R * block_bytes;
    for (int o = 0; o < block_bytes; o++) {
      const uint8_t b = group_block[packed_offset(type, r, o)];
      out[t * block_bytes + o] = offset_levels(type, o) ? static_cast<uint8_t>(b ^ 0x80) : b;
    }
  }
}

}  // namespace cx
