// cpu_backend.cpp — the CPU backend: memory budget accounting, buffers, and the forward-pass ops
// spread over the device's thread pool. Matmul and attention run the SIMD kernels of cpu_simd.h
// for the device's CpuIsa (AMX, AVX-512, AVX2 or scalar, picked at run time); bf16/f16 weights stay in
// their dtype and are widened in registers (on AVX2, bf16 from the panel layout, cpu_simd.h). Matmul
// is a blocked GEMM: tasks are (weight rows × batch rows) tiles, so in prefill each weight tile is
// read once per 48 prompt rows. Block-quantized
// weights (Q8_0 ... Q6_K) are multiplied as integers against activations quantized once per matmul
// (cpu_simd.h's matmul_quant), interleaved 16 rows at a time on AVX2 / AVX-512 (quant_repack.h),
// read in place on AMX (Q8_0, Q4_K, Q6_K) and on the scalar path.
#include <emmintrin.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "backend.h"
#include "cpu_kernels.h"
#include "cpu_simd.h"
#include "hybrid_kernels.h"
#include "error.h"
#include "moe_math.h"
#include "quant.h"
#include "quant_repack.h"
#include "thread_pool.h"
#include "transpose_words.h"

namespace cx {
namespace {

constexpr size_t kMapThreshold = 1 << 16;  // buffers this large come from mmap (lazily zeroed pages)
constexpr size_t kHugePageBytes = 2 << 20;
constexpr int64_t kRepackTaskBytes = 256 << 10;  // destination bytes one repack task writes

bool has_avx512_vnni();

class CpuBackend final : public Backend {
 public:
  CpuBackend(const std::string& device_name, int threads, int64_t budget, const SimdKernels& kernels, int isa)
      : pool_(threads, device_name), budget_(budget), scratch_(static_cast<size_t>(pool_.size())),
        k_(kernels), isa_(isa), interleave_quantized_(kernels.isa >= kCpuIsaAvx2),
        avx512_vnni_(kernels.isa == kCpuIsaAvx512 && has_avx512_vnni()),
        amx_bf16_(isa == kCpuIsaAmx && amx_support().bf16), amx_int8_(isa == kCpuIsaAmx && amx_support().int8),
        matmul_quant_(kernels.isa == kCpuIsaAvx512 && !avx512_vnni_ ? matmul_quant_avx2 : kernels.matmul_quant) {}

  int kernel_isa() const override { return isa_; }

  MemoryInfo memory() const override { return {budget_, budget_ - used_}; }

  void reserve(int64_t bytes, const std::string& what) override {
    if (bytes > budget_ - used_) {
      throw Error(CX_ERR_OUT_OF_MEMORY, what + " needs " + format_bytes(bytes) + " but the device has "
          + format_bytes(budget_ - used_) + " free of its " + format_bytes(budget_) + " budget");
    }
    used_ += bytes;
  }

  void unreserve(int64_t bytes) override { used_ = std::max<int64_t>(0, used_ - bytes); }

  void* allocate(size_t bytes) override {
    if (bytes == 0) bytes = 1;
    if (bytes >= kMapThreshold) {
      void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (p == MAP_FAILED) throw Error(CX_ERR_OUT_OF_MEMORY, "cannot map "
          + format_bytes(static_cast<int64_t>(bytes)));
      return p;
    }
    void* p = std::calloc(1, bytes);
    if (p == nullptr) throw Error(CX_ERR_OUT_OF_MEMORY, "cannot allocate "
        + format_bytes(static_cast<int64_t>(bytes)));
    return p;
  }

  void deallocate(void* pointer, size_t bytes) override {
    if (pointer == nullptr) return;
    if (bytes == 0) bytes = 1;
    if (bytes >= kMapThreshold) ::munmap(pointer, bytes);
    else std::free(pointer);
  }

  void copy_to_device(void* device, const void* host, size_t bytes) override { std::memcpy(device, host, bytes); }
  void copy_to_host(void* host, const void* device, size_t bytes) override { std::memcpy(host, device, bytes); }
  void copy_within(void* to, const void* from, size_t bytes) override { std::memcpy(to, from, bytes); }

  Tensor upload_weight(const TensorView& view, int64_t rows, int64_t cols) override {
    const Tensor tensor = describe(view, rows, cols);
    const Layout layout = layout_for(tensor);
    return layout == Layout::AsIs ? as_is(view, tensor) : repack_now(view, tensor, layout);
  }

  // Every layout's kernels also read plain rows, so a weight can serve from the mapping while its
  // copy is built (the same bits either way: quant_check, matmul_check).
  Tensor map_weight(const TensorView& view, int64_t rows, int64_t cols) override {
    Tensor tensor = describe(view, rows, cols);
    const Layout layout = layout_for(tensor);
    if (layout == Layout::AsIs) return as_is(view, tensor);
    if (!aligned(view)) return repack_now(view, tensor, layout);
    tensor.data = view.data;
    tensor.deferred = true;
    return tensor;
  }

