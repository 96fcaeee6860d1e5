// kernels_check.cpp — runs every CUDA kernel of the backend on the host, through the emulation in
// kernel_compat.cuh, and compares each op with the CPU backend's own loops (cpu/cpu_kernels.h).
// The kernel source, launch shapes, shared-memory tiling and reductions are the ones nvcc builds;
// what this cannot see is GPU-only behaviour (real warp scheduling, memory model, device libm).
// Built and run by kernels_test.ts with:
//   g++ -std=c++17 -O1 -pthread -fno-strict-aliasing -Isrc -Iinclude -Icpu -Icuda cuda/kernels_check.cpp
// Not part of the plugin (build.ts compiles only src/*.cpp, cpu/*.cpp and cuda/*.cu).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "cpu_kernels.h"
#include "cuda_backend.h"  // included without CORTEX_WITH_CUDA: the g++ fallbacks
#include "kernels_attention.cuh"
#include "kernels_elementwise.cuh"
#include "kernels_hybrid.cuh"
#include "hybrid_kernels.h"
#include "kernels_matmul.cuh"
#include "kernels_moe.cuh"
#include "kernels_quant.cuh"
#include "nccl_loader.h"
#include "nvml_loader.h"

namespace cx {
// The DType helpers the kernels use, as safetensors.cpp defines them (not linked here); block sizes from quant.h.
size_t dtype_size(DType dtype) {
  return dtype == DType::F32 ? 4 : dtype == DType::F16 || dtype == DType::BF16 ? 2 : 0;
}
const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::BF16: return "bf16";
    case DType::Q8_0: return "q8_0";
    case DType::Q4_0: return "q4_0";
    case DType::Q4_K: return "q4_k";
    case DType::Q5_K: return "q5_k";
    case DType::Q6_K: return "q6_k";
    default: return "other";
  }
}
int64_t dtype_block_elements(DType dtype) {
  switch (dtype) {
    case DType::Q8_0: return kQk8_0;
    case DType::Q4_0: return kQk4_0;
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K: return kQkK;
    default: return dtype == DType::Other ? 0 : 1;
  }
}
bool dtype_is_quantized(DType dtype) { return dtype_block_elements(dtype) > 1; }
size_t dtype_block_bytes(DType dtype) {
  switch (dtype) {
    case DType::Q8_0: return sizeof(BlockQ8_0);
    case DType::Q4_0: return sizeof(BlockQ4_0);
    case DType::Q4_K: return sizeof(BlockQ4_K);
    case DType::Q5_K: return sizeof(BlockQ5_K);
    case DType::Q6_K: return sizeof(BlockQ6_K);
    default: return dtype_size(dtype);
  }
}
size_t dtype_row_bytes(DType dtype, int64_t cols) {
  const int64_t block = dtype_block_elements(dtype);
  return block == 0 ? 0 : static_cast<size_t>(cols / block) * dtype_block_bytes(dtype);
}
}  // namespace cx

using namespace cx;

namespace {

int failures = 0;
int checks = 0;

// The most dynamic shared memory a block may opt into on sm_86 and sm_89 (the smallest of the built archs).
constexpr size_t kSm86SharedBytes = 99 * 1024;

void expect(bool ok, const std::string& what) {
  checks++;
  if (!ok) {
    failures++;
    if (failures <= 30) std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  }
}

/** max |a - b| / (1 + |b|) over the arrays; NaN-aware (NaN only matches NaN). */
double max_error(const float* a, const float* b, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    if (std::isnan(a[i]) || std::isnan(b[i])) {
      if (std::isnan(a[i]) != std::isnan(b[i])) return INFINITY;
      continue;
    }
    worst = std::max(worst, std::fabs(static_cast<double>(a[i]) - b[i]) / (1.0 + std::fabs(b[i])));
  }
  return worst;
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, double tolerance,
                  const std::string& what) {
  const double error = got.size() == want.size() ? max_error(got.data(), want.data(), got.size()) : INFINITY;
  expect(error <= tolerance, what + " (max error " + std::to_string(error) + ")");
}

std::mt19937 rng(1234);

std::vector<float> random_floats(size_t n, float scale = 1.0f) {
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

/** A weight of `dtype` holding `values` rounded to that dtype (bytes kept alive by `storage`). */
struct HostWeight {
  std::vector<uint8_t> storage;
  Tensor tensor;
};

HostWeight make_weight(DType dtype, int64_t rows, int64_t cols, float scale = 1.0f, size_t misalign = 0) {
  HostWeight w;
  const std::vector<float> values = random_floats(static_cast<size_t>(rows * cols), scale);
  const size_t element = dtype == DType::F32 ? 4 : 2;
  w.storage.assign(values.size() * element + 16 + misalign, 0);
  uint8_t* base = w.storage.data();
  while (reinterpret_cast<uintptr_t>(base) % 16 != 0) base++;
  base += misalign;
  for (size_t i = 0; i < values.size(); i++) {
    if (dtype == DType::F32) {
      std::memcpy(base + 4 * i, &values[i], 4);
    } else {
      const uint16_t h = dtype == DType::BF16 ? f32_to_bf16(values[i]) : f32_to_f16(values[i]);
      std::memcpy(base + 2 * i, &h, 2);
    }
  }
  w.tensor.data = base;
  w.tensor.dtype = dtype;
  w.tensor.rows = rows;
  w.tensor.cols = cols;
  return w;
}

const DType kDtypes[] = {DType::F32, DType::F16, DType::BF16};

void check_conversions() {
  int bad = 0;
  for (uint32_t h = 0; h < 65536; h++) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    if (f32_to_f16(f) != h) bad++;
  }
  expect(bad == 0, "f32_to_f16(f16_to_f32(h)) == h for every non-NaN half (" + std::to_string(bad) + " differ)");
  // Nearest: no other half is closer than the one chosen (ties: even mantissa).
  bad = 0;
  std::uniform_real_distribution<float> exponent(-26.0f, 16.5f);
  for (int i = 0; i < 20000; i++) {
    const float f = std::ldexp(std::uniform_real_distribution<float>(0.5f, 1.0f)(rng), static_cast<int>(exponent(rng))) *
                    (i % 2 ? -1.0f : 1.0f);
    const uint16_t h = f32_to_f16(f);
    const double chosen = std::fabs(static_cast<double>(f16_to_f32(h)) - f);
    for (int delta : {-1, 1}) {
      const uint16_t other = static_cast<uint16_t>(h + delta);
      const float of = f16_to_f32(other);
      if (std::isnan(of) || std::isinf(of) || ((other ^ h) & 0x8000u)) continue;
      const double distance = std::fabs(static_cast<double>(of) - f);
      if (distance < chosen || (distance == chosen && (h & 1u))) bad++;
    }
  }
  expect(bad == 0, "f32_to_f16 rounds to nearest-even (" + std::to_string(bad) + " misrounded)");
  expect(f32_to_f16(65520.0f) == 0x7c00u && f32_to_f16(65519.0f) == 0x7bffu, "f32_to_f16 overflow threshold");
  expect(f32_to_f16(-INFINITY) == 0xfc00u && (f32_to_f16(NAN) & 0x7e00u) == 0x7e00u, "f32_to_f16 inf and NaN");

  std::vector<float> x = random_floats(1000, 3.0f);
  std::vector<uint16_t> narrowed(x.size());
  for (DType dtype : {DType::BF16, DType::F16}) {
    launch_narrow(narrowed.data(), x.data(), dtype, static_cast<int64_t>(x.size()), nullptr);
    int wrong = 0;
    for (size_t i = 0; i < x.size(); i++) {
      wrong += narrowed[i] != (dtype == DType::BF16 ? f32_to_bf16(x[i]) : f32_to_f16(x[i]));
    }
    expect(wrong == 0, std::string("narrow to ") + dtype_name(dtype));
  }
  for (DType dtype : kDtypes) {
    HostWeight w = make_weight(dtype, 7, 33);
    std::vector<float> got(7 * 33 - 40);
    launch_widen(got.data(), w.tensor.data, dtype, 40, static_cast<int64_t>(got.size()), nullptr);
    std::vector<float> all(7 * 33);
    for (int r = 0; r < 7; r++) widen_row(w.tensor, r, all.data() + r * 33);
    expect_close(got, std::vector<float>(all.begin() + 40, all.end()), 0, std::string("widen ") + dtype_name(dtype));
  }
}

