// quant_check.cpp — checks of the quantizers (src/quant.cpp) and the CPU backend's quantized matmul,
// run by quant_test.ts: (a) dequantize_row of the fixture GGUF tensors equals the rows ggml itself
// dequantized, bit for bit; (b) quantize_row of the F32 GGUF's tensors reproduces llama-quantize's
// bytes; (c) every ISA's integer matmul equals the scalar one bit for bit, rows do not depend on the
// batch, tile or thread count, and the product is within the activation-quantization bound of the
// f32 product. `quant_check FIXTURES_DIR` (…/gguf; "-" to skip a and b); `quant_check --bench`
// prints matvec timings per type and ISA instead (in-cache matrices), `--bench-stream` the AVX2
// kernel's on a 16384 × 4096 weight (from memory), `--bench-backend` the backend's matmul on such a
// weight with 1 and 2 threads.
//
// The GGUF parsing here is the least that finds a tensor's bytes, for this test only.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "backend.h"
#include "check_harness.h"
#include "cpu_simd.h"
#include "quant.h"
#include "quant_repack.h"
#include "safetensors.h"

using namespace cx;

namespace {

// ---- a minimal GGUF reader: tensor name → (ggml type, dims, bytes) ----

struct GgufTensor {
  uint32_t type = 0;
  std::vector<int64_t> dims;  // ne0 (row length) first
  const uint8_t* data = nullptr;
};

struct Gguf {
  std::vector<uint8_t> bytes;
  std::map<std::string, GgufTensor> tensors;
};

bool read_file(const std::string& path, std::vector<uint8_t>* out) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return false;
  out->assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  return true;
}

struct Cursor {
  const uint8_t* p;
  template <typename T>
  T get() {
    T v;
    std::memcpy(&v, p, sizeof(T));
    p += sizeof(T);
    return v;
  }
  std::string str() {
    const uint64_t n = get<uint64_t>();
    std::string s(reinterpret_cast<const char*>(p), n);
    p += n;
    return s;
  }
  void skip_value(uint32_t type) {
    static const int kSizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (type == 8) {
      str();
    } else if (type == 9) {
      const uint32_t element = get<uint32_t>();
      const uint64_t count = get<uint64_t>();
      for (uint64_t i = 0; i < count; i++) skip_value(element);
    } else {
      p += kSizes[type];
    }
  }
};

bool open_gguf(const std::string& path, Gguf* g) {
  if (!read_file(path, &g->bytes) || g->bytes.size() < 24 || std::memcmp(g->bytes.data(), "GGUF", 4) != 0) return false;
  Cursor c{g->bytes.data() + 4};
  c.get<uint32_t>();  // version
  const uint64_t n_tensors = c.get<uint64_t>();
  const uint64_t n_kv = c.get<uint64_t>();
  uint64_t alignment = 32;
  for (uint64_t i = 0; i < n_kv; i++) {
    const std::string key = c.str();
    const uint32_t type = c.get<uint32_t>();
    if (key == "general.alignment" && type == 4) alignment = c.get<uint32_t>();
    else c.skip_value(type);
  }
  std::vector<std::pair<std::string, uint64_t>> offsets;
  for (uint64_t i = 0; i < n_tensors; i++) {
    GgufTensor t;
    const std::string name = c.str();
    const uint32_t n_dims = c.get<uint32_t>();
    for (uint32_t d = 0; d < n_dims; d++) t.dims.push_back(static_cast<int64_t>(c.get<uint64_t>()));
    t.type = c.get<uint32_t>();
    offsets.emplace_back(name, c.get<uint64_t>());
    g->tensors[name] = t;
  }
  const uint64_t header = static_cast<uint64_t>(c.p - g->bytes.data());
  const uint64_t data_start = (header + alignment - 1) / alignment * alignment;
  for (const auto& [name, offset] : offsets) g->tensors[name].data = g->bytes.data() + data_start + offset;
  return true;
}

// ggml type numbers → the engine's DType (Other where the engine has none).
DType dtype_of_ggml(uint32_t type) {
  switch (type) {
    case 0: return DType::F32;
    case 1: return DType::F16;
    case 30: return DType::BF16;
    case 8: return DType::Q8_0;
    case 2: return DType::Q4_0;
    case 12: return DType::Q4_K;
    case 13: return DType::Q5_K;
    case 14: return DType::Q6_K;
    default: return DType::Other;
  }
}

// ---- (a) dequantization against ggml's own rows ----