  bool repack_part(Tensor& tensor, RepackCursor& cursor, size_t bytes) override {
    if (!tensor.deferred) return true;
    const Layout layout = layout_for(tensor);
    const RepackTasks plan = repack_tasks(layout, tensor);
    if (cursor.copy == nullptr) {
      cursor.copy = allocate(tensor.bytes());
      advise_huge_pages(cursor.copy, tensor.bytes());
    }
    const int64_t count = std::min(plan.tasks - cursor.done, std::max<int64_t>(1, static_cast<int64_t>(bytes)
        / plan.task_bytes));
    const auto* src = static_cast<const char*>(tensor.data);
    char* dst = static_cast<char*>(cursor.copy);
    pool_.run(count, [&](int64_t t, int) { repack_task(layout, tensor, plan, src, dst, cursor.done + t); });
    cursor.done += count;
    if (cursor.done < plan.tasks) return false;
    tensor = adopt(tensor, cursor.copy, layout);
    cursor = RepackCursor();
    return true;
  }

  void drop_repack(const Tensor& tensor, RepackCursor& cursor) override {
    if (cursor.copy != nullptr) deallocate(cursor.copy, tensor.bytes());
    cursor = RepackCursor();
  }

  // Rows are gathered one at a time (embed), so the file's layout serves as it is: no copy.
  Tensor upload_table(const TensorView& view, int64_t rows, int64_t cols) override {
    const size_t element = dtype_is_quantized(view.dtype) ? 1 : dtype_size(view.dtype);
    const bool aligned = element > 0 && reinterpret_cast<uintptr_t>(view.data) % element == 0;
    if (!aligned || view.bytes != static_cast<size_t>(rows) * dtype_row_bytes(view.dtype, cols)) {
      return upload_weight(view, rows, cols);
    }
    Tensor tensor;
    tensor.dtype = view.dtype;
    tensor.rows = rows;
    tensor.cols = cols;
    tensor.data = view.data;
    return tensor;
  }

  void release_weight(Tensor& tensor) override {
    if (tensor.owned) deallocate(const_cast<void*>(tensor.data), tensor.bytes());
    tensor = Tensor();
  }

  void embed(float* out, const Tensor& table, const int32_t* tokens, int n) override {
    if (dtype_is_quantized(table.dtype)) {
      const size_t row_bytes = dtype_row_bytes(table.dtype, table.cols);
      if (embed_row_.size() < row_bytes) embed_row_.resize(row_bytes);
      for (int i = 0; i < n; i++) {
        const uint8_t* row = static_cast<const uint8_t*>(table.data) + static_cast<size_t>(tokens[i]) * row_bytes;
        if (table.packed) {
          quant_unpack_row(table.dtype, static_cast<const uint8_t*>(table.data), table.rows, table.cols, tokens[i],
                           embed_row_.data());
          row = embed_row_.data();
        }
        dequantize_row(table.dtype, row, out + static_cast<size_t>(i) * table.cols, table.cols);
      }
      return;
    }
    for (int i = 0; i < n; i++) widen_row(table, tokens[i], out + static_cast<size_t>(i) * table.cols);
  }

  void rmsnorm(float* out, const float* x, const float* weight, int rows, int dim, float eps) override {
    parallel(rows, static_cast<int64_t>(rows) * dim, [&](int64_t r, int) {
      const float* in = x + r * dim;
      float* o = out + r * dim;
      const float scale = rms_scale(k_.dot(in, in, dim), dim, eps);
      for (int j = 0; j < dim; j++) o[j] = rmsnorm_element(in[j], scale, weight[j]);
    });
  }

  void matmul(float* out, const float* x, const Tensor& w, int n) override { matmul_k_chunks(out, x, w, n, 1); }

  void matmul_k_chunks(float* out, const float* x, const Tensor& w, int n, int chunks) override {
    if (dtype_is_quantized(w.dtype)) return matmul_quantized(out, x, w, n, chunks);
    const int64_t d = w.rows;
    const int64_t k = w.cols;
    if (amx_bf16_ && w.dtype == DType::BF16 && !w.packed && k / chunks % kAmxCols == 0) {
      return matmul_amx(out, x, w, n, chunks);
    }
    const int dtype = w.dtype == DType::F32 ? kSimdF32 : w.dtype == DType::BF16 ? kSimdBf16 : kSimdF16;
    for_each_tile(n, d, k, w.panel ? kPanelRows : kPackRows, [&](int64_t i0, int64_t rows_x, int64_t r0,
                                                                 int64_t rows_w) {
      const SimdWeights block{static_cast<const char*>(w.data) + r0 * k * simd_dtype_bytes(dtype), dtype, w.packed,
                              w.panel, k};
      k_.matmul(out + i0 * d + r0, d, x + i0 * k, k, block, chunks, rows_x, rows_w);
    });
  }

  // Runs body(i0, rows_x, r0, rows_w) over (batch rows × weight rows) tiles on the pool. Batch tiles
  // of `batch_tile` rows (48: 8 register blocks of 6; AMX: 64, two 2 × 2 tile blocks) keep x's tile
  // in L2 while a weight tile of 32 rows streams past it; a small batch is one tile and the weight
  // rows are split finer instead. Weight tiles start on multiples of `quantum` rows (the layouts'
  // row groups).
  template <typename Body>
  void for_each_tile(int64_t n, int64_t d, int64_t k, int64_t quantum, const Body& body, int64_t batch_tile = 48) {
    const int64_t x_tile = n <= batch_tile ? n : batch_tile;
    const int64_t x_tiles = (n + x_tile - 1) / x_tile;
    const int64_t threads = pool_.size();
    int64_t row_tile = n <= batch_tile ? std::max<int64_t>(4, d / (threads * 8)) : 32;
    row_tile = (row_tile + quantum - 1) / quantum * quantum;
    const int64_t row_tiles = (d + row_tile - 1) / row_tile;
    parallel(row_tiles * x_tiles, d * k * n, [&](int64_t t, int) {
      const int64_t i0 = (t % x_tiles) * x_tile;
      const int64_t r0 = (t / x_tiles) * row_tile;
      body(i0, std::min(n, i0 + x_tile) - i0, r0, std::min(d, r0 + row_tile) - r0);
    });
  }