void check_kv_offset() {
  KvCache cache;
  cache.layers = 3;
  cache.slots = 5;
  cache.context = 77;
  cache.kv_heads = 3;
  cache.head_dim = 8;
  bool same = true;
  for (int l = 0; l < 3; l++) {
    for (int s = 0; s < 5; s++) {
      for (int h = 0; h < 3; h++) {
        for (int p = 0; p < 77; p += 7) same = same && kv_offset(5, 77, 3, 8, l, s, h, p) == cache.offset(l, s, h, p);
      }
    }
  }
  expect(same, "kv_offset matches KvCache::offset");
}

void check_embed() {
  for (DType dtype : kDtypes) {
    HostWeight table = make_weight(dtype, 50, 37);
    const std::vector<int32_t> tokens = {3, 0, 49, 17, 3, 50, -1};
    std::vector<float> got(tokens.size() * 37);
    launch_embed(got.data(), table.tensor, tokens.data(), static_cast<int>(tokens.size()), nullptr);
    std::vector<float> want(got.size(), NAN);
    for (size_t i = 0; i < 5; i++) widen_row(table.tensor, tokens[i], want.data() + i * 37);
    expect_close(got, want, 0, std::string("embed ") + dtype_name(dtype) + " (ids 50 and -1 give NaN)");
  }
}

void check_rmsnorm() {
  for (int dim : {8, 64, 128, 256, 300, 1024, 2500}) {
    for (int rows : {1, 3, 9}) {
      const std::vector<float> x = random_floats(static_cast<size_t>(rows) * dim, 2.0f);
      const std::vector<float> weight = random_floats(static_cast<size_t>(dim));
      std::vector<float> want(x.size());
      for (int r = 0; r < rows; r++) rmsnorm_row(want.data() + r * dim, x.data() + r * dim, weight.data(), dim, 1e-6f);
      std::vector<float> got(x.size());
      launch_rmsnorm(got.data(), x.data(), weight.data(), rows, dim, 1e-6f, nullptr);
      expect_close(got, want, 2e-6, "rmsnorm dim " + std::to_string(dim) + " rows " + std::to_string(rows));
      std::vector<float> in_place = x;
      launch_rmsnorm(in_place.data(), in_place.data(), weight.data(), rows, dim, 1e-6f, nullptr);
      expect_close(in_place, want, 2e-6, "rmsnorm in place dim " + std::to_string(dim));
    }
  }
}

void check_elementwise() {
  const int rows = 5;
  const int dim = 301;
  const size_t count = static_cast<size_t>(rows) * dim;
  const std::vector<float> x = random_floats(count, 4.0f);
  const std::vector<float> y = random_floats(count, 4.0f);
  const std::vector<float> bias = random_floats(static_cast<size_t>(dim));

  std::vector<float> got = x;
  std::vector<float> want = x;
  launch_add_bias(got.data(), bias.data(), rows, dim, nullptr);
  for (int r = 0; r < rows; r++) {
    for (int j = 0; j < dim; j++) want[static_cast<size_t>(r) * dim + j] += bias[j];
  }
  expect_close(got, want, 0, "add_bias");

  got = x;
  want = x;
  launch_add(got.data(), y.data(), static_cast<int64_t>(count), nullptr);
  for (size_t i = 0; i < count; i++) want[i] += y[i];
  expect_close(got, want, 0, "add");

  got.assign(count, 0.0f);
  launch_swiglu(got.data(), x.data(), y.data(), static_cast<int64_t>(count), nullptr);
  for (size_t i = 0; i < count; i++) want[i] = cx::swiglu(x[i], y[i]);
  expect_close(got, want, 0, "swiglu");
  got = x;
  launch_swiglu(got.data(), got.data(), y.data(), static_cast<int64_t>(count), nullptr);
  expect_close(got, want, 0, "swiglu in place");

  const std::vector<int32_t> pick = {4, 0, 2, 2};
  got.assign(pick.size() * dim, 0.0f);
  launch_gather_rows(got.data(), x.data(), pick.data(), static_cast<int>(pick.size()), dim, nullptr);
  want.assign(got.size(), 0.0f);
  for (size_t j = 0; j < pick.size(); j++) {
    std::memcpy(want.data() + j * dim, x.data() + static_cast<size_t>(pick[j]) * dim, sizeof(float) * dim);
  }
  expect_close(got, want, 0, "gather_rows");
}

