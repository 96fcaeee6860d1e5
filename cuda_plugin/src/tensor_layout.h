// tensor_layout.h — host-side rearrangements of a mapped tensor on its way to a backend: a tensor-
// parallel rank's rows or columns (whole quantization blocks), and the undoing of llama.cpp's
// interleaved-RoPE row order. Rows move whole, so every dtype, quantized or not, goes through alike.
#pragma once

#include <cstdint>
#include <vector>

#include "safetensors.h"

namespace cx {

/** Rank `rank` of `size`'s block of rows of a [rows, cols] (or [rows]) tensor: a view, no copy. */
TensorView row_shard(const TensorView& view, int rank, int size);

/** Rank `rank` of `size`'s block of columns of a [rows, cols] matrix, copied into `storage`. A quantized
 * row is cut between whole blocks (the caller checks that the share is whole blocks). */
TensorView column_shard(const TensorView& view, int rank, int size, std::vector<uint8_t>& storage);

/** llama.cpp's converter stores each head's q/k rows interleaved for its pairwise RoPE: GGUF row 2i + s
 * of a head is HF row s·(head_dim/2) + i. Puts them back in rotate-half order into `storage`. */
TensorView unpermute_rope_rows(const TensorView& view, int head_dim, std::vector<uint8_t>& storage);

}  // namespace cx