  // x packed into AMX tiles (amx_pack_x, 16 rows a block) in a buffer kept between calls, then
  // amx_matmul_bf16 over (batch rows × weight rows) tiles. The weight's rows past its last multiple
  // of 16 are copied into a zero-padded block of 16, since AMX reads 16 rows at a time.
  void matmul_amx(float* out, const float* x, const Tensor& w, int n, int chunks) {
    const int64_t d = w.rows;
    const int64_t k = w.cols;
    const int64_t x_block = amx_x_block(k);
    const int64_t blocks = (n + kAmxRows - 1) / kAmxRows;
    if (activations_bf16_.size() < static_cast<size_t>(blocks * x_block)) {
      activations_bf16_.resize(static_cast<size_t>(blocks * x_block));
    }
    uint16_t* xp = activations_bf16_.data();
    parallel(blocks, static_cast<int64_t>(n) * k, [&](int64_t b, int) {
      amx_pack_x(xp + b * x_block, x + b * kAmxRows * k, k, std::min<int64_t>(kAmxRows, n - b * kAmxRows), k);
    });
    const uint16_t* weights = static_cast<const uint16_t*>(w.data);
    const int64_t whole = d / kAmxRows * kAmxRows;
    for_each_tile(n, whole, k, kAmxRows, [&](int64_t i0, int64_t rows_x, int64_t r0, int64_t rows_w) {
      amx_matmul_bf16(out + i0 * d + r0, d, weights + r0 * k, k, rows_w, xp + i0 / kAmxRows * x_block, rows_x, k,
                      chunks);
    }, 4 * kAmxRows);
    if (whole == d) return;
    const size_t padded = static_cast<size_t>(kAmxRows * k);
    if (weight_tail_.size() < padded) weight_tail_.resize(padded);
    std::fill(weight_tail_.begin(), weight_tail_.begin() + static_cast<int64_t>(padded), uint16_t{0});
    std::memcpy(weight_tail_.data(), weights + whole * k, static_cast<size_t>((d - whole) * k) * sizeof(uint16_t));
    parallel((blocks + 1) / 2, static_cast<int64_t>(n) * (d - whole) * k, [&](int64_t t, int) {
      const int64_t i0 = 2 * kAmxRows * t;
      amx_matmul_bf16(out + i0 * d + whole, d, weight_tail_.data(), k, d - whole, xp + i0 / kAmxRows * x_block,
                      std::min<int64_t>(2 * kAmxRows, n - i0), k, chunks);
    });
  }

  double measure_read_bandwidth(int64_t bytes) override {
    const int64_t count = bytes / static_cast<int64_t>(sizeof(float));
    const size_t size = static_cast<size_t>(count) * sizeof(float);
    float* data = static_cast<float*>(allocate(size));
    const int64_t threads = pool_.size();
    const int64_t chunk = (count / threads + 15) / 16 * 16;
    std::vector<float> sink(static_cast<size_t>(threads), 0.0f);
    // Fill with the same threads that will read, so pages are local to them.
    pool_.run(threads, [&](int64_t t, int) {
      const int64_t begin = std::min(count, t * chunk);
      const int64_t end = std::min(count, begin + chunk);
      for (int64_t i = begin; i < end; i++) data[i] = 1.0f;
    });
    double best = 0;
    for (int pass = 0; pass < 5; pass++) {
      const auto start = std::chrono::steady_clock::now();
      pool_.run(threads, [&](int64_t t, int) {
        const int64_t begin = std::min(count, t * chunk);
        const int64_t end = std::min(count, begin + chunk);
        sink[static_cast<size_t>(t)] += k_.stream_sum(data + begin, end - begin);
      });
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (seconds > 0) best = std::max(best, static_cast<double>(size) / seconds);
    }
    float total = 0;
    for (float v : sink) total += v;
    volatile float keep = total;  // the sums must not be optimised away
    (void)keep;
    deallocate(data, size);
    return best;
  }

  void add_bias(float* x, const float* bias, int rows, int dim) override {
    for (int64_t r = 0; r < rows; r++) {
      for (int j = 0; j < dim; j++) x[r * dim + j] += bias[j];
    }
  }

  void rope(float* x, const int32_t* positions, int n, int heads, int head_dim, const RopeSpec& spec) override {
    ensure_scratch(static_cast<size_t>(head_dim));
    parallel(n, static_cast<int64_t>(n) * heads * head_dim * 8, [&](int64_t r, int thread) {
      rope_row(x + r * heads * head_dim, positions[r], heads, head_dim, spec.rotary_dim, spec.inv_freq,
          spec.attention_scale, scratch_[static_cast<size_t>(thread)].data());
    });
  }

  void kv_store(KvCache& cache, int layer, const float* k, const float* v, const BatchRows& rows) override {
    const size_t head_bytes = sizeof(float) * static_cast<size_t>(cache.head_dim);
    for (int r = 0; r < rows.n; r++) {
      for (int h = 0; h < cache.kv_heads; h++) {
        const size_t at = cache.offset(layer, rows.slots[r], h, rows.positions[r]);
        const size_t from = static_cast<size_t>(r) * cache.kv_dim() + static_cast<size_t>(h) * cache.head_dim;
        std::memcpy(cache.keys + at, k + from, head_bytes);
        std::memcpy(cache.values + at, v + from, head_bytes);
      }
    }
  }