// moe_combine against the CPU backend's loop (cpu_backend.cpp: moe_weighted_add over the choices in
// order, from zero), exactly: top-2 and top-8 choices over rows gathered per expert.
void check_moe_combine() {
  std::mt19937 rng(16);
  std::uniform_real_distribution<float> value(-2.0f, 2.0f);
  for (int k : {2, 8}) {
    const int n = 5, dim = 300, assigned = n * k;
    std::vector<float> y(static_cast<size_t>(assigned) * dim), weights(static_cast<size_t>(assigned));
    for (float& v : y) v = value(rng);
    for (float& w : weights) w = std::fabs(value(rng)) / 4.0f;
    std::vector<int32_t> rows(static_cast<size_t>(assigned));
    for (int i = 0; i < assigned; i++) rows[static_cast<size_t>(i)] = (i * 7 + 3) % assigned;  // a permutation
    std::vector<float> got(static_cast<size_t>(n) * dim, 1.0f), want(got.size(), 0.0f);
    launch_moe_combine(got.data(), y.data(), rows.data(), weights.data(), n, k, dim, nullptr);
    for (int t = 0; t < n; t++) {
      for (int j = 0; j < k; j++) {
        const size_t at = static_cast<size_t>(t) * k + j;
        for (int i = 0; i < dim; i++) {
          float& o = want[static_cast<size_t>(t) * dim + i];
          o = moe_weighted_add(o, y[static_cast<size_t>(rows[at]) * dim + i], weights[at]);
        }
      }
    }
    expect_close(got, want, 0, ("moe_combine top-" + std::to_string(k)).c_str());
  }
}

void check_rope() {
  struct RopeCase {
    int head_dim, rotary_dim;
    float attention_scale;
  };
  // Full rotary, partial rotary (the pass-through dims must come back untouched), YaRN's scale.
  for (const RopeCase& c : {RopeCase{8, 8, 1.0f}, RopeCase{64, 64, 1.0f}, RopeCase{128, 128, 1.0f},
           RopeCase{64, 16, 1.0f}, RopeCase{128, 32, 1.0f}, RopeCase{64, 64, 1.1386294f}, RopeCase{64, 16, 1.2f}}) {
    const int n = 4;
    const int heads = 3;
    const int head_dim = c.head_dim;
    const std::vector<int32_t> positions = {0, 1, 517, 40000};
    std::vector<float> inv_freq(static_cast<size_t>(c.rotary_dim / 2));
    for (int i = 0; i < c.rotary_dim / 2; i++) {
      inv_freq[static_cast<size_t>(i)] = 1.0f / std::pow(1e6f, 2.0f * static_cast<float>(i) / static_cast<float>(c.rotary_dim));
    }
    const std::vector<float> x = random_floats(static_cast<size_t>(n) * heads * head_dim);
    std::vector<float> want = x;
    std::vector<float> trig(static_cast<size_t>(head_dim));
    for (int r = 0; r < n; r++) {
      rope_row(want.data() + static_cast<size_t>(r) * heads * head_dim, positions[r], heads, head_dim, c.rotary_dim,
               inv_freq.data(), c.attention_scale, trig.data());
    }
    std::vector<float> got = x;
    launch_rope(got.data(), positions.data(), n, heads, head_dim, c.rotary_dim, inv_freq.data(), c.attention_scale,
                nullptr);
    const std::string label = "rope head_dim " + std::to_string(head_dim) + " rotary_dim " + std::to_string(c.rotary_dim);
    expect_close(got, want, 0, label);
    for (size_t e = 0; e < x.size(); e++) {
      const int dim = static_cast<int>(e % static_cast<size_t>(head_dim));
      if (dim >= c.rotary_dim) expect(got[e] == x[e], label + ": pass-through dim " + std::to_string(dim) + " kept");
    }
  }
}

