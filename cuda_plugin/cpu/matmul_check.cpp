// matmul_check.cpp — checks of the CPU backend's f32 / f16 / bf16 matmul, run by matmul_test.ts,
// through the backend itself (upload_weight's layouts: plain, packed, AVX2's bf16 panels; the
// threaded tiles of matmul_k_chunks): for every ISA this CPU has up to AVX-512, (a) each output is
// within f32 rounding of a double-precision dot product, in one k-chunk or several; (b) a row's
// output is the same bits whether it is computed alone or among 13 rows; (c) embed reads back the
// weight's own values from whatever layout it was given; (d) on AVX2, bf16 weights are paneled and
// every bf16 row, paneled or not, is summed exactly in cpu_simd.h's order (fma in column order per
// chunk, the chunks added by pairwise_sum), so its bits do not depend on the layout; (e) a weight
// served from the mapping (map_weight, plain rows) gives the uploaded layout's bits, and so does its
// copy built a part at a time (repack_part).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backend.h"
#include "check_harness.h"
#include "cpu_simd.h"
#include "cx_math.h"
#include "safetensors.h"

using namespace cx;

namespace {

struct Shape {
  int64_t rows, cols;
};

// Random weights in `dtype`'s bytes, and the same values widened to f32.
struct Weight {
  std::vector<uint8_t> bytes;
  std::vector<float> values;
  TensorView view;
  Weight(DType dtype, Shape shape, std::mt19937& rng) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const int64_t n = shape.rows * shape.cols;
    bytes.resize(static_cast<size_t>(n) * dtype_size(dtype));
    values.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; i++) {
      const float v = normal(rng);
      if (dtype == DType::F32) {
        std::memcpy(bytes.data() + i * 4, &v, 4);
        values[i] = v;
      } else {
        // f16: a sign, an exponent of 2^-4 .. 2^1 and random mantissa bits (normal numbers only).
        const uint16_t h = dtype == DType::BF16 ? f32_to_bf16(v)
            : static_cast<uint16_t>((rng() & 0x8000u) | ((11u + rng() % 6u) << 10) | (rng() & 0x3ffu));
        std::memcpy(bytes.data() + i * 2, &h, 2);
        values[i] = dtype == DType::BF16 ? bf16_to_f32(h) : f16_to_f32(h);
      }
    }
    view.name = "w";
    view.dtype = dtype;
    view.shape = {shape.rows, shape.cols};
    view.data = bytes.data();
    view.bytes = bytes.size();
  }
};

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// cpu_simd.h's order for a paneled row: each chunk s = fma(x, w, s) in column order, then pairwise_sum.
float panel_order(const float* x, const float* w, int64_t cols, int chunks) {
  float partial[kMaxPairwiseParts];
  const int64_t chunk = cols / chunks;
  for (int c = 0; c < chunks; c++) {
    float s = 0.0f;
    for (int64_t j = c * chunk; j < (c + 1) * chunk; j++) s = std::fma(x[j], w[j], s);
    partial[c] = s;
  }
  return pairwise_sum(partial, 1, chunks);
}