  // Tiles of up to kAttendTileHeads (row, query head) pairs: runs of a sequence's consecutive rows
  // (a prefill's), each tile reading every block of its KV head once for all its rows (cpu_simd.h's
  // SimdAttend; a row's result does not depend on its tile). Tasks are (tile, KV head), the costliest
  // tiles (a causal prefill's last rows) first, so that the pool's threads finish together. With too
  // few of them to keep the threads busy (a decode step at a long context), they are cut further at
  // the kernels' segments, whose states are then merged in order: the same bits either way.
  void attention(float* out, const float* q, const KvCache& cache, int layer, const BatchRows& rows, int heads,
                 int kv_heads, int head_dim, int window) override {
    const int group = heads / kv_heads;
    const int tile_rows = std::max(1, std::min(rows.n, kAttendTileHeads / group));
    attend_begin_.resize(static_cast<size_t>(rows.n));
    attend_end_.resize(static_cast<size_t>(rows.n));
    attend_tiles_.clear();
    int64_t work = 0;
    for (int r = 0; r < rows.n;) {
      AttendTile tile{r, 0, 0, rows.positions[r], 0};
      for (; r < rows.n && tile.rows < tile_rows && rows.slots[r] == rows.slots[tile.first]; r++, tile.rows++) {
        const int begin = attention_start(rows.positions[r], window);
        attend_begin_[static_cast<size_t>(r)] = begin;
        attend_end_[static_cast<size_t>(r)] = rows.positions[r] + 1;
        tile.positions += rows.positions[r] + 1 - begin;
        tile.begin = std::min(tile.begin, begin);
        tile.end = std::max(tile.end, rows.positions[r] + 1);
      }
      work += tile.positions * heads * head_dim * 4;
      attend_tiles_.push_back(tile);
    }
    std::stable_sort(attend_tiles_.begin(), attend_tiles_.end(),
                     [](const AttendTile& x, const AttendTile& y) { return x.positions > y.positions; });
    ensure_scratch(static_cast<size_t>(attend_scratch_floats(tile_rows, group, head_dim)));
    const int64_t ld = static_cast<int64_t>(heads) * head_dim;
    const auto job = [&](const AttendTile& tile, int kv_head, int thread) {
      const int64_t at = tile.first * ld + static_cast<int64_t>(kv_head) * group * head_dim;
      const size_t base = cache.offset(layer, rows.slots[tile.first], kv_head, 0);
      return SimdAttend{out + at, q + at, ld, tile.rows, group, head_dim, cache.keys + base, cache.values + base,
                        attend_begin_.data() + tile.first, attend_end_.data() + tile.first,
                        scratch_[static_cast<size_t>(thread)].data()};
    };
    const int64_t tasks = static_cast<int64_t>(attend_tiles_.size()) * kv_heads;
    if (pool_.size() == 1 || tasks >= 2 * pool_.size()
        || attend_tiles_[0].end - attend_tiles_[0].begin <= kAttendSegment) {
      parallel(tasks, work, [&](int64_t task, int thread) {
        k_.attend(job(attend_tiles_[static_cast<size_t>(task / kv_heads)], static_cast<int>(task % kv_heads), thread));
      });
      return;
    }
    // One part per (tile, KV head, segment), each writing its state at `at` in attend_states_.
    attend_parts_.clear();
    int64_t floats = 0;
    for (size_t t = 0; t < attend_tiles_.size(); t++) {
      const AttendTile& tile = attend_tiles_[t];
      for (int kv_head = 0; kv_head < kv_heads; kv_head++) {
        for (int segment = tile.begin / kAttendSegment; segment <= (tile.end - 1) / kAttendSegment; segment++) {
          attend_parts_.push_back({static_cast<int>(t), kv_head, segment, floats});
          floats += attend_state_floats(tile.rows, group, head_dim);
        }
      }
    }
    if (attend_states_.size() < static_cast<size_t>(floats)) attend_states_.resize(static_cast<size_t>(floats));
    parallel(static_cast<int64_t>(attend_parts_.size()), work, [&](int64_t i, int thread) {
      const AttendPart& part = attend_parts_[static_cast<size_t>(i)];
      k_.attend_segment(job(attend_tiles_[static_cast<size_t>(part.tile)], part.kv_head, thread), part.segment,
                        attend_states_.data() + part.at);
    });
    // The parts of one (tile, KV head) are consecutive, in segment order.
    for (size_t i = 0; i < attend_parts_.size();) {
      const AttendPart& part = attend_parts_[i];
      size_t count = 1;
      while (i + count < attend_parts_.size() && attend_parts_[i + count].tile == part.tile
             && attend_parts_[i + count].kv_head == part.kv_head) {
        count++;
      }
      k_.attend_finish(job(attend_tiles_[static_cast<size_t>(part.tile)], part.kv_head, 0),
                       attend_states_.data() + part.at, part.segment, static_cast<int>(count));
      i += count;
    }
  }

  void swiglu(float* out, const float* gate, const float* up, int64_t count) override {
    for (int64_t i = 0; i < count; i++) out[i] = cx::swiglu(gate[i], up[i]);
  }

  void add(float* x, const float* y, int64_t count) override {
    for (int64_t i = 0; i < count; i++) x[i] += y[i];
  }