// The hybrid ops against cpu/hybrid_kernels.h: two sequences in one batch (slot 1 from position 0,
// slot 0 continuing at position 3 from a state left by earlier steps), run for two steps so the
// conv and recurrent states carry over.
void check_hybrid() {
  {
    const std::vector<float> gate = random_floats(1000, 6.0f), x = random_floats(1000);
    std::vector<float> want = x, got = x;
    for (size_t i = 0; i < x.size(); i++) want[i] *= sigmoid(gate[i]);
    launch_sigmoid_gate(got.data(), gate.data(), static_cast<int64_t>(got.size()), nullptr);
    expect_close(got, want, 0, "sigmoid_gate");
  }
  {
    const int rows = 5, dim = 37;
    const std::vector<float> gate = random_floats(rows, 6.0f), y = random_floats(static_cast<size_t>(rows) * dim);
    std::vector<float> want = y, got = y;
    for (int r = 0; r < rows; r++) {
      for (int j = 0; j < dim; j++) want[static_cast<size_t>(r) * dim + j] *= sigmoid(gate[static_cast<size_t>(r)]);
    }
    launch_sigmoid_scale_rows(got.data(), gate.data(), rows, dim, nullptr);
    expect_close(got, want, 0, "sigmoid_scale_rows");
  }
  for (const DeltaNetShape shape : {DeltaNetShape{2, 4, 16, 16, 4}, DeltaNetShape{1, 3, 48, 128, 4},
           DeltaNetShape{2, 2, 64, 40, 2}}) {
    const std::string label = " k_heads " + std::to_string(shape.k_heads) + " v_heads " + std::to_string(shape.v_heads)
        + " k_dim " + std::to_string(shape.k_dim) + " v_dim " + std::to_string(shape.v_dim);
    const int slots = 2, channels = shape.channels(), value_dim = shape.v_heads * shape.v_dim;
    std::vector<float> conv_want = random_floats(slots * shape.conv_state_floats());
    std::vector<float> rec_want = random_floats(slots * shape.recurrent_state_floats(), 0.3f);
    std::vector<float> conv_got = conv_want, rec_got = rec_want;
    const std::vector<float> weight = random_floats(static_cast<size_t>(channels) * shape.kernel);
    const std::vector<float> a_log = random_floats(static_cast<size_t>(shape.v_heads)), dt_bias =
        random_floats(static_cast<size_t>(shape.v_heads));
    const std::vector<float> norm = random_floats(static_cast<size_t>(shape.v_dim));
    for (int step = 0; step < 2; step++) {
      const std::vector<int32_t> row_slots = {1, 1, 1, 0, 0};
      std::vector<int32_t> positions = {0, 1, 2, 3, 4};
      for (int r = 0; r < 5; r++) positions[static_cast<size_t>(r)] += step * (r < 3 ? 3 : 2);
      const int n = 5;
      BatchRows rows;
      rows.n = n;
      rows.slots = row_slots.data();
      rows.positions = positions.data();
      const std::vector<float> x = random_floats(static_cast<size_t>(n) * channels, 2.0f);
      std::vector<float> mixed_want(x.size()), mixed_got(x.size());
      for (int c = 0; c < channels; c++) conv1d_silu_channel(mixed_want.data(), x.data(), conv_want.data(),
          weight.data(), rows, shape, c);
      launch_conv1d_silu(mixed_got.data(), x.data(), conv_got.data(), weight.data(), rows.slots, rows.positions, n,
          shape, nullptr);
      expect_close(mixed_got, mixed_want, 0, "conv1d_silu" + label);
      expect_close(conv_got, conv_want, 0, "conv1d_silu state" + label);

      const std::vector<float> b = random_floats(static_cast<size_t>(n) * shape.v_heads, 3.0f);
      const std::vector<float> a = random_floats(static_cast<size_t>(n) * shape.v_heads, 3.0f);
      std::vector<float> out_want(static_cast<size_t>(n) * value_dim), out_got(out_want.size());
      std::vector<float> scratch(static_cast<size_t>(2 * shape.k_dim + shape.v_dim));
      for (int h = 0; h < shape.v_heads; h++) delta_rule_head(out_want.data(), mixed_want.data(), b.data(), a.data(),
          a_log.data(), dt_bias.data(), rec_want.data(), rows, shape, h, scratch.data());
      // Without host copies of the rows every row takes the recurrent kernel (the chunked form: below).
      launch_gated_delta_rule(out_got.data(), mixed_want.data(), b.data(), a.data(), a_log.data(), dt_bias.data(),
          rec_got.data(), rows, shape, kSm86SharedBytes, nullptr);
      // The q/k norms are block reductions here and sequential sums on the CPU.
      expect_close(out_got, out_want, 2e-6, "gated_delta_rule" + label);
      expect_close(rec_got, rec_want, 2e-6, "gated_delta_rule state" + label);
      rec_got = rec_want;  // each step starts equal, so the next one checks the carry alone

      const std::vector<float> z = random_floats(out_want.size(), 4.0f);
      std::vector<float> norm_want(out_want.size()), norm_got(out_want.size());
      for (int r = 0; r < n * shape.v_heads; r++) {
        const float* in = out_want.data() + static_cast<size_t>(r) * shape.v_dim;
        float squares = 0.0f;
        for (int j = 0; j < shape.v_dim; j++) squares += in[j] * in[j];
        const float scale = rms_scale(squares, shape.v_dim, 1e-6f);
        for (int j = 0; j < shape.v_dim; j++) {
          norm_want[static_cast<size_t>(r) * shape.v_dim + j] =
              gated_rmsnorm_element(in[j], scale, norm[static_cast<size_t>(j)], z[static_cast<size_t>(r) * shape.v_dim + j]);
        }
      }
      launch_gated_rmsnorm(norm_got.data(), out_want.data(), z.data(), norm.data(), n * shape.v_heads, shape.v_dim,
          1e-6f, nullptr);
      expect_close(norm_got, norm_want, 2e-6, "gated_rmsnorm" + label);
    }
  }
}

// One batch of the chunked delta-rule checks: per sequence, its slot, first position and rows.
struct DeltaSequence {
  int slot, position, rows;
};

double worst_delta_chunked_error = 0;

/** The gated delta rule of `sequences` (laid out in order) through launch_gated_delta_rule against the
 * CPU backend's dispatch (delta_rule_head_runs: chunked runs, recurrent lone rows), starting from and
 * updating `rec_want` / `rec_got`; `max_shared_bytes` 0 forces the recurrent kernel everywhere, which
 * is then compared with the CPU's recurrent form. A_log is drawn from a_log_center ± 1: around 0 the log
 * decay of a token averages -1.2 (the state forgets within a few tokens), around -3 it averages -0.06 (the
 * state carries across chunks, as in trained models). */
void check_delta_batch(const DeltaNetShape& shape, const std::vector<DeltaSequence>& sequences,
    std::vector<float>& rec_want, std::vector<float>& rec_got, float a_log_center, size_t max_shared_bytes,
    double tolerance, const std::string& label) {
  std::vector<int32_t> slots, positions;
  for (const DeltaSequence& q : sequences) {
    for (int t = 0; t < q.rows; t++) {
      slots.push_back(q.slot);
      positions.push_back(q.position + t);
    }
  }
  BatchRows rows;
  rows.n = static_cast<int>(slots.size());
  rows.slots = rows.host_slots = slots.data();
  rows.positions = rows.host_positions = positions.data();
  const size_t n = slots.size();
  const std::vector<float> qkv = random_floats(n * static_cast<size_t>(shape.channels()), 2.0f);
  const std::vector<float> b = random_floats(n * static_cast<size_t>(shape.v_heads), 3.0f);
  const std::vector<float> a = random_floats(n * static_cast<size_t>(shape.v_heads), 3.0f);
  std::vector<float> a_log = random_floats(static_cast<size_t>(shape.v_heads));
  for (float& x : a_log) x += a_log_center;
  const std::vector<float> dt_bias = random_floats(static_cast<size_t>(shape.v_heads));
  std::vector<float> out_want(n * static_cast<size_t>(shape.v_heads) * shape.v_dim, 0.0f), out_got(out_want.size());
  std::vector<float> scratch(std::max(static_cast<size_t>(2 * shape.k_dim + shape.v_dim),
      delta_chunk_scratch_floats(shape)));
  for (int h = 0; h < shape.v_heads; h++) {
    if (max_shared_bytes == 0) {
      delta_rule_head(out_want.data(), qkv.data(), b.data(), a.data(), a_log.data(), dt_bias.data(), rec_want.data(),
          rows, shape, h, scratch.data());
    } else {
      delta_rule_head_runs(out_want.data(), qkv.data(), b.data(), a.data(), a_log.data(), dt_bias.data(),
          rec_want.data(), rows, shape, h, scratch.data());
    }
  }
  launch_gated_delta_rule(out_got.data(), qkv.data(), b.data(), a.data(), a_log.data(), dt_bias.data(),
      rec_got.data(), rows, shape, max_shared_bytes, nullptr);
  const double out_error = max_error(out_got.data(), out_want.data(), out_want.size());
  const double state_error = max_error(rec_got.data(), rec_want.data(), rec_want.size());
  if (max_shared_bytes > 0) worst_delta_chunked_error = std::max({worst_delta_chunked_error, out_error, state_error});
  expect(out_error <= tolerance, "gated_delta_rule " + label + " (max error " + std::to_string(out_error) + ")");
  expect(state_error <= tolerance, "gated_delta_rule state " + label + " (max error " + std::to_string(state_error)
      + ")");
}