void check_dequant(const std::string& fixtures) {
  const std::string model = "qwen3-tiny";
  const std::string dir = fixtures + "/" + model + "/ref/ggml-dequant/";
  const char* cases[][2] = {
      {"bf16", "blk.0.ffn_down.weight"},   {"q4_0", "blk.0.ffn_down.weight"},   {"q4_0", "output.weight"},
      {"q4_k_m", "blk.0.ffn_down.weight"}, {"q4_k_m", "blk.2.ffn_down.weight"}, {"q6_k", "blk.0.ffn_down.weight"},
      {"q8_0", "blk.0.ffn_down.weight"},
  };
  std::map<std::string, Gguf> files;
  for (const auto& entry : cases) {
    const std::string quant = entry[0], tensor = entry[1];
    const std::string stem = model + "-" + quant;
    if (!files.count(stem)) check(open_gguf(fixtures + "/" + model + "/" + stem + ".gguf", &files[stem]), "open " + stem);
    const auto found = files[stem].tensors.find(tensor);
    if (found == files[stem].tensors.end()) {
      check(false, stem + " has no " + tensor);
      continue;
    }
    const GgufTensor& t = found->second;
    const DType type = dtype_of_ggml(t.type);
    std::vector<uint8_t> expected;
    check(read_file(dir + stem + "." + tensor + ".rows0-7.bin", &expected), "read ggml rows of " + stem + " " + tensor);
    const int64_t cols = t.dims[0];
    std::vector<float> row(static_cast<size_t>(cols));
    int equal_rows = 0;
    for (int r = 0; r < 8; r++) {
      dequantize_row(type, t.data + r * dtype_row_bytes(type, cols), row.data(), cols);
      if (expected.size() >= (r + 1) * cols * sizeof(float)
          && std::memcmp(row.data(), expected.data() + r * cols * sizeof(float), cols * sizeof(float)) == 0) {
        equal_rows++;
      }
    }
    std::printf("dequant %s %s (%s): %d/8 rows bit-identical to ggml\n", stem.c_str(), tensor.c_str(), dtype_name(type),
                equal_rows);
    check(equal_rows == 8, "dequantize_row " + stem + " " + tensor);
  }
}

// ---- (b) quantize_row against llama-quantize's files ----

void check_quantize(const std::string& fixtures, const std::string& model) {
  const std::string base = fixtures + "/" + model + "/" + model + "-";
  Gguf f32;
  if (!open_gguf(base + "f32.gguf", &f32)) {
    check(false, "open the F32 GGUF");
    return;
  }
  for (const char* quant : {"q8_0", "q4_0", "q4_k_m", "q6_k"}) {
    Gguf q;
    if (!std::ifstream(base + quant + ".gguf")) continue;  // not every model has every quant
    if (!open_gguf(base + quant + ".gguf", &q)) {
      check(false, std::string("open ") + quant);
      continue;
    }
    std::map<std::string, std::pair<int, int>> per_type;  // type → (identical tensors, tensors)
    for (const auto& [name, t] : q.tensors) {
      const DType type = dtype_of_ggml(t.type);
      if (!dtype_is_quantized(type)) continue;
      const GgufTensor& source = f32.tensors.at(name);
      const int64_t cols = t.dims[0];
      int64_t rows = 1;
      for (size_t d = 1; d < t.dims.size(); d++) rows *= t.dims[d];
      const size_t row_bytes = dtype_row_bytes(type, cols);
      std::vector<uint8_t> mine(row_bytes);
      int64_t differing_rows = 0;
      for (int64_t r = 0; r < rows; r++) {
        quantize_row(type, reinterpret_cast<const float*>(source.data) + r * cols, mine.data(), cols);
        if (std::memcmp(mine.data(), t.data + r * row_bytes, row_bytes) != 0) differing_rows++;
      }
      auto& count = per_type[dtype_name(type)];
      count.second++;
      if (differing_rows == 0) count.first++;
      else std::printf("quantize %s %s (%s): %lld of %lld rows differ\n", quant, name.c_str(), dtype_name(type),
                       static_cast<long long>(differing_rows), static_cast<long long>(rows));
      check(differing_rows == 0, std::string("quantize_row ") + quant + " " + name);
    }
    for (const auto& [type, count] : per_type) {
      std::printf("quantize %s-%s: %s %d/%d tensors byte-identical to llama-quantize\n", model.c_str(), quant,
                  type.c_str(), count.first, count.second);
    }
  }
}

// ---- (c) the integer matmul ----

using QuantFn = void (*)(float*, int64_t, const void*, int64_t, const SimdQuantWeights&, int, int64_t, int64_t);