void check_matmul(Backend& backend, const char* isa_name, int isa, DType dtype, Shape shape, std::mt19937& rng) {
  const std::string what = std::string(isa_name) + " " + dtype_name(dtype) + " " + std::to_string(shape.rows) + "x"
      + std::to_string(shape.cols);
  Weight weight(dtype, shape, rng);
  Tensor w = backend.upload_weight(weight.view, shape.rows, shape.cols);
  const bool panel_expected = isa == kCpuIsaAvx2 && dtype == DType::BF16 && shape.rows >= kPanelRows
      && shape.cols % kPackCols == 0;
  check(w.panel == panel_expected, what + ": paneled " + std::to_string(w.panel));

  constexpr int kRows = 13;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(kRows * shape.cols));
  for (float& v : x) v = normal(rng);
  for (int chunks : {1, 2, 4}) {
    if (shape.cols % chunks != 0) continue;
    const std::string case_name = what + " chunks " + std::to_string(chunks);
    std::vector<float> all(static_cast<size_t>(kRows * shape.rows));
    backend.matmul_k_chunks(all.data(), x.data(), w, kRows, chunks);
    int far = 0, order = 0, alone = 0;
    for (int i = 0; i < kRows; i++) {
      const float* xi = x.data() + i * shape.cols;
      std::vector<float> one(static_cast<size_t>(shape.rows));
      backend.matmul_k_chunks(one.data(), xi, w, 1, chunks);
      for (int64_t r = 0; r < shape.rows; r++) {
        const float* wr = weight.values.data() + r * shape.cols;
        double exact = 0.0, magnitude = 0.0;
        for (int64_t j = 0; j < shape.cols; j++) {
          exact += static_cast<double>(xi[j]) * wr[j];
          magnitude += std::fabs(static_cast<double>(xi[j]) * wr[j]);
        }
        const float got = all[i * shape.rows + r];
        far += std::fabs(got - exact) > 1e-6 * magnitude + 1e-30;
        alone += !same_bits(one[r], got);
        if (isa == kCpuIsaAvx2 && dtype == DType::BF16) {
          order += !same_bits(got, panel_order(xi, wr, shape.cols, chunks));
        }
      }
    }
    check(far == 0, case_name + ": " + std::to_string(far) + " outputs beyond f32 rounding of the exact dot");
    check(alone == 0, case_name + ": " + std::to_string(alone) + " outputs differ computed alone");
    check(order == 0, case_name + ": " + std::to_string(order) + " bf16 outputs not in the documented order");
  }
  std::vector<int32_t> tokens;
  for (int64_t r = shape.rows - 1; r >= 0; r -= 3) tokens.push_back(static_cast<int32_t>(r));
  std::vector<float> rows(tokens.size() * shape.cols);
  backend.embed(rows.data(), w, tokens.data(), static_cast<int>(tokens.size()));
  int wrong = 0;
  for (size_t t = 0; t < tokens.size(); t++) {
    for (int64_t j = 0; j < shape.cols; j++) {
      wrong += !same_bits(rows[t * shape.cols + j], weight.values[tokens[t] * shape.cols + j]);
    }
  }
  check(wrong == 0, what + ": embed read " + std::to_string(wrong) + " values wrong");

  // (e) The same weight served from the mapping (map_weight) gives the same bits, before and after
  // repack_part has built its layout a part at a time.
  Tensor mapped = backend.map_weight(weight.view, shape.rows, shape.cols);
  check(mapped.deferred == (w.packed || w.panel) && mapped.data == weight.view.data,
        what + ": deferred " + std::to_string(mapped.deferred) + " where the upload repacked "
            + std::to_string(w.packed || w.panel));
  auto same_outputs = [&](const Tensor& t, const std::string& stage) {
    std::vector<float> expected(static_cast<size_t>(kRows * shape.rows)), got(expected.size());
    backend.matmul_k_chunks(expected.data(), x.data(), w, kRows, 1);
    backend.matmul_k_chunks(got.data(), x.data(), t, kRows, 1);
    check(std::memcmp(expected.data(), got.data(), got.size() * sizeof(float)) == 0,
          what + ": " + stage + " differs from the uploaded layout");
  };
  same_outputs(mapped, "served from the mapping");
  RepackCursor cursor;
  int parts = 1;
  while (!backend.repack_part(mapped, cursor, 1024)) parts++;
  check(!mapped.deferred && mapped.packed == w.packed && mapped.panel == w.panel
            && (mapped.owned || !w.owned) && cursor.copy == nullptr,
        what + ": repack_part left the layout packed " + std::to_string(mapped.packed) + " panel "
            + std::to_string(mapped.panel));
  check(!w.packed || shape.rows * shape.cols * dtype_size(dtype) <= 4096 || parts > 1,
        what + ": built in " + std::to_string(parts) + " parts");
  same_outputs(mapped, "repacked in parts");
  backend.release_weight(mapped);
  backend.release_weight(w);
}

}  // namespace

int main() {
  struct Isa {
    const char* name;
    int isa;
  } isas[] = {{"scalar", kCpuIsaScalar}, {"avx2", kCpuIsaAvx2}, {"avx512", kCpuIsaAvx512}};
  const int best = detect_cpu_isa();
  // Shapes: packable and paneled with a plain tail (37, 100 rows), exact groups (64), one group (16),
  // too few rows to panel (12), and columns no layout takes (40).
  const Shape shapes[] = {{37, 48}, {64, 256}, {16, 32}, {100, 160}, {12, 64}, {21, 40}};
  std::mt19937 rng(7);
  for (const Isa& isa : isas) {
    if (isa.isa > best) continue;
    auto backend = make_cpu_backend("check", 2, int64_t{1} << 30, isa.isa);
    for (DType dtype : {DType::F32, DType::F16, DType::BF16}) {
      for (const Shape& shape : shapes) check_matmul(*backend, isa.name, isa.isa, dtype, shape, rng);
    }
  }
  std::printf("%d checks, %d failed\n", g_checks, g_failed);
  return g_failed == 0 ? 0 : 1;
}