  void gather_rows(float* out, const float* x, const int32_t* rows, int m, int dim) override {
    for (int j = 0; j < m; j++) {
      std::memcpy(out + static_cast<size_t>(j) * dim, x + static_cast<size_t>(rows[j]) * dim,
          sizeof(float) * static_cast<size_t>(dim));
    }
  }

  // Hybrid ops (hybrid_kernels.h): channels and value heads are independent, each walking the rows.
  bool has_hybrid_ops() const override { return true; }

  void sigmoid_gate(float* x, const float* gate, int64_t count) override {
    for (int64_t i = 0; i < count; i++) x[i] *= sigmoid(gate[i]);
  }

  void sigmoid_scale_rows(float* y, const float* gate, int rows, int dim) override {
    for (int64_t r = 0; r < rows; r++) {
      const float scale = sigmoid(gate[r]);
      for (int j = 0; j < dim; j++) y[r * dim + j] *= scale;
    }
  }

  void conv1d_silu(float* out, const float* x, float* conv_state, const float* weight, const BatchRows& rows,
      const DeltaNetShape& shape) override {
    parallel(shape.channels(), static_cast<int64_t>(rows.n) * shape.channels() * shape.kernel * 4,
        [&](int64_t channel, int) { conv1d_silu_channel(out, x, conv_state, weight, rows, shape,
            static_cast<int>(channel)); });
  }

  void gated_delta_rule(float* out, const float* qkv, const float* b, const float* a, const float* a_log,
      const float* dt_bias, float* state, const BatchRows& rows, const DeltaNetShape& shape) override {
    // A sequence's run of several rows (prefill) takes the chunked form, a single row (decode) the recurrent.
    ensure_scratch(std::max(static_cast<size_t>(2 * shape.k_dim + shape.v_dim), delta_chunk_scratch_floats(shape)));
    parallel(shape.v_heads, static_cast<int64_t>(rows.n) * shape.v_heads * shape.k_dim * shape.v_dim * 5,
        [&](int64_t head, int thread) {
          delta_rule_head_runs(out, qkv, b, a, a_log, dt_bias, state, rows, shape, static_cast<int>(head),
              scratch_[static_cast<size_t>(thread)].data());
        });
  }

  void gated_rmsnorm(float* out, const float* x, const float* z, const float* weight, int rows, int dim,
      float eps) override {
    parallel(rows, static_cast<int64_t>(rows) * dim * 4, [&](int64_t r, int) {
      const float* in = x + r * dim;
      const float* gate = z + r * dim;
      float* o = out + r * dim;
      const float scale = rms_scale(k_.dot(in, in, dim), dim, eps);
      for (int j = 0; j < dim; j++) o[j] = gated_rmsnorm_element(in[j], scale, weight[j], gate[j]);
    });
  }

  void moe_combine(float* out, const float* y, const int32_t* rows, const float* weights, int n, int k,
      int dim) override {
    parallel(n, static_cast<int64_t>(n) * k * dim * 2, [&](int64_t t, int) {
      float* o = out + t * dim;
      for (int i = 0; i < dim; i++) o[i] = 0.0f;
      for (int j = 0; j < k; j++) {
        const float* row = y + static_cast<int64_t>(rows[t * k + j]) * dim;
        const float w = weights[t * k + j];
        for (int i = 0; i < dim; i++) o[i] = moe_weighted_add(o[i], row[i], w);
      }
    });
  }

 private:
  // Runs on the pool when there is enough work to pay for waking the helpers.
  template <typename Task>
  void parallel(int64_t tasks, int64_t flops, Task&& task) {
    if (pool_.size() == 1 || flops < (1 << 15)) {
      for (int64_t i = 0; i < tasks; i++) task(i, 0);
      return;
    }
    pool_.run(tasks, task);
  }