// The chunked delta rule against the CPU's: prompts longer than a chunk (150 rows: two full chunks and
// a partial one; 65: one full and one row), short runs and lone decode rows of other sequences in the
// same batch, runs from position 0 and runs continuing a carried state, GQA (v_heads = 2·k_heads) and
// v_dim not a multiple of the 32-column tile; then more runs than one launch takes.
void check_delta_rule_chunked() {
  expect(gated_delta_rule_chunked_shared_bytes(DeltaNetShape{16, 32, 128, 128, 4}) <= kSm86SharedBytes,
      "chunked delta rule with k_dim 128 fits sm_86/sm_89 shared memory");
  const double tolerance = 2e-6;  // the errors seen are at most 5.3e-7 (other summation orders than the CPU's)
  for (const DeltaNetShape shape : {DeltaNetShape{2, 4, 128, 128, 4}, DeltaNetShape{1, 2, 48, 40, 4},
           DeltaNetShape{2, 2, 32, 72, 4}}) {
    const std::string label = "k_heads " + std::to_string(shape.k_heads) + " v_heads " + std::to_string(shape.v_heads)
        + " k_dim " + std::to_string(shape.k_dim) + " v_dim " + std::to_string(shape.v_dim);
    std::vector<float> rec_want = random_floats(4 * shape.recurrent_state_floats(), 0.3f);
    std::vector<float> rec_got = rec_want;
    // Step 1: a 150-row prompt, a decode row, a 70-row run continuing at position 5, a first token.
    check_delta_batch(shape, {{2, 0, 150}, {0, 7, 1}, {3, 5, 70}, {1, 0, 1}}, rec_want, rec_got, -3.0f,
        kSm86SharedBytes, tolerance, "chunked step 1, " + label);
    // Step 2, from the states step 1 left (compared, not reset): decode after the prompt, 65 more rows,
    // a run of two, a 64-row run.
    check_delta_batch(shape, {{2, 150, 1}, {3, 75, 65}, {0, 8, 2}, {1, 1, 64}}, rec_want, rec_got, -3.0f,
        kSm86SharedBytes, tolerance, "chunked step 2, " + label);
    // Step 3 with fast decays.
    check_delta_batch(shape, {{3, 140, 100}, {2, 151, 1}}, rec_want, rec_got, 0.0f, kSm86SharedBytes, tolerance,
        "chunked step 3, fast decay, " + label);
    // No room for the chunked kernel: every row recurrent, as the CPU's recurrent form.
    rec_got = rec_want;
    check_delta_batch(shape, {{0, 10, 3}, {2, 152, 1}}, rec_want, rec_got, -3.0f, 0, 2e-6,
        "recurrent fallback, " + label);
  }
  // 70 runs of two rows between lone rows: two launches of the chunked kernel (kMaxDeltaRuns = 64).
  const DeltaNetShape shape{1, 2, 16, 16, 4};
  std::vector<DeltaSequence> sequences;
  for (int q = 0; q < 75; q++) sequences.push_back({q, q % 3 == 0 ? 0 : q, q % 15 == 7 ? 1 : 2});
  std::vector<float> rec_want = random_floats(75 * shape.recurrent_state_floats(), 0.3f), rec_got = rec_want;
  check_delta_batch(shape, sequences, rec_want, rec_got, -3.0f, kSm86SharedBytes, tolerance, "70 runs");
}

struct AttentionCase {
  int heads, kv_heads, head_dim, context, multiprocessors;
};

void check_attention() {
  const AttentionCase cases[] = {
      {4, 2, 8, 300, 1000}, {4, 2, 8, 300, 2},   {4, 1, 64, 700, 1000}, {4, 1, 64, 700, 3},
      {2, 2, 128, 260, 1},  {2, 1, 256, 200, 50}, {3, 1, 96, 150, 1000}, {2, 1, 6, 140, 1},
      {1, 1, 512, 130, 1000},
  };
  // Each case also with a sliding window of 100 positions (Qwen3 use_sliding_window).
  for (int window : {0, 100}) {
  for (const AttentionCase& c : cases) {
    KvCache cache;
    cache.layers = 2;
    cache.slots = 3;
    cache.context = c.context;
    cache.kv_heads = c.kv_heads;
    cache.head_dim = c.head_dim;
    const size_t floats = cache.bytes() / 2 / sizeof(float);
    std::vector<float> keys = random_floats(floats, 1.5f);
    std::vector<float> values = random_floats(floats, 1.0f);
    cache.keys = keys.data();
    cache.values = values.data();
    // Rows: different slots and positions, including the first and the last position.
    const std::vector<int32_t> slots = {0, 2, 1, 2, 0};
    const std::vector<int32_t> positions = {0, c.context - 1, 129, 128, c.context / 2};
    const int rows = static_cast<int>(slots.size());
    const int layer = 1;
    const std::vector<float> q = random_floats(static_cast<size_t>(rows) * c.heads * c.head_dim, 1.5f);
    std::vector<float> want(q.size());
    std::vector<float> scores(static_cast<size_t>(c.context));
    for (int r = 0; r < rows; r++) {
      for (int h = 0; h < c.heads; h++) {
        const size_t at = (static_cast<size_t>(r) * c.heads + h) * c.head_dim;
        attend_head(want.data() + at, q.data() + at, cache, layer, slots[r], positions[r], h / (c.heads / c.kv_heads),
                    c.head_dim, scores.data(), window);
      }
    }
    const AttentionPlan plan = plan_attention(rows, c.heads, c.context, c.multiprocessors);
    std::vector<float> workspace(attention_workspace_floats(plan, rows, c.heads, c.head_dim), NAN);
    std::vector<float> got(q.size(), NAN);
    launch_attention(got.data(), q.data(), cache, layer, slots.data(), positions.data(), rows, c.heads, c.kv_heads,
                     c.head_dim, window, plan, workspace.empty() ? nullptr : workspace.data(), nullptr);
    expect_close(got, want, 2e-6,
                 "attention heads " + std::to_string(c.heads) + "/" + std::to_string(c.kv_heads) + " head_dim " +
                     std::to_string(c.head_dim) + " context " + std::to_string(c.context) + " splits " +
                     std::to_string(plan.splits) + " window " + std::to_string(window));
  }
  }
  // The plan covers the context exactly once, with whole tiles.
  bool plans_ok = true;
  for (int rows : {1, 3, 64, 512}) {
    for (int context : {1, 127, 128, 4096, 40000}) {
      for (int sms : {1, 80, 132}) {
        const AttentionPlan p = plan_attention(rows, 16, context, sms);
        plans_ok = plans_ok && p.splits >= 1 && p.chunk % 128 == 0 && static_cast<int64_t>(p.splits) * p.chunk >= context &&
                   static_cast<int64_t>(p.splits - 1) * p.chunk < context;
      }
    }
  }
  expect(plans_ok, "attention plans tile the context");
  expect(plan_attention(1, 16, 4096, 132).splits > 1 && plan_attention(512, 16, 4096, 132).splits == 1,
         "attention splits decode but not prefill");
}