struct QuantMatrix {
  DType type;
  int64_t rows, cols;
  std::vector<uint8_t> bytes;
  std::vector<float> dequantized;
};

QuantMatrix make_matrix(DType type, int64_t rows, int64_t cols, std::mt19937& rng) {
  QuantMatrix m{type, rows, cols, std::vector<uint8_t>(rows * dtype_row_bytes(type, cols)),
                std::vector<float>(static_cast<size_t>(rows * cols))};
  std::normal_distribution<float> normal(0.0f, 0.1f);
  std::vector<float> row(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; r++) {
    for (auto& v : row) v = normal(rng);
    if (r % 5 == 3) row[0] = 2.5f;  // an outlier: blocks with one large value
    quantize_row(type, row.data(), m.bytes.data() + r * dtype_row_bytes(type, cols), cols);
    if (type == DType::Q8_0 && r % 7 == 2) {  // −128: a level ggml's quantizer never writes, which a file may hold
      BlockQ8_0* blocks = reinterpret_cast<BlockQ8_0*>(m.bytes.data() + r * dtype_row_bytes(type, cols));
      for (int64_t b = 0; b < cols / kQk8_0; b += 3) blocks[b].qs[b % kQk8_0] = -128;
    }
    dequantize_row(type, m.bytes.data() + r * dtype_row_bytes(type, cols), m.dequantized.data() + r * cols, cols);
  }
  return m;
}

bool k_type(DType type) { return dtype_block_elements(type) == kQkK; }

int64_t activation_row_bytes(DType type, int64_t k) { return quant_activation_bytes(k_type(type), k); }

std::vector<uint8_t> quantize_activations(DType type, const std::vector<float>& x, int64_t n, int64_t k) {
  const int64_t row = activation_row_bytes(type, k);
  std::vector<uint8_t> out(static_cast<size_t>(n * row), 0);
  for (int64_t i = 0; i < n; i++) quantize_activation_row(x.data() + i * k, out.data() + i * row, k, k_type(type));
  return out;
}

