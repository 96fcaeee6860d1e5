// isq.h — in-situ quantization at load: which quantized type each matrix of a safetensors model
// gets (one type for every matrix, or llama.cpp's Q4_K_M mix), and the quantization of a tensor's
// rows with quant.h's quantize_row, fanned across threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "safetensors.h"

namespace cx {

/** The load option `quant`: none, one type for every matrix, or the Q4_K_M mix. */
struct IsqScheme {
  DType base = DType::Other;  // Other = no quantization
  bool k_m = false;           // q4_k_m: llama.cpp's Q4_K_M per-tensor rules
  std::string name;           // canonical spelling ("q8_0", "q4_k_m", ...; "" for none)

  bool active() const { return base != DType::Other; }
};

/** Parses `quant`: "" = none; q8_0, q4_0, q4_k, q5_k, q6_k, q4_k_m, case-insensitively with '_' and
 * '-' ignored (so the original cortex's "q80", "q4k", "Q4_K_M", "q6k" work). Anything else throws
 * invalid_argument naming the value and the accepted list. */
IsqScheme parse_isq(const std::string& quant);

/** What a matrix is, for the per-tensor rules. */
enum class MatrixRole { Embed, Output, Query, Key, Value, AttnOut, Gate, Up, Down };

/** The type a matrix of `role` in `layer` (of `layers`) with `cols` columns is quantized to. llama.cpp's
 * rules: the output matrix (and a tied embedding, which serves as output) is Q6_K unless the scheme is
 * Q8_0; q4_k_m gives attn_v and ffn_down Q6_K on the "use more bits" layers. A matrix whose cols are
 * not a multiple of the type's block falls back to Q8_0 when cols % 32 == 0, else keeps `source`. */
DType isq_type(const IsqScheme& scheme, MatrixRole role, int layer, int layers, bool tied, int64_t cols,
    DType source);

/** Quantizes every row of `view` (F32, F16 or BF16, [rows, cols]) to `target` into `storage` and returns
 * a view of it. Rows are spread over up to `threads` threads. */
TensorView quantize_view(const TensorView& view, DType target, std::vector<uint8_t>& storage, int threads);

}  // namespace cx