void matmul_reference(std::vector<float>& out, const std::vector<float>& x, const Tensor& w, int n) {
  std::vector<float> row(static_cast<size_t>(w.cols));
  out.assign(static_cast<size_t>(n) * w.rows, 0.0f);
  for (int64_t r = 0; r < w.rows; r++) {
    widen_row(w, r, row.data());
    for (int i = 0; i < n; i++) out[static_cast<size_t>(i * w.rows + r)] = dot(x.data() + i * w.cols, row.data(), w.cols);
  }
}

void check_matmul() {
  for (DType dtype : kDtypes) {
    for (int64_t k : {64, 72, 50}) {
      for (int64_t d : {1, 13, 40}) {
        HostWeight w = make_weight(dtype, d, k);
        for (int n = 1; n <= kMatvecMaxRows; n++) {
          const std::vector<float> x = random_floats(static_cast<size_t>(n * k));
          std::vector<float> want;
          matmul_reference(want, x, w.tensor, n);
          std::vector<float> got(want.size(), NAN);
          launch_matvec(got.data(), x.data(), w.tensor, n, nullptr);
          expect_close(got, want, 2e-6, std::string("matvec ") + dtype_name(dtype) + " n " + std::to_string(n) + " d " +
                                            std::to_string(d) + " k " + std::to_string(k));
        }
      }
    }
    // Misaligned weight rows take the scalar path.
    HostWeight odd = make_weight(dtype, 9, 64, 1.0f, dtype == DType::F32 ? 4 : 2);  // element- but not 16-byte-aligned
    const std::vector<float> x = random_floats(3 * 64);
    std::vector<float> want;
    matmul_reference(want, x, odd.tensor, 3);
    std::vector<float> got(want.size(), NAN);
    launch_matvec(got.data(), x.data(), odd.tensor, 3, nullptr);
    expect_close(got, want, 2e-6, std::string("matvec misaligned ") + dtype_name(dtype));

    for (int n : {1, 9, 70}) {
      for (int64_t d : {5, 130}) {
        for (int64_t k : {17, 64}) {
          HostWeight wt = make_weight(dtype, d, k);
          const std::vector<float> xt = random_floats(static_cast<size_t>(n * k));
          matmul_reference(want, xt, wt.tensor, n);
          got.assign(want.size(), NAN);
          launch_gemm_tiled(got.data(), xt.data(), wt.tensor, n, nullptr);
          expect_close(got, want, 2e-6, std::string("gemm_tiled ") + dtype_name(dtype) + " n " + std::to_string(n) +
                                            " d " + std::to_string(d) + " k " + std::to_string(k));
        }
      }
    }
  }
}

// --- block-quantized weights: every kernel against quant.h's dequantize_* on the host ---

const DType kQuantDtypes[] = {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};

/** A quantized weight of random blocks whose f16 scales are finite and moderate (so the weights are
 * about ±1), `misalign` bytes past a 16-byte boundary; `values` is its host dequantization. */
struct HostQuant {
  std::vector<uint8_t> storage;
  Tensor tensor;
  std::vector<float> values;
};

void set_half(uint8_t* at, float value) {
  const uint16_t h = f32_to_f16(value);
  std::memcpy(at, &h, 2);
}

/** Dequantizes one block of `dtype` at `block` into y with quant.h (the host reference). */
void dequantize_block(DType dtype, const uint8_t* block, float* y) {
  switch (dtype) {
    case DType::Q8_0: return dequantize_q8_0(reinterpret_cast<const BlockQ8_0*>(block), y);
    case DType::Q4_0: return dequantize_q4_0(reinterpret_cast<const BlockQ4_0*>(block), y);
    case DType::Q4_K: return dequantize_q4_k(reinterpret_cast<const BlockQ4_K*>(block), y);
    case DType::Q5_K: return dequantize_q5_k(reinterpret_cast<const BlockQ5_K*>(block), y);
    case DType::Q6_K: return dequantize_q6_k(reinterpret_cast<const BlockQ6_K*>(block), y);
    default: std::abort();
  }
}