std::vector<float> run_kernel(QuantFn fn, const QuantMatrix& w, const std::vector<uint8_t>& xq, int64_t n, int chunks,
                              const uint8_t* packed = nullptr) {
  std::vector<float> out(static_cast<size_t>(n * w.rows), NAN);
  const int64_t row_bytes = static_cast<int64_t>(dtype_row_bytes(w.type, w.cols));
  const SimdQuantWeights weights{packed != nullptr ? packed : w.bytes.data(), static_cast<int>(w.type), row_bytes,
                                 w.cols / dtype_block_elements(w.type), packed != nullptr};
  fn(out.data(), w.rows, xq.data(), activation_row_bytes(w.type, w.cols), weights, chunks, n, w.rows);
  return out;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// A kernel's plain-row groups (quant_plain_impl.h: 16 rows on AVX-512; quant_plain_avx2_impl.h: 8 on
// AVX2) for every count of activation rows it takes in one pass and their leftovers (n = 1 .. 15),
// whole groups (1, 2, 3) and rows past the last group (2 groups + 5; fewer rows than a group), in 1,
// 2 and 4 k-chunks, against the scalar kernel bit for bit.
void check_plain_groups(DType type, std::mt19937& rng, QuantFn fn, const char* name, int64_t group) {
  const int64_t cols = 1024;
  const QuantMatrix all = make_matrix(type, 3 * group, cols, rng);
  std::vector<float> x(static_cast<size_t>(15 * cols));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (auto& v : x) v = normal(rng);
  const std::vector<uint8_t> xq = quantize_activations(type, x, 15, cols);
  for (int64_t rows : {group, 2 * group, 3 * group, 2 * group + 5, group - 3}) {
    QuantMatrix w{type, rows, cols,
                  std::vector<uint8_t>(all.bytes.begin(), all.bytes.begin() + rows * dtype_row_bytes(type, cols)), {}};
    bool equal = true;
    for (int chunks : {1, 2, 4}) {
      const std::vector<float> reference = run_kernel(matmul_quant_scalar, w, xq, 15, chunks);
      for (int64_t n = 1; n <= 15; n++) {
        const std::vector<float> got = run_kernel(fn, w, xq, n, chunks);
        equal = equal && same_bits(got, std::vector<float>(reference.begin(), reference.begin() + n * rows));
      }
    }
    check(equal, std::string(dtype_name(type)) + " " + name + " plain rows=" + std::to_string(rows)
                     + " n=1..15 chunks 1, 2, 4 equal scalar");
  }
}

void check_matmul() {
  const DType types[] = {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};
  const struct {
    const char* name;
    QuantFn fn;
    int isa;
  } isas[] = {{"scalar", matmul_quant_scalar, kCpuIsaScalar}, {"avx2", matmul_quant_avx2, kCpuIsaAvx2},
              {"avx512", matmul_quant_avx512, kCpuIsaAvx512}, {"amx", matmul_quant_amx, kCpuIsaAvx512}};
  const int best_isa = detect_cpu_isa();
  __builtin_cpu_init();
  const bool vnni = __builtin_cpu_supports("avx512vnni");
  const bool amx = vnni && amx_support().int8;
  std::mt19937 rng(7);
  for (DType type : types) {
    // 38 rows: two interleaved groups of 16 and 6 plain rows (four, then two single ones).
    const int64_t rows = 38, cols = 1024;
    const QuantMatrix w = make_matrix(type, rows, cols, rng);
    std::vector<uint8_t> packed(w.bytes.size());
    quant_pack(type, w.bytes.data(), packed.data(), rows, cols);
    bool round_trip = true;
    std::vector<uint8_t> plain_row(dtype_row_bytes(type, cols));
    for (int64_t r = 0; r < rows; r++) {
      quant_unpack_row(type, packed.data(), rows, cols, r, plain_row.data());
      round_trip = round_trip && std::memcmp(plain_row.data(), w.bytes.data() + r * plain_row.size(), plain_row.size()) == 0;
    }
    check(round_trip, std::string(dtype_name(type)) + " interleaved rows unpack to the plain rows");
    const int64_t max_n = 64;
    std::vector<float> x(static_cast<size_t>(max_n * cols));
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (auto& v : x) v = normal(rng);
    const std::vector<uint8_t> xq = quantize_activations(type, x, max_n, cols);
    const std::string tname = dtype_name(type);
    for (int chunks : {1, 2, 4}) {
      const std::vector<float> reference = run_kernel(matmul_quant_scalar, w, xq, max_n, chunks);
      // Within the bound of activation quantization of the f32 product of the dequantized weights:
      // a value's rounding is at most 0.57·amax/127 (f16 scales) with one plane of Q8_K levels; Q8_0 /
      // Q4_0's activations take a step kResidualScale times finer than that.
      int outside = 0;
      const int64_t block = k_type(type) ? kQkK : kQk8_0;
      for (int64_t i = 0; i < max_n; i++) {
        for (int64_t r = 0; r < rows; r++) {
          double exact = 0, bound = 0;
          for (int64_t b0 = 0; b0 < cols; b0 += block) {
            double amax = 0;
            for (int64_t j = b0; j < b0 + block; j++) amax = std::max(amax, std::fabs(double(x[i * cols + j])));
            for (int64_t j = b0; j < b0 + block; j++) {
              const double wv = w.dequantized[r * cols + j];
              exact += wv * x[i * cols + j];
              const double rounding = k_type(type) ? 0.57 * amax / 127 : 0.57 * amax / 127 / kResidualScale;
              bound += std::fabs(wv) * (rounding + 1e-6 * std::fabs(double(x[i * cols + j])));
            }
          }
          if (std::fabs(reference[i * rows + r] - exact) > bound + 1e-5) outside++;
        }
      }
      check(outside == 0, tname + " scalar matmul within the activation-quantization bound (chunks "
          + std::to_string(chunks) + "): " + std::to_string(outside) + " outside");
      for (const auto& isa : isas) {
        if (isa.isa > best_isa || (isa.isa == kCpuIsaAvx512 && !vnni) || (isa.fn == matmul_quant_amx && !amx)) {
          std::printf("%s: not supported by this CPU, skipped\n", isa.name);
          continue;
        }
        for (int64_t n : {1, 3, 7, 16, 40, 64}) {  // AMX: whole and partial tiles of 16 rows
          const std::vector<float> got = run_kernel(isa.fn, w, xq, n, chunks);
          check(same_bits(got, std::vector<float>(reference.begin(), reference.begin() + n * rows)),
                tname + " " + isa.name + " n=" + std::to_string(n) + " chunks=" + std::to_string(chunks)
                    + " equals scalar");
        }
        if (isa.isa >= kCpuIsaAvx2) {
          for (int64_t n : {1, 3, 7, 16, 40, 64}) {
            const std::vector<float> got = run_kernel(isa.fn, w, xq, n, chunks, packed.data());
            check(same_bits(got, std::vector<float>(reference.begin(), reference.begin() + n * rows)),
                  tname + " " + isa.name + " interleaved n=" + std::to_string(n) + " chunks=" + std::to_string(chunks)
                      + " equals scalar");
          }
        }
        // One row at a time gives the rows of the batch of 64.
        bool rows_equal = true;
        for (int64_t i = 0; i < max_n; i++) {
          const std::vector<uint8_t> one(xq.begin() + i * activation_row_bytes(type, cols),
                                         xq.begin() + (i + 1) * activation_row_bytes(type, cols));
          const std::vector<float> got = run_kernel(isa.fn, w, one, 1, chunks);
          rows_equal = rows_equal && std::memcmp(got.data(), reference.data() + i * rows, rows * sizeof(float)) == 0;
        }
        check(rows_equal, tname + " " + isa.name + " single rows equal the batch's (chunks " + std::to_string(chunks) + ")");
      }
    }
    if (best_isa >= kCpuIsaAvx2) check_plain_groups(type, rng, matmul_quant_avx2, "avx2", 8);
    if (best_isa >= kCpuIsaAvx512 && vnni) check_plain_groups(type, rng, matmul_quant_avx512, "avx512", 16);
    // The backend: threads, tiles, activation quantization and k-chunks, against the scalar kernel.
    for (int isa = kCpuIsaScalar; isa <= best_isa; isa++) {
      for (int threads : {1, 2}) {
        auto backend = make_cpu_backend("cpu", threads, int64_t(1) << 30, isa);
        TensorView view;
        view.name = "w";
        view.dtype = type;
        view.shape = {rows, cols};
        view.data = w.bytes.data();
        view.bytes = w.bytes.size();
        Tensor tensor = backend->upload_weight(view, rows, cols);
        for (int chunks : {1, 2}) {
          const std::vector<float> reference = run_kernel(matmul_quant_scalar, w, xq, max_n, chunks);
          for (int n : {1, 3, 7, 40, 64}) {
            std::vector<float> out(static_cast<size_t>(n * rows), NAN);
            backend->matmul_k_chunks(out.data(), x.data(), tensor, n, chunks);
            check(same_bits(out, std::vector<float>(reference.begin(), reference.begin() + n * rows)),
                  tname + " backend isa " + std::to_string(isa) + " threads " + std::to_string(threads) + " n="
                      + std::to_string(n) + " chunks=" + std::to_string(chunks) + " equals the scalar kernel");
          }
        }
        // Tensor parallelism: two column halves (whole blocks), each its own tensor, multiplied apart and
        // added in pairwise_sum's order, equal the whole weight in 2 k-chunks.
        {
          const size_t row_bytes = dtype_row_bytes(type, cols), half_bytes = row_bytes / 2;
          std::vector<uint8_t> halves[2] = {std::vector<uint8_t>(rows * half_bytes), std::vector<uint8_t>(rows * half_bytes)};
          std::vector<float> x_half[2] = {std::vector<float>(max_n * cols / 2), std::vector<float>(max_n * cols / 2)};
          std::vector<float> part[2];
          for (int h = 0; h < 2; h++) {
            for (int64_t r = 0; r < rows; r++) {
              std::memcpy(halves[h].data() + r * half_bytes, w.bytes.data() + r * row_bytes + h * half_bytes, half_bytes);
            }
            for (int64_t i = 0; i < max_n; i++) {
              std::memcpy(x_half[h].data() + i * cols / 2, x.data() + i * cols + h * cols / 2, cols / 2 * sizeof(float));
            }
            TensorView half_view = view;
            half_view.data = halves[h].data();
            half_view.bytes = halves[h].size();
            Tensor half = backend->upload_weight(half_view, rows, cols / 2);
            part[h].assign(static_cast<size_t>(max_n * rows), NAN);
            backend->matmul(part[h].data(), x_half[h].data(), half, static_cast<int>(max_n));
            backend->release_weight(half);
          }
          std::vector<float> whole(static_cast<size_t>(max_n * rows), NAN), combined(whole.size());
          backend->matmul_k_chunks(whole.data(), x.data(), tensor, static_cast<int>(max_n), 2);
          for (size_t i = 0; i < whole.size(); i++) {
            const float pair[2] = {part[0][i], part[1][i]};
            combined[i] = pairwise_sum(pair, 1, 2);
          }
          check(same_bits(whole, combined), tname + " backend isa " + std::to_string(isa) + " threads "
              + std::to_string(threads) + ": two column shards added pairwise equal 2 k-chunks");
        }
        // embed: a token's row, dequantized (from the interleaved copy on AVX-512 VNNI).
        std::vector<float> row(static_cast<size_t>(cols));
        for (int32_t token : {5, 17, 36}) {
          backend->embed(row.data(), tensor, &token, 1);
          check(std::memcmp(row.data(), w.dequantized.data() + token * cols, cols * sizeof(float)) == 0,
                tname + " embed dequantizes row " + std::to_string(token));
        }
        backend->release_weight(tensor);
      }
    }
  }
  // The AVX2 and AVX-512 activation quantizers write the bytes of the generic one (ties, zeros, signs,
  // tiny scales included).
  const struct {
    const char* name;
    void (*fn)(const float*, uint8_t*, int64_t, bool);
    bool runs;
  } quantizers[] = {{"AVX2", quantize_activation_row_avx2, best_isa >= kCpuIsaAvx2},
                    {"AVX-512", quantize_activation_row_avx512, best_isa >= kCpuIsaAvx512 && vnni}};
  for (const auto& quantizer : quantizers) {
    if (!quantizer.runs) {
      std::printf("%s activation quantizer: not supported by this CPU, skipped\n", quantizer.name);
      continue;
    }
    const int64_t k = 1024;
    std::vector<float> x(static_cast<size_t>(k));
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (int trial = 0; trial < 4; trial++) {
      for (auto& v : x) v = normal(rng);
      if (trial == 1) {  // exact halves after scaling: the largest magnitude 127 makes the scale 1
        for (int64_t j = 0; j < k; j++) x[j] = (j % 32 == 0 ? -127.0f : static_cast<float>(j % 7) - 3.5f);
      }
      if (trial == 2) {
        for (int64_t j = 0; j < k; j++) x[j] = j < 300 ? 0.0f : x[j];
      }
      if (trial == 3) {  // scales at and below f16's smallest: plane 0's d rounds to 0 or a subnormal
        for (int64_t j = 0; j < k; j++) x[j] *= j < 512 ? 1e-9f : 1e-6f;
      }
      for (bool kt : {false, true}) {
        std::vector<uint8_t> got(static_cast<size_t>(quant_activation_bytes(kt, k)), 0);
        const std::vector<uint8_t> generic = quantize_activations(kt ? DType::Q4_K : DType::Q8_0, x, 1, k);
        quantizer.fn(x.data(), got.data(), k, kt);
        check(generic.size() == got.size() && std::memcmp(generic.data(), got.data(), got.size()) == 0,
              std::string(quantizer.name) + " activation quantizer (" + (kt ? "q8_k" : "q8_0") + ", case "
                  + std::to_string(trial) + ") writes the generic bytes");
      }
    }
  }
  // Quantizer edge cases: all-zero blocks, and Q8_0 / Q4_0 of a known block.
  std::vector<float> zeros(256, 0.0f);
  for (DType type : types) {
    std::vector<uint8_t> out(dtype_row_bytes(type, 256), 0xAB);
    quantize_row(type, zeros.data(), out.data(), 256);
    std::vector<float> back(256, 1.0f);
    dequantize_row(type, out.data(), back.data(), 256);
    bool all_zero = true;
    for (float v : back) all_zero = all_zero && v == 0.0f;
    check(all_zero, std::string(dtype_name(type)) + " of zeros dequantizes to zeros");
  }
}

// ---- --bench: matvec timings ----

void bench() {
  const DType types[] = {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};
  const struct {
    const char* name;
    QuantFn fn;
  } isas[] = {{"scalar", matmul_quant_scalar}, {"avx2", matmul_quant_avx2}, {"avx512", matmul_quant_avx512},
              {"amx", matmul_quant_amx}};
  const int best_isa = detect_cpu_isa();
  __builtin_cpu_init();
  const bool vnni = __builtin_cpu_supports("avx512vnni");
  const bool amx = vnni && amx_support().int8;
  const char* only = std::getenv("QUANT_BENCH_TYPES");
  std::mt19937 rng(1);
  for (DType type : types) {
    if (only != nullptr && std::string(only).find(dtype_name(type)) == std::string::npos) continue;
    for (auto shape : {std::pair<int64_t, int64_t>{1024, 3072}, std::pair<int64_t, int64_t>{3072, 1024}}) {
      const QuantMatrix w = make_matrix(type, shape.first, shape.second, rng);
      std::vector<float> x(static_cast<size_t>(64 * shape.second), 0.5f);
      for (size_t i = 0; i < x.size(); i++) x[i] = std::sin(float(i));
      std::vector<uint8_t> packed(w.bytes.size());
      quant_pack(type, w.bytes.data(), packed.data(), shape.first, shape.second);
      for (int variant = 0; variant < 6; variant++) {
        // 3: avx2, 4: avx512, 5: amx, interleaved
        const auto& isa = isas[variant < 3 ? variant : variant == 5 ? 3 : variant - 2];
        const uint8_t* layout = variant >= 3 ? packed.data() : nullptr;
        if (variant == 0 && std::getenv("QUANT_BENCH_SCALAR") == nullptr) continue;
        if (variant == 5 && !amx) continue;
        if ((variant == 2 || variant == 4) && (best_isa < kCpuIsaAvx512 || !vnni)) continue;
        for (int64_t n : {int64_t(1), int64_t(8), int64_t(48)}) {
          const std::vector<uint8_t> xq = quantize_activations(type, x, n, shape.second);
          // The fastest of many calls: the machine is shared, and the best run is the kernel's own speed.
          double best = 1e9, total = 0;
          while (total < 0.3) {
            const auto start = std::chrono::steady_clock::now();
            run_kernel(isa.fn, w, xq, n, 1, layout);
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            best = std::min(best, seconds);
            total += seconds;
          }
          const double ms = best * 1e3;
          std::printf("%-5s %5lldx%-5lld %-6s n=%-3lld %8.3f ms  %6.2f GB/s  %7.1f GMAC/s\n", dtype_name(type),
                      (long long)shape.first, (long long)shape.second, variant == 5 ? "amxi" : variant == 4 ? "avx512i" : variant == 3 ? "avx2i" : isa.name, (long long)n, ms,
                      w.bytes.size() / (ms * 1e-3) / 1e9, double(n) * shape.first * shape.second / (ms * 1e-3) / 1e9);
        }
      }
    }
  }
}

// matmul_quant_avx2 on a 16384 × 4096 weight, larger than the caches (decode streams it from
// memory), plain rows against the interleaved layout, 1 thread. The rows are 1024 random ones
// repeated: quantizing 16384 would take minutes, and the bytes do not change the speed.
void bench_stream() {
  const char* only = std::getenv("QUANT_BENCH_TYPES");
  std::mt19937 rng(4);
  for (DType type : {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
    if (only != nullptr && std::string(only).find(dtype_name(type)) == std::string::npos) continue;
    const int64_t rows = 16384, cols = 4096, distinct = 1024;
    const QuantMatrix some = make_matrix(type, distinct, cols, rng);
    QuantMatrix w{type, rows, cols, std::vector<uint8_t>(rows * dtype_row_bytes(type, cols)), {}};
    for (int64_t r = 0; r < rows; r += distinct) {
      std::memcpy(w.bytes.data() + r * dtype_row_bytes(type, cols), some.bytes.data(), some.bytes.size());
    }
    std::vector<uint8_t> packed(w.bytes.size());
    quant_pack(type, w.bytes.data(), packed.data(), rows, cols);
    std::vector<float> x(static_cast<size_t>(8 * cols));
    for (size_t i = 0; i < x.size(); i++) x[i] = std::sin(float(i));
    for (int interleaved = 0; interleaved < 2; interleaved++) {
      for (int64_t n : {int64_t(1), int64_t(8)}) {
        const std::vector<uint8_t> xq = quantize_activations(type, x, n, cols);
        double best = 1e9, total = 0;
        while (total < 1.0) {
          const auto start = std::chrono::steady_clock::now();
          run_kernel(matmul_quant_avx2, w, xq, n, 1, interleaved ? packed.data() : nullptr);
          const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          best = std::min(best, seconds);
          total += seconds;
        }
        const double ms = best * 1e3;
        std::printf("stream %-5s %lldx%lld %-5s n=%-2lld %8.3f ms  %6.2f GB/s  %7.1f GMAC/s\n", dtype_name(type),
                    (long long)rows, (long long)cols, interleaved ? "avx2i" : "avx2", (long long)n, ms,
                    w.bytes.size() / (ms * 1e-3) / 1e9, double(n) * rows * cols / (ms * 1e-3) / 1e9);
      }
    }
  }
}

// The backend on a weight larger than the caches (decode streams it from memory), 1 and 2 threads.
void bench_backend() {
  std::mt19937 rng(2);
  for (DType type : {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
    const int64_t rows = 16384, cols = 4096;
    const QuantMatrix w = make_matrix(type, rows, cols, rng);
    std::vector<float> x(static_cast<size_t>(512 * cols));
    for (size_t i = 0; i < x.size(); i++) x[i] = std::sin(float(i));
    for (int threads : {1, 2}) {
      auto backend = make_cpu_backend("cpu", threads, int64_t(8) << 30);
      TensorView view;
      view.name = "w";
      view.dtype = type;
      view.data = w.bytes.data();
      view.bytes = w.bytes.size();
      Tensor tensor = backend->upload_weight(view, rows, cols);
      for (int n : {1, 64}) {
        std::vector<float> out(static_cast<size_t>(n * rows));
        double best = 1e9, total = 0;
        while (total < 0.5) {
          const auto start = std::chrono::steady_clock::now();
          backend->matmul(out.data(), x.data(), tensor, n);
          const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          best = std::min(best, seconds);
          total += seconds;
        }
        const double ms = best * 1e3;
        std::printf("backend %-5s %lldx%lld threads=%d n=%-3d %8.3f ms  %6.2f GB/s  %7.1f GMAC/s\n", dtype_name(type),
                    (long long)rows, (long long)cols, threads, n, ms, w.bytes.size() / (ms * 1e-3) / 1e9,
                    double(n) * rows * cols / (ms * 1e-3) / 1e9);
      }
      backend->release_weight(tensor);
    }
  }
}


// The backend's prefill: one Qwen3-0.6B-shaped layer's matmuls (q, k, v, o, gate, up, down) on a
// 512-row batch, 1 and 2 threads; the best of several runs, in GMAC/s. QUANT_BENCH_TYPES picks
// types by name (e.g. "q8_0,q4_k").
void bench_prefill() {
  std::mt19937 rng(3);
  const std::pair<int64_t, int64_t> shapes[] = {{2048, 1024}, {1024, 1024}, {1024, 1024}, {1024, 2048},
                                                 {3072, 1024}, {3072, 1024}, {1024, 3072}};
  const char* only = std::getenv("QUANT_BENCH_TYPES");
  const int n = 512;
  for (DType type : {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
    if (only != nullptr && std::string(only).find(dtype_name(type)) == std::string::npos) continue;
    std::vector<QuantMatrix> ws;
    for (auto shape : shapes) ws.push_back(make_matrix(type, shape.first, shape.second, rng));
    std::vector<float> x(static_cast<size_t>(n * 3072));
    for (size_t i = 0; i < x.size(); i++) x[i] = std::sin(float(i));
    for (int threads : {1, 2}) {
      auto backend = make_cpu_backend("cpu", threads, int64_t(8) << 30);
      std::vector<Tensor> tensors;
      double macs = 0;
      for (size_t i = 0; i < ws.size(); i++) {
        TensorView view;
        view.name = "w";
        view.dtype = type;
        view.data = ws[i].bytes.data();
        view.bytes = ws[i].bytes.size();
        tensors.push_back(backend->upload_weight(view, shapes[i].first, shapes[i].second));
        macs += double(n) * shapes[i].first * shapes[i].second;
      }
      std::vector<float> out(static_cast<size_t>(n * 3072));
      double best = 1e9, total = 0;
      while (total < 3.0) {
        const auto start = std::chrono::steady_clock::now();
        for (const Tensor& t : tensors) backend->matmul(out.data(), x.data(), t, n);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        best = std::min(best, seconds);
        total += seconds;
      }
      std::printf("prefill %-5s n=%d threads=%d %8.3f ms/layer  %7.1f GMAC/s\n", dtype_name(type), n, threads,
                  best * 1e3, macs / best / 1e9);
      for (Tensor& t : tensors) backend->release_weight(t);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--bench") {
    bench();
    return 0;
  }
  if (argc > 1 && std::string(argv[1]) == "--bench-stream") {
    bench_stream();
    return 0;
  }
  if (argc > 1 && std::string(argv[1]) == "--bench-prefill") {
    bench_prefill();
    return 0;
  }
  if (argc > 1 && std::string(argv[1]) == "--bench-backend") {
    bench_backend();
    return 0;
  }
  const std::string fixtures = argc > 1 ? argv[1] : "-";
  try {
    if (fixtures != "-") {
      check_dequant(fixtures);
      for (const char* model : {"qwen3-tiny", "qwen3moe-tiny", "llama31-tiny"}) check_quantize(fixtures, model);
    } else {
      std::printf("fixtures not given: dequantization and quantizer identity checks skipped\n");
    }
    check_matmul();
  } catch (const std::exception& e) {
    std::printf("FAIL exception: %s\n", e.what());
    g_failed++;
  }
  std::printf("%d checks, %d failed\n", g_checks, g_failed);
  return g_failed == 0 ? 0 : 1;
}