  // x (n rows of k f32) times a quantized weight: the rows are quantized once (for Q8_0 / Q4_0 weights
  // each value as an integer in steps of 1/256 of llama.cpp's Q8_0 scale, stored as two int8 planes
  // and as int16; Q8_K for the K types: cpu_simd.h's quant_activation_bytes) into a buffer kept
  // between calls, then the integer kernels run over (weight rows × batch rows) tiles like the f32
  // matmul. The finer steps make these products those of the f32 activations to ~1e-5, closer to the
  // weights' own arithmetic than llama.cpp's, for work the 32-wide formats' kernels absorb (AVX2
  // multiplies the int16 values, one multiply per two products; VNNI and AMX the two planes); the K
  // types keep llama.cpp's one Q8_K plane.
  void matmul_quantized(float* out, const float* x, const Tensor& w, int n, int chunks) {
    const int64_t d = w.rows;
    const int64_t k = w.cols;
    const int64_t blocks = k / dtype_block_elements(w.dtype);
    if (chunks < 1 || chunks > kMaxPairwiseParts || blocks % chunks != 0) {
      throw Error(CX_ERR_INVALID_ARGUMENT, std::string("a ") + dtype_name(w.dtype) + " matmul over "
          + std::to_string(blocks) + " blocks cannot be split into " + std::to_string(chunks) + " equal k-chunks");
    }
    const bool k_type = dtype_block_elements(w.dtype) == kQkK;
    const int64_t x_row_bytes = quant_activation_bytes(k_type, k);
    const size_t needed = static_cast<size_t>(n * x_row_bytes);
    if (activations_.size() < needed) activations_.resize(needed);
    uint8_t* xq = activations_.data();
    parallel(n, static_cast<int64_t>(n) * k * 8, [&](int64_t r, int) {
      if (avx512_vnni_) quantize_activation_row_avx512(x + r * k, xq + r * x_row_bytes, k, k_type);
      else if (k_.isa >= kCpuIsaAvx2) quantize_activation_row_avx2(x + r * k, xq + r * x_row_bytes, k, k_type);
      else quantize_activation_row(x + r * k, xq + r * x_row_bytes, k, k_type);
    });
    const int64_t row_bytes = static_cast<int64_t>(dtype_row_bytes(w.dtype, k));
    const int type = static_cast<int>(w.dtype);
    // AMX takes 16 rows or more of the file's rows, from x packed once more into its tiles.
    const bool amx = amx_int8_ && n >= kQuantPackRows && !w.packed && amx_quant_takes(type);
    const int64_t tile_bytes = amx ? amx_quant_x_tile(k_type, k) : 0;
    if (amx) pack_quant_tiles(xq, x_row_bytes, n, k, k_type, tile_bytes);
    // Weight tiles of whole interleaved groups (and of AMX's 16 rows).
    for_each_tile(n, d, k, kQuantPackRows, [&](int64_t i0, int64_t rows_x, int64_t r0, int64_t rows_w) {
      const SimdQuantWeights block{static_cast<const uint8_t*>(w.data) + r0 * row_bytes, type, row_bytes, blocks,
                                   w.packed};
      if (amx) {
        amx_matmul_quant(out + i0 * d + r0, d, activations_amx_.data() + i0 / kQuantPackRows * tile_bytes,
                         xq + i0 * x_row_bytes, x_row_bytes, block, chunks, rows_x, rows_w);
      } else {
        matmul_quant_(out + i0 * d + r0, d, xq + i0 * x_row_bytes, x_row_bytes, block, chunks, rows_x, rows_w);
      }
    });
  }

  // The quantized activation rows (n, `x_row_bytes` apart) packed into AMX tiles of 16 rows
  // (amx_pack_quant_x) in activations_amx_, a buffer kept between calls.
  void pack_quant_tiles(const uint8_t* xq, int64_t x_row_bytes, int n, int64_t k, bool k_type, int64_t tile_bytes) {
    const int64_t tiles = (n + kQuantPackRows - 1) / kQuantPackRows;
    if (activations_amx_.size() < static_cast<size_t>(tiles * tile_bytes)) {
      activations_amx_.resize(static_cast<size_t>(tiles * tile_bytes));
    }
    uint8_t* xp = activations_amx_.data();
    parallel(tiles, static_cast<int64_t>(n) * k, [&](int64_t t, int) {
      amx_pack_quant_x(xp + t * tile_bytes, xq + t * kQuantPackRows * x_row_bytes, x_row_bytes,
                       std::min<int64_t>(kQuantPackRows, n - t * kQuantPackRows), k, k_type);
    });
  }

  // The layout this backend gives a weight. Quantized: for the AVX2 and AVX-512 kernels, interleaved
  // 16 rows at a time (quant_repack.h); the scalar path, and AMX for the types it takes, read the
  // file's ggml rows. bf16 on AVX2: panels; with AMX, bf16 as the file lays it out (amx_bf16.cpp);
  // otherwise f32 / f16 / bf16 packed (cpu_simd.h).
  enum class Layout { AsIs, Packed, Panel, Interleaved };

  Layout layout_for(const Tensor& t) const {
    if (dtype_is_quantized(t.dtype)) {
      const bool in_place = amx_int8_ && amx_quant_takes(static_cast<int>(t.dtype));
      return !interleave_quantized_ || in_place || t.rows < kQuantPackRows || !quant_packable(t.dtype) ? Layout::AsIs
                                                                                                  : Layout::Interleaved;
    }
    if (k_.bf16_panels && t.dtype == DType::BF16) {
      return t.rows >= kPanelRows && t.cols % kPackCols == 0 ? Layout::Panel : Layout::AsIs;
    }
    const bool amx = amx_bf16_ && t.dtype == DType::BF16;
    return !amx && t.rows >= kPackRows && t.cols % kPackCols == 0 ? Layout::Packed : Layout::AsIs;
  }

  static Tensor describe(const TensorView& view, int64_t rows, int64_t cols) {
    Tensor tensor;
    tensor.dtype = view.dtype;
    tensor.rows = rows;
    tensor.cols = cols;
    if (dtype_is_quantized(view.dtype) && view.bytes != tensor.bytes()) {
      throw Error(CX_ERR_BAD_MODEL, "tensor '" + view.name + "' holds " + std::to_string(view.bytes) + " bytes, not the "
          + std::to_string(tensor.bytes()) + " of " + std::to_string(rows) + " rows of " + std::to_string(cols) + " "
          + dtype_name(view.dtype) + " weights");
    }
    return tensor;
  }

  // Quantized rows are read byte by byte; floats want their element's alignment (safetensors offsets
  // normally give it).
  static bool aligned(const TensorView& view) {
    return dtype_is_quantized(view.dtype) || reinterpret_cast<uintptr_t>(view.data) % dtype_size(view.dtype) == 0;
  }

  // The file's layout: an alias of the mapping where aligned, else a copy.
  Tensor as_is(const TensorView& view, Tensor tensor) {
    if (aligned(view)) {
      tensor.data = view.data;
      return tensor;
    }
    void* copy = allocate(view.bytes);
    std::memcpy(copy, view.data, view.bytes);
    tensor.data = copy;
    tensor.owned = true;
    return tensor;
  }