HostQuant make_quant(DType dtype, int64_t rows, int64_t cols, size_t misalign = 0) {
  HostQuant w;
  const size_t block_bytes = dtype_block_bytes(dtype);
  const int64_t elements = dtype_block_elements(dtype);
  const size_t blocks = static_cast<size_t>(rows * (cols / elements));
  w.storage.assign(blocks * block_bytes + 16 + misalign, 0);
  uint8_t* base = w.storage.data();
  while (reinterpret_cast<uintptr_t>(base) % 16 != 0) base++;
  base += misalign;
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(0.5f, 1.0f);
  for (size_t b = 0; b < blocks; b++) {
    uint8_t* block = base + b * block_bytes;
    for (size_t i = 0; i < block_bytes; i++) block[i] = static_cast<uint8_t>(byte(rng));
    const float sign = byte(rng) & 1 ? -1.0f : 1.0f;
    switch (dtype) {
      case DType::Q8_0: set_half(block, sign * scale(rng) / 127.0f); break;
      case DType::Q4_0: set_half(block, sign * scale(rng) / 8.0f); break;
      case DType::Q4_K:
      case DType::Q5_K:  // d · sc · q − dmin · m with 6-bit sc, m and 4/5-bit q
        set_half(block, scale(rng) / (63.0f * (dtype == DType::Q4_K ? 15.0f : 31.0f)));
        set_half(block + 2, scale(rng) / 63.0f);
        break;
      case DType::Q6_K: set_half(block + 208, sign * scale(rng) / (128.0f * 32.0f)); break;
      default: std::abort();
    }
  }
  w.tensor.data = base;
  w.tensor.dtype = dtype;
  w.tensor.rows = rows;
  w.tensor.cols = cols;
  w.values.resize(static_cast<size_t>(rows * cols));
  for (size_t b = 0; b < blocks; b++) dequantize_block(dtype, base + b * block_bytes, w.values.data() + b * elements);
  return w;
}

/** Column counts to test per type: one block, a few, and more blocks than a warp has lanes. */
std::vector<int64_t> quant_cols(DType dtype) {
  const int64_t block = dtype_block_elements(dtype);
  return block == 32 ? std::vector<int64_t>{32, 96, 1056} : std::vector<int64_t>{256, 768, 2304, 9472};
}

/** out[i, r] = x[i] · values[r] with the CPU backend's f32 dot over the dequantized rows. */
std::vector<float> quant_reference(const HostQuant& w, const std::vector<float>& x, int n) {
  std::vector<float> out(static_cast<size_t>(n) * w.tensor.rows);
  for (int64_t r = 0; r < w.tensor.rows; r++) {
    for (int i = 0; i < n; i++) {
      out[static_cast<size_t>(i * w.tensor.rows + r)] =
          dot(x.data() + i * w.tensor.cols, w.values.data() + r * w.tensor.cols, w.tensor.cols);
    }
  }
  return out;
}

/** Worst error / tolerance over the quantized matmul checks (printed: how close the checks come). */
double worst_quant_matmul_ratio = 0;

/** Both sides sum k f32 products in different orders, so the tolerance grows like sqrt(k): 6e-7·sqrt(k)
 * (3.4e-6 at k = 32, 5.8e-5 at k = 9472; the errors seen are about half that). A wrong block, nibble or
 * scale gives errors of order 1e-2 and more. */
void expect_quant_close(const std::vector<float>& got, const std::vector<float>& want, int64_t k,
                        const std::string& what) {
  const double error = got.size() == want.size() ? max_error(got.data(), want.data(), got.size()) : INFINITY;
  const double tolerance = 6e-7 * std::sqrt(static_cast<double>(k));
  worst_quant_matmul_ratio = std::max(worst_quant_matmul_ratio, error / tolerance);
  expect(error <= tolerance, what + " (max error " + std::to_string(error) + ")");
}

void check_quant() {
  for (DType dtype : kQuantDtypes) {
    const std::string name = dtype_name(dtype);
    const int64_t block = dtype_block_elements(dtype);
    for (size_t misalign : {size_t{0}, size_t{2}}) {
      const std::string where = misalign ? " (blocks 2 bytes past 16-byte alignment)" : "";
      // Embedding: bit-identical to dequantize_*, NaN rows for ids outside the table.
      const int64_t cols = 3 * block;
      HostQuant table = make_quant(dtype, 7, cols, misalign);
      const std::vector<int32_t> tokens = {6, 0, 3, 7, -1, 6};
      std::vector<float> got(tokens.size() * static_cast<size_t>(cols), 0.0f);
      launch_embed(got.data(), table.tensor, tokens.data(), static_cast<int>(tokens.size()), nullptr);
      std::vector<float> want(got.size(), NAN);
      for (size_t i = 0; i < tokens.size(); i++) {
        if (tokens[i] >= 0 && tokens[i] < 7) {
          std::memcpy(want.data() + i * cols, table.values.data() + tokens[i] * cols, sizeof(float) * cols);
        }
      }
      expect(max_error(got.data(), want.data(), got.size()) == 0,
             "embed " + name + where + " equals dequantize (ids 7 and -1 give NaN rows)");
      bool identical = true;
      for (size_t i = 0; i < got.size(); i++) {
        if (!std::isnan(want[i])) identical = identical && std::memcmp(&got[i], &want[i], 4) == 0;
      }
      expect(identical, "embed " + name + where + " bits");

      // Dequantization to f32 (the GEMM slices): rows 2..6 of the table, exactly.
      std::vector<float> slice(static_cast<size_t>(5 * cols), NAN);
      launch_widen(slice.data(), table.tensor.data, dtype, 2 * cols, 5 * cols, nullptr);
      expect(std::memcmp(slice.data(), table.values.data() + 2 * cols, slice.size() * 4) == 0,
             "dequantize " + name + where + " is bit-identical to dequantize_*");

      // Decode matvec for every batch size up to 8, odd row counts, few and many blocks per row.
      for (int64_t k : quant_cols(dtype)) {
        for (int64_t d : {1, 13, 37}) {
          if (k > 2304 && d > 13) continue;  // keeps the emulated run short
          HostQuant w = make_quant(dtype, d, k, misalign);
          for (int n : {1, 2, 3, 5, 8}) {
            const std::vector<float> x = random_floats(static_cast<size_t>(n * k));
            std::vector<float> out(static_cast<size_t>(n * d), NAN);
            launch_matvec(out.data(), x.data(), w.tensor, n, nullptr);
            expect_quant_close(out, quant_reference(w, x, n), k,
                               "matvec " + name + where + " n " + std::to_string(n) + " d " + std::to_string(d) +
                                   " k " + std::to_string(k));
          }
        }
      }
    }

    // n > 8: dequantized slices (5 rows each, so the last is partial) times the tiled f32 GEMM, the
    // path the backend takes without cuBLAS (with cuBLAS the same slices go to SGEMM).
    for (int n : {9, 64}) {
      for (int64_t d : {13, 37}) {
        const int64_t k = quant_cols(dtype)[1];
        HostQuant w = make_quant(dtype, d, k);
        const std::vector<float> x = random_floats(static_cast<size_t>(n * k));
        std::vector<float> scratch(static_cast<size_t>(5 * k), NAN);
        std::vector<float> out(static_cast<size_t>(n * d), NAN);
        const bool ok = gemm_by_slices(out.data(), w.tensor, scratch.data(), 5, nullptr,
                                       [&](float* out_rows, const Tensor& f32_slice, int64_t stride) {
                                         launch_gemm_tiled(out_rows, x.data(), f32_slice, n, nullptr, stride);
                                         return true;
                                       });
        expect(ok, "gemm_by_slices completes");
        expect_quant_close(out, quant_reference(w, x, n), k,
                           "dequantized GEMM " + name + " n " + std::to_string(n) + " d " + std::to_string(d) +
                               " k " + std::to_string(k));
      }
    }
  }

  // What the kernels refuse, by name.
  HostQuant w = make_quant(DType::Q4_K, 2, 256);
  Tensor ragged = w.tensor;
  ragged.cols = 200;
  std::vector<float> x(1024, 1.0f), out(8);
  try {
    launch_matvec(out.data(), x.data(), ragged, 1, nullptr);
    expect(false, "a q4_k row that is not whole blocks is refused");
  } catch (const Error& error) {
    expect(std::string(error.what()).find("q4_k") != std::string::npos, std::string("ragged q4_k: ") + error.what());
  }
  Tensor other = w.tensor;
  other.dtype = DType::Other;
  for (int op = 0; op < 3; op++) {
    try {
      if (op == 0) launch_matvec(out.data(), x.data(), other, 1, nullptr);
      if (op == 1) launch_embed(out.data(), other, std::vector<int32_t>{0}.data(), 1, nullptr);
      if (op == 2) launch_widen(out.data(), other.data, other.dtype, 0, 4, nullptr);
      expect(false, "dtype other is refused");
    } catch (const Error& error) {
      expect(error.code() == CX_ERR_UNSUPPORTED_ARCH && std::string(error.what()).find("dtype other") != std::string::npos,
             std::string("dtype other refused by name: ") + error.what());
    }
  }
}

