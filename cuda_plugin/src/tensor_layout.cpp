// tensor_layout.cpp — row shards, column shards and RoPE row order (tensor_layout.h).
#include "tensor_layout.h"

#include <cstring>

namespace cx {

// Rank `rank` of `size`'s block of rows of a [rows, cols] (or [rows]) tensor: a view into the mapping.
TensorView row_shard(const TensorView& view, int rank, int size) {
  if (size == 1) return view;
  TensorView shard = view;
  const int64_t rows = view.shape[0] / size;
  const size_t row_bytes = view.bytes / static_cast<size_t>(view.shape[0]);
  shard.shape[0] = rows;
  shard.data = view.data + static_cast<size_t>(rank) * static_cast<size_t>(rows) * row_bytes;
  shard.bytes = static_cast<size_t>(rows) * row_bytes;
  return shard;
}

// Rank `rank` of `size`'s block of columns of a [rows, cols] matrix, copied into `storage`. A
// quantized row is cut between whole blocks (plan_tensors checked that the share is whole blocks).
TensorView column_shard(const TensorView& view, int rank, int size, std::vector<uint8_t>& storage) {
  TensorView shard = view;
  const size_t rows = static_cast<size_t>(view.shape[0]);
  const int64_t cols = view.shape[1] / size;
  const size_t row_bytes = dtype_row_bytes(view.dtype, view.shape[1]);
  const size_t shard_bytes = dtype_row_bytes(view.dtype, cols);
  storage.resize(rows * shard_bytes);
  for (size_t r = 0; r < rows; r++) {
    std::memcpy(storage.data() + r * shard_bytes, view.data + r * row_bytes + static_cast<size_t>(rank) * shard_bytes,
        shard_bytes);
  }
  shard.shape[1] = cols;
  shard.data = storage.data();
  shard.bytes = storage.size();
  return shard;
}

// llama.cpp's converter stores each head's q/k rows interleaved for its pairwise RoPE: GGUF row
// 2i + s of a head is HF row s·half + i. Puts them back in rotate-half order, whole rows at a time
// (so quantized rows move as they are), into `storage`.
TensorView unpermute_rope_rows(const TensorView& view, int head_dim, std::vector<uint8_t>& storage) {
  const int64_t rows = view.shape[0];
  const size_t row_bytes = view.bytes / static_cast<size_t>(rows);
  const int half = head_dim / 2;
  storage.resize(view.bytes);
  for (int64_t r = 0; r < rows; r++) {
    const int64_t head = r / head_dim, j = r % head_dim;
    const int64_t from = head * head_dim + 2 * (j % half) + j / half;
    std::memcpy(storage.data() + static_cast<size_t>(r) * row_bytes, view.data + static_cast<size_t>(from) * row_bytes,
        row_bytes);
  }
  TensorView out = view;
  out.data = storage.data();
  return out;
}

}  // namespace cx