  static Tensor adopt(Tensor tensor, void* copy, Layout layout) {
    tensor.data = copy;
    tensor.owned = true;
    tensor.deferred = false;
    tensor.packed = layout == Layout::Packed || layout == Layout::Interleaved;
    tensor.panel = layout == Layout::Panel;
    return tensor;
  }

  // A repack in tasks of whole row groups, each writing one contiguous run of about kRepackTaskBytes
  // of the copy; packed and paneled weights add a last task copying the rows past their last full
  // group (quant_pack copies an interleaved weight's partial group itself).
  struct RepackTasks {
    int64_t group_rows, groups, per_task, tasks, task_bytes;
  };

  static RepackTasks repack_tasks(Layout layout, const Tensor& t) {
    RepackTasks plan;
    const int64_t row_bytes = static_cast<int64_t>(dtype_row_bytes(t.dtype, t.cols));
    plan.group_rows = layout == Layout::Panel ? kPanelRows : layout == Layout::Packed ? kPackRows : kQuantPackRows;
    const bool partial_group = layout == Layout::Interleaved;
    plan.groups = partial_group ? (t.rows + plan.group_rows - 1) / plan.group_rows : t.rows / plan.group_rows;
    plan.per_task = std::max<int64_t>(1, kRepackTaskBytes / (plan.group_rows * row_bytes));
    plan.tasks = (plan.groups + plan.per_task - 1) / plan.per_task + (partial_group ? 0 : 1);
    plan.task_bytes = plan.per_task * plan.group_rows * row_bytes;
    return plan;
  }

  void repack_task(Layout layout, const Tensor& t, const RepackTasks& plan, const char* src, char* dst, int64_t task) {
    const int64_t row_bytes = static_cast<int64_t>(dtype_row_bytes(t.dtype, t.cols));
    const int64_t first = task * plan.per_task;
    if (first >= plan.groups) {  // rows past the last full group stay plain
      const int64_t tail = plan.groups * plan.group_rows * row_bytes;
      if (t.rows > plan.groups * plan.group_rows) std::memcpy(dst + tail, src + tail, t.bytes() - tail);
      return;
    }
    const int64_t count = std::min(plan.groups, first + plan.per_task) - first;
    src += first * plan.group_rows * row_bytes;
    dst += first * plan.group_rows * row_bytes;
    if (layout == Layout::Interleaved) {
      for (int64_t g = 0; g < count; g++) {
        const int64_t rows = std::min<int64_t>(kQuantPackRows, t.rows - (first + g) * kQuantPackRows);
        quant_pack(t.dtype, reinterpret_cast<const uint8_t*>(src) + g * kQuantPackRows * row_bytes,
                   reinterpret_cast<uint8_t*>(dst) + g * kQuantPackRows * row_bytes, rows, t.cols);
      }
    } else if (layout == Layout::Panel) {
      words_to_panels<kPanelRows, true>(dst, src, count, row_bytes);
    } else if (dtype_size(t.dtype) == 2) {
      pack_groups<2 * kPackCols>(dst, src, count, row_bytes);
    } else {
      pack_groups<4 * kPackCols>(dst, src, count, row_bytes);
    }
  }

  // Repacks a weight at load, on the pool (the loader then lets the mapped pages go).
  Tensor repack_now(const TensorView& view, const Tensor& tensor, Layout layout) {
    uint8_t* copy = allocate_weight(view.bytes);
    const auto start = std::chrono::steady_clock::now();
    const RepackTasks plan = repack_tasks(layout, tensor);
    const auto* src = reinterpret_cast<const char*>(view.data);
    pool_.run(plan.tasks, [&](int64_t t, int) { repack_task(layout, tensor, plan, src, reinterpret_cast<char*>(copy),
                                                            t); });
    load_times.repack += seconds_since(start);
    return adopt(tensor, copy, layout);
  }

  // `groups` groups of kPackRows plain rows into the packed layout, runs of RUN bytes. The packed
  // weight is written once and next read at the first forward pass, long after it has left the
  // caches, so it is stored past them (non-temporal), which spares reading each destination line in
  // first; the destination is page-aligned and RUN a multiple of 16, so every store is aligned.
  template <int64_t RUN>
  static void pack_groups(char* dst, const char* src, int64_t groups, int64_t row_bytes) {
    static_assert(RUN % 16 == 0, "runs of whole 16-byte stores");
    for (int64_t g = 0; g < groups; g++, src += kPackRows * row_bytes) {
      for (int64_t c = 0; c < row_bytes; c += RUN) {
        for (int64_t b = 0; b < kPackRows; b++, dst += RUN) {
          const char* from = src + b * row_bytes + c;
          for (int64_t i = 0; i < RUN; i += 16) {
            _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i),
                             _mm_loadu_si128(reinterpret_cast<const __m128i*>(from + i)));
          }
        }
      }
    }
    _mm_sfence();
  }