void check_kv_store() {
  KvCache cache;
  cache.layers = 2;
  cache.slots = 3;
  cache.context = 10;
  cache.kv_heads = 3;
  cache.head_dim = 4;
  const size_t floats = cache.bytes() / 2 / sizeof(float);
  std::vector<float> keys(floats, 0.0f), values(floats, 0.0f);
  cache.keys = keys.data();
  cache.values = values.data();
  const std::vector<int32_t> slots = {2, 0, 1, 7};     // slot 7 is out of range: skipped
  const std::vector<int32_t> positions = {9, 0, 4, 1};
  const std::vector<float> k = random_floats(4 * 12), v = random_floats(4 * 12);
  launch_kv_store(cache, 1, k.data(), v.data(), slots.data(), positions.data(), 4, nullptr);
  std::vector<float> want_k(floats, 0.0f), want_v(floats, 0.0f);
  for (int r = 0; r < 3; r++) {
    for (int h = 0; h < 3; h++) {
      std::memcpy(want_k.data() + cache.offset(1, slots[r], h, positions[r]), k.data() + r * 12 + h * 4, 16);
      std::memcpy(want_v.data() + cache.offset(1, slots[r], h, positions[r]), v.data() + r * 12 + h * 4, 16);
    }
  }
  expect_close(keys, want_k, 0, "kv_store keys");
  expect_close(values, want_v, 0, "kv_store values");
}

void check_headers_without_cuda() {
  expect(cuda_device_count() == 0 && cuda_enumerate_devices().empty(), "no CUDA devices without CORTEX_WITH_CUDA");
  int64_t total = 0;
  int64_t free_bytes = 0;
  expect(!cuda_memory_info(0, &total, &free_bytes), "no CUDA memory figures without CORTEX_WITH_CUDA");
  try {
    make_cuda_backend(0, "cuda-dev-0");
    expect(false, "make_cuda_backend throws without CUDA");
  } catch (const Error& error) {
    expect(error.code() == CX_ERR_UNSUPPORTED_ARCH && !error.fatal(), "make_cuda_backend: unsupported, not fatal");
  }
  std::string why;
  expect(!nccl_available(&why) && !why.empty(), "NCCL unavailable without CUDA, with a reason");
  GpuTelemetry telemetry;
  expect(!nvml_query(0, &telemetry, &why), "NVML unavailable without CUDA");

  NcclUniqueId id;
  for (size_t i = 0; i < sizeof(id.bytes); i++) id.bytes[i] = static_cast<char>(i * 37 + 11);
  const std::string hex = nccl_id_to_hex(id);
  const NcclUniqueId back = nccl_id_from_hex(hex);
  expect(hex.size() == 256 && std::memcmp(back.bytes, id.bytes, sizeof(id.bytes)) == 0 && hex.substr(0, 4) == "0b30",
         "NCCL id hex round trip");
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  expect(std::memcmp(nccl_id_from_hex(upper).bytes, id.bytes, sizeof(id.bytes)) == 0, "NCCL id hex accepts upper case");
  for (const std::string& bad : {hex.substr(1), hex.substr(0, 255) + "g"}) {
    try {
      nccl_id_from_hex(bad);
      expect(false, "bad NCCL id hex is rejected");
    } catch (const Error& error) {
      expect(error.code() == CX_ERR_INVALID_ARGUMENT, std::string("bad NCCL id hex: ") + error.what());
    }
  }
}

}  // namespace

int main() {
  check_headers_without_cuda();
  check_conversions();
  check_kv_offset();
  check_embed();
  check_rmsnorm();
  check_elementwise();
  check_moe_combine();
  check_rope();
  check_hybrid();
  check_delta_rule_chunked();
  check_kv_store();
  check_matmul();
  check_attention();
  check_quant();
  std::printf("quantized matmul: worst error %.2f of the tolerance\n", worst_quant_matmul_ratio);
  std::printf("chunked delta rule: worst error %.2g\n", worst_delta_chunked_error);
  std::printf("%d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
