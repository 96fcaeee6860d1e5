// isq.cpp — in-situ quantization: the per-tensor type rules (read from llama.cpp's llama-quant.cpp,
// written anew) and the threaded row quantization.
#include "isq.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <thread>

#include "cx_math.h"
#include "error.h"
#include "quant.h"

namespace cx {

IsqScheme parse_isq(const std::string& quant) {
  IsqScheme scheme;
  if (quant.empty()) return scheme;
  std::string key;
  for (char c : quant) {
    if (c != '_' && c != '-') key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  static const struct {
    const char* key;
    DType type;
    bool k_m;
    const char* name;
  } table[] = {
      {"q80", DType::Q8_0, false, "q8_0"}, {"q40", DType::Q4_0, false, "q4_0"}, {"q4k", DType::Q4_K, false, "q4_k"},
      {"q5k", DType::Q5_K, false, "q5_k"}, {"q6k", DType::Q6_K, false, "q6_k"}, {"q4km", DType::Q4_K, true, "q4_k_m"},
  };
  for (const auto& row : table) {
    if (key == row.key) {
      scheme.base = row.type;
      scheme.k_m = row.k_m;
      scheme.name = row.name;
      return scheme;
    }
  }
  throw Error(CX_ERR_INVALID_ARGUMENT, "quant '" + quant + "' is not supported; accepted: q8_0, q4_0, q4_k, q5_k, "
      "q6_k, q4_k_m (case-insensitive, '_' optional, e.g. q80, q4k, q4km, q6k)");
}

namespace {

// llama.cpp's "use more bits" layers: the first and last eighth, and every third layer between.
bool use_more_bits(int layer, int layers) {
  return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
}

}  // namespace

DType isq_type(const IsqScheme& scheme, MatrixRole role, int layer, int layers, bool tied, int64_t cols,
    DType source) {
  if (!scheme.active()) return source;
  DType type = scheme.base;
  if (role == MatrixRole::Output || (tied && role == MatrixRole::Embed)) {
    if (type != DType::Q8_0) type = DType::Q6_K;
  } else if (scheme.k_m && (role == MatrixRole::Value || role == MatrixRole::Down) && use_more_bits(layer, layers)) {
    type = DType::Q6_K;
  }
  if (cols % dtype_block_elements(type) != 0) type = cols % 32 == 0 ? DType::Q8_0 : source;
  return type;
}

TensorView quantize_view(const TensorView& view, DType target, std::vector<uint8_t>& storage, int threads) {
  const int64_t rows = view.shape[0], cols = view.shape[1];
  const size_t in_row = static_cast<size_t>(cols) * dtype_size(view.dtype);
  const size_t out_row = dtype_row_bytes(target, cols);
  storage.assign(static_cast<size_t>(rows) * out_row, 0);
  auto work = [&](int64_t begin, int64_t end) {
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = begin; r < end; r++) {
      const uint8_t* in = view.data + static_cast<size_t>(r) * in_row;
      for (int64_t i = 0; i < cols; i++) {
        if (view.dtype == DType::F32) {
          std::memcpy(&row[i], in + 4 * i, 4);
          continue;
        }
        uint16_t half = 0;
        std::memcpy(&half, in + 2 * i, 2);
        row[i] = view.dtype == DType::BF16 ? bf16_to_f32(half) : f16_to_f32(half);
      }
      quantize_row(target, row.data(), storage.data() + static_cast<size_t>(r) * out_row, cols);
    }
  };
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(threads, rows / 16));
  std::vector<std::thread> pool;
  for (int64_t p = 1; p < parts; p++) pool.emplace_back(work, rows * p / parts, rows * (p + 1) / parts);
  work(0, rows / parts);
  for (auto& t : pool) t.join();
  TensorView out = view;
  out.dtype = target;
  out.dtype_tag = dtype_name(target);
  out.data = storage.data();
  out.bytes = storage.size();
  return out;
}

}  // namespace cx
