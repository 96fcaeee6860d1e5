// quant_repack.h — the row-interleaved layout of quantized weights that the AVX-512 VNNI kernels
// stream (quant_kernels_avx512.cpp): rows in groups of kQuantPackRows, each group stored block by
// block, and inside a group's block every field laid out across the 16 rows, so one 64-byte load
// holds the same 4 weights of all 16 rows (one vpdpbusd multiplies them with 4 activations) and one
// load of 16 halves holds their scales. The bytes are the tensor's bytes, moved (Q8_0's levels also
// stored + 128, as unsigned bytes); rows past the last full group stay plain, as in the file.
#pragma once

#include <stdint.h>

#include "safetensors.h"

namespace cx {

constexpr int64_t kQuantPackRows = 16;

/** True for the types that have the interleaved layout (every block-quantized type). */
bool quant_packable(DType type);
/** Interleaves `rows` rows of `cols` (plain ggml rows, `src`) into `dst` (the same size). */
void quant_pack(DType type, const uint8_t* src, uint8_t* dst, int64_t rows, int64_t cols);
/** Copies row `row` of an interleaved tensor back into its plain ggml bytes (`out`: one row). */
void quant_unpack_row(DType type, const uint8_t* packed, int64_t rows, int64_t cols, int64_t row, uint8_t* out);

}  // namespace cx