  // Memory for a weight this backend writes whole (a repack), faulted in before it is written, each
  // pool thread its own slice, so that load_times tells the allocation and the repack apart.
  uint8_t* allocate_weight(size_t bytes) {
    const auto start = std::chrono::steady_clock::now();
    uint8_t* memory = static_cast<uint8_t*>(allocate(bytes));
    advise_huge_pages(memory, bytes);
    if (bytes >= kMapThreshold) {
      const size_t slice = std::max<size_t>(kHugePageBytes, (bytes / static_cast<size_t>(pool_.size()) + kHugePageBytes
          - 1) / kHugePageBytes * kHugePageBytes);
      pool_.run(static_cast<int64_t>((bytes + slice - 1) / slice), [&](int64_t t, int) {
        const size_t begin = static_cast<size_t>(t) * slice;
        populate_write(memory + begin, std::min(bytes, begin + slice) - begin);
      });
    }
    load_times.allocate += seconds_since(start);
    return memory;
  }

  // Weights are streamed end to end every token: 2 MiB pages spare the page walks (under a VM's
  // nested paging above all: asked for only once the weights were written, so that khugepaged merged
  // them later, bf16 decode ran ~30% slower) and let the prefetchers run on. The price is paid here,
  // at the faults: each waits for a free 2 MiB page, which on a VM that hands free 2 MiB blocks back
  // to its host (virtio-balloon free page reporting) costs 2-4 s per GB when none was freed lately.
  // A hint; where transparent huge pages are off it does nothing. Not for KV caches, which fill a
  // little at a time and would become resident 2 MiB at a time.
  static void advise_huge_pages(void* memory, size_t bytes) {
    if (bytes >= kHugePageBytes) ::madvise(memory, bytes, MADV_HUGEPAGE);
  }

  // Faults fresh anonymous pages in (page-aligned start: a slice of a mapping).
  static void populate_write(uint8_t* memory, size_t bytes) {
#ifndef MADV_POPULATE_WRITE
    constexpr int MADV_POPULATE_WRITE = 23;  // Linux 5.14
#endif
    if (::madvise(memory, bytes, MADV_POPULATE_WRITE) == 0) return;
    for (size_t at = 0; at < bytes; at += 4096) memory[at] = 0;  // an older kernel: they are zero already
  }

  static double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  void ensure_scratch(size_t floats) {
    for (auto& buffer : scratch_) {
      if (buffer.size() < floats) buffer.resize(floats);
    }
  }

  // A tile of attention rows: `rows` consecutive batch rows of one sequence from `first`, attending
  // `positions` (row, position) pairs in all, between positions begin and end − 1.
  struct AttendTile {
    int first;
    int rows;
    int64_t positions;
    int begin;
    int end;
  };
  // One segment of one (tile, KV head) when a step's attention is cut at segments.
  struct AttendPart {
    int tile;
    int kv_head;
    int segment;
    int64_t at;  // its state's first float in attend_states_
  };
  static constexpr int kAttendTileHeads = 32;  // (row, query head) pairs per attention tile

  ThreadPool pool_;
  int64_t budget_;
  int64_t used_ = 0;
  std::vector<std::vector<float>> scratch_;  // one per pool thread
  const SimdKernels& k_;
  int isa_;                                            // CpuIsa: k_.isa, or kCpuIsaAmx over the AVX-512 kernels
  bool interleave_quantized_;                          // quantized weights get quant_repack.h's layout
  bool avx512_vnni_;                                   // the AVX-512 VNNI kernels and activation quantizer
  bool amx_bf16_;                                      // bf16 weights in AMX tiles (amx_bf16.cpp)
  bool amx_int8_;                                      // Q8_0 / Q4_K / Q6_K prefill in AMX tiles, in place
  decltype(SimdKernels::matmul_quant) matmul_quant_;  // AVX-512 CPUs without VNNI use the AVX2 one
  std::vector<uint8_t> activations_;                 // quantized activation rows, kept between matmuls
  std::vector<uint16_t> activations_bf16_;           // activation rows in AMX tiles (amx_pack_x)
  std::vector<uint8_t> activations_amx_;             // quantized activation rows in AMX tiles
  std::vector<uint16_t> weight_tail_;                // a weight's last rows padded to 16 (AMX)
  std::vector<uint8_t> embed_row_;                   // one plain row of an interleaved embedding table
  std::vector<AttendTile> attend_tiles_;             // attention's tiles, kept between calls
  std::vector<int32_t> attend_begin_, attend_end_;   // each row's attended positions [begin, end)
  std::vector<AttendPart> attend_parts_;             // attention's segments, when it is cut at them
  std::vector<float> attend_states_;                 // their states
};

bool has_avx512_vnni() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512vnni");
}

}  // namespace

int detect_cpu_isa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
      && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    const AmxSupport amx = amx_support();
    return amx.bf16 || amx.int8 ? kCpuIsaAmx : kCpuIsaAvx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) {
    return kCpuIsaAvx2;
  }
  return kCpuIsaScalar;
}

std::unique_ptr<Backend> make_cpu_backend(const std::string& device_name, int threads, int64_t budget_bytes,
                                          int isa) {
  const int best = detect_cpu_isa();
  if (isa == kCpuIsaAuto) isa = best;
  if (isa > best) {
    throw Error(CX_ERR_UNSUPPORTED_ARCH, device_name + ": CPU kernels for ISA " + std::to_string(isa)
        + " were asked for but this CPU supports at most " + std::to_string(best));
  }
  const SimdKernels& kernels = isa >= kCpuIsaAvx512 ? simd_kernels_avx512()
      : isa == kCpuIsaAvx2                          ? simd_kernels_avx2()
                                                    : simd_kernels_scalar();
  return std::make_unique<CpuBackend>(device_name, threads, budget_bytes, kernels, isa);
}

}  // namespace cx
