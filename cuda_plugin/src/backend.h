// backend.h — what a compute backend (CPU now, CUDA next) provides to the model code: memory
// accounting, buffers, and the handful of ops a Llama/Qwen3 forward pass is made of. All pointers
// passed to ops are device pointers of that backend; the model code (forward.cpp) never touches
// device memory directly, so the same forward runs on every backend.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "error.h"
#include "safetensors.h"

namespace cx {

/** A 2-D row-major weight [rows, cols] in device memory (a vector has rows == 1). A block-quantized
 * weight (quant.h) holds cols / dtype_block_elements blocks per row. */
struct Tensor {
  const void* data = nullptr;
  DType dtype = DType::F32;
  int64_t rows = 0;
  int64_t cols = 0;
  bool owned = false;  // the backend allocated it (vs. an alias of the mmapped file)
  bool packed = false;  // CPU backend: row groups interleaved for streaming (cpu_simd.h, packed_index)
  bool panel = false;   // CPU backend, bf16 on AVX2: the panel layout instead (cpu_simd.h, panel_index)
  bool deferred = false;  // served from the mapping until Backend::repack_part builds the backend's layout

  size_t bytes() const { return static_cast<size_t>(rows) * dtype_row_bytes(dtype, cols); }
  bool empty() const { return data == nullptr; }
};

/** How far Backend::repack_part has built a weight's layout: the copy it writes and the tasks done. */
struct RepackCursor {
  void* copy = nullptr;
  int64_t done = 0;
};

/** Device memory figures in bytes. */
struct MemoryInfo {
  int64_t total = 0;
  int64_t free = 0;
};

/** The KV cache of one model on one device: [layer][slot][kv_head][position][head_dim] for keys and
 * values. Head-major, so attention over one head reads one contiguous run instead of a row per
 * position a whole kv_dim apart (a page or more, which defeats the CPU's prefetchers and TLB). */
struct KvCache {
  float* keys = nullptr;
  float* values = nullptr;
  int layers = 0;
  int slots = 0;
  int context = 0;
  int kv_heads = 0;
  int head_dim = 0;

  int kv_dim() const { return kv_heads * head_dim; }
  size_t offset(int layer, int slot, int kv_head, int position) const {
    return (((static_cast<size_t>(layer) * slots + slot) * kv_heads + kv_head) * context + position) * head_dim;
  }
  size_t bytes() const { return 2 * sizeof(float) * static_cast<size_t>(layers) * slots * context * kv_dim(); }
};

/** How RoPE rotates each head (transformers' rotary embedding): the first `rotary_dim` dims of a head
 * are rotated in rotate-half order within that slice (partial_rotary_factor < 1 leaves the rest as
 * they are), with `inv_freq` holding rotary_dim / 2 frequencies; cos and sin are multiplied by
 * `attention_scale` (YaRN's attention factor; 1 otherwise). */
struct RopeSpec {
  const float* inv_freq = nullptr;  // device pointer
  int rotary_dim = 0;
  float attention_scale = 1.0f;
};

/** The rows of one batched forward pass (device pointers, `n` entries each). */
struct BatchRows {
  int n = 0;
  const int32_t* tokens = nullptr;
  const int32_t* slots = nullptr;      // KV slot of each row's sequence
  const int32_t* positions = nullptr;  // position of each row in its sequence
  // The same slots and positions in host memory (nullptr where unknown), for a backend that plans its
  // launches from them (the CUDA delta rule picks its chunked runs here without a copy back).
  const int32_t* host_slots = nullptr;
  const int32_t* host_positions = nullptr;
};

/** The shapes of one Gated DeltaNet layer (Qwen3.5 / Qwen3-Next) on one device. Its input rows hold
 * [q (k_heads·k_dim) | k (k_heads·k_dim) | v (v_heads·v_dim)]; value head h reads key head
 * h / (v_heads / k_heads). Per-sequence states, by KV slot: conv [slot][channel][kernel - 1] and
 * recurrent [slot][v_head][k_dim][v_dim], f32. */
struct DeltaNetShape {
  int k_heads = 0, v_heads = 0, k_dim = 0, v_dim = 0, kernel = 0;

  int channels() const { return 2 * k_heads * k_dim + v_heads * v_dim; }
  size_t conv_state_floats() const { return static_cast<size_t>(channels()) * (kernel - 1); }
  size_t recurrent_state_floats() const { return static_cast<size_t>(v_heads) * k_dim * v_dim; }
};

/** Where a load's seconds went: `read` bringing the file's pages in (from the page cache or the disk),
 * `allocate` getting the device memory repacked weights go to (on the CPU: faulting fresh pages in),
 * `repack` moving weights into the layout the kernels read (the rest of upload_weight). */
struct LoadTimes {
  double read = 0;
  double allocate = 0;
  double repack = 0;
};

/** A compute backend bound to one device. Used only from that device's worker thread. */
class Backend {
 public:
  virtual ~Backend() = default;

  /** Seconds spent in upload_weight since the loader last reset it (`read` is the loader's own). */
  LoadTimes load_times;

  // Memory accounting: every weight and KV cache is reserved before it is allocated.
  virtual MemoryInfo memory() const = 0;
  /** Throws cx::Error(out_of_memory) naming `what`, the request and the free/total figures. */
  virtual void reserve(int64_t bytes, const std::string& what) = 0;
  virtual void unreserve(int64_t bytes) = 0;

  // Buffers.
  virtual void* allocate(size_t bytes) = 0;  // zero-filled
  virtual void deallocate(void* pointer, size_t bytes) = 0;
  virtual void copy_to_device(void* device, const void* host, size_t bytes) = 0;
  virtual void copy_to_host(void* host, const void* device, size_t bytes) = 0;
  /** Copies `bytes` between two device buffers of this backend (they must not overlap). */
  virtual void copy_within(void* to, const void* from, size_t bytes) = 0;
  /** Makes a weight from the mapped file usable by ops, keeping its dtype (CPU may alias the mapping). */
  virtual Tensor upload_weight(const TensorView& view, int64_t rows, int64_t cols) = 0;
  virtual void release_weight(Tensor& tensor) = 0;
  /** upload_weight, except that a backend which would copy the weight into a layout of its own may
   * serve the mapping as it is for now (`deferred`: the same results from slower kernels) and build
   * that layout later, a part at a time, with repack_part. By default upload_weight. */
  virtual Tensor map_weight(const TensorView& view, int64_t rows, int64_t cols) {
    return upload_weight(view, rows, cols);
  }
  /** Builds about `bytes` more of a deferred tensor's layout into `cursor` (on the device's threads);
   * once it is whole, points `tensor` at it (owned, no longer deferred) and returns true. Called
   * between forward passes, never during one. */
  virtual bool repack_part(Tensor& tensor, RepackCursor& cursor, size_t bytes) {
    (void)cursor, (void)bytes;
    tensor.deferred = false;
    return true;
  }
  /** Frees the copy an unfinished repack_part was writing (the tensor keeps serving the mapping). */
  virtual void drop_repack(const Tensor& tensor, RepackCursor& cursor) { (void)tensor, (void)cursor; }
  /** A table that is only ever looked up by rows, never multiplied (an untied embedding): by default
   * as upload_weight; a backend that can read the mapping in place keeps it there. */
  virtual Tensor upload_table(const TensorView& view, int64_t rows, int64_t cols) {
    return upload_weight(view, rows, cols);
  }

  // Ops. Shapes: x[n, cols] row-major, f32 activations.
  /** out[i] = table[tokens[i]] converted to f32. */
  virtual void embed(float* out, const Tensor& table, const int32_t* tokens, int n) = 0;
  /** out[r] = RMSNorm(x[r]) · weight for `rows` rows of `dim` (out may equal x). */
  virtual void rmsnorm(float* out, const float* x, const float* weight, int rows, int dim, float eps) = 0;
  /** out[n, w.rows] = x[n, w.cols] · wᵀ, f32 accumulation whatever w's dtype. */
  virtual void matmul(float* out, const float* x, const Tensor& w, int n) = 0;
  /** matmul, with each output summed from `chunks` partial dot products over equal consecutive
   * slices of k, added in pairwise_sum's tree order (cx_math.h). forward() uses it for the
   * row-split matmuls (o_proj, down_proj) so that a tensor-parallel rank's chunks, then the ranks'
   * sums, add up in the same order as all chunks on one device. A backend whose reductions are not
   * in its control anyway (CUDA: cuBLAS, NCCL) may compute the plain matmul. */
  virtual void matmul_k_chunks(float* out, const float* x, const Tensor& w, int n, int chunks) {
    (void)chunks;
    matmul(out, x, w, n);
  }
  /** x[r] += bias for `rows` rows of `dim`. */
  virtual void add_bias(float* x, const float* bias, int rows, int dim) = 0;
  /** Rotate-half RoPE (`spec`) in place on x[n, heads, head_dim] at each row's position. */
  virtual void rope(float* x, const int32_t* positions, int n, int heads, int head_dim, const RopeSpec& spec) = 0;
  /** Writes k[n, kv_dim] and v[n, kv_dim] into the cache at each row's (slot, position). */
  virtual void kv_store(KvCache& cache, int layer, const float* k, const float* v, const BatchRows& rows) = 0;
  /** Causal GQA attention of q[n, heads, head_dim] over each row's slot, positions 0..position, or
   * with `window` > 0 only the last `window` of them (cx_math.h, attention_start). */
  virtual void attention(float* out, const float* q, const KvCache& cache, int layer, const BatchRows& rows,
      int heads,
                         int kv_heads, int head_dim, int window = 0) = 0;
  /** out[i] = silu(gate[i]) · up[i]. */
  virtual void swiglu(float* out, const float* gate, const float* up, int64_t count) = 0;
  /** x[i] += y[i]. */
  virtual void add(float* x, const float* y, int64_t count) = 0;
  /** out[j] = x[rows[j]] for m rows of `dim`. */
  virtual void gather_rows(float* out, const float* x, const int32_t* rows, int m, int dim) = 0;
  /** Mixture of experts: out[t] = Σ_j weights[t·k + j] · y[rows[t·k + j]] for n tokens of `dim`,
   * added in order j from zero with moe_weighted_add (moe_math.h). */
  virtual void moe_combine(float* out, const float* y, const int32_t* rows, const float* weights, int n, int k,
      int dim) = 0;

  // Hybrid (Qwen3.5 / Qwen3-Next) ops. A backend without them says so and the loader refuses those models.
  virtual bool has_hybrid_ops() const { return false; }
  /** x[i] *= σ(gate[i]) — the output gate of gated attention. */
  virtual void sigmoid_gate(float* x, const float* gate, int64_t count) {
    (void)x, (void)gate, (void)count;
    throw Error(CX_ERR_UNSUPPORTED_ARCH, "this backend has no gated-attention output op");
  }
  /** y[r] *= σ(gate[r]) for `rows` rows of `dim` — the shared expert's gate (one logit per row). */
  virtual void sigmoid_scale_rows(float* y, const float* gate, int rows, int dim) {
    (void)y, (void)gate, (void)rows, (void)dim;
    throw Error(CX_ERR_UNSUPPORTED_ARCH, "this backend has no shared-expert gate op");
  }
  /** Causal depthwise conv1d + SiLU over x[n, channels] (weight [channels][kernel]), row by row in
   * each sequence's order, through the rows' conv states (zeroed where a row is at position 0). */
  virtual void conv1d_silu(float* out, const float* x, float* conv_state, const float* weight, const BatchRows& rows,
      const DeltaNetShape& shape) {
    (void)out, (void)x, (void)conv_state, (void)weight, (void)rows, (void)shape;
    throw Error(CX_ERR_UNSUPPORTED_ARCH, "this backend has no causal conv1d");
  }
  /** The gated delta rule (a backend may compute a sequence's run of rows in the chunked form, the
   * same algebra): per row and value head, L2-normalised q and k (q also
   * scaled by k_dim^-½), β = σ(b), decay = exp(-exp(A_log) · softplus(a + dt_bias)); S ← decay·S;
   * S += k ⊗ β(v − Sᵀk); out = Sᵀq. Reads qkv[n, channels], b and a [n, v_heads]; writes out[n,
   * v_heads·v_dim]; the rows' recurrent states carry over (zeroed at position 0). */
  virtual void gated_delta_rule(float* out, const float* qkv, const float* b, const float* a, const float* a_log,
      const float* dt_bias, float* state, const BatchRows& rows, const DeltaNetShape& shape) {
    (void)out, (void)qkv, (void)b, (void)a, (void)a_log, (void)dt_bias, (void)state, (void)rows, (void)shape;
    throw Error(CX_ERR_UNSUPPORTED_ARCH, "this backend has no gated delta rule");
  }
  /** out[r] = weight · RMSNorm(x[r]) · silu(z[r]) for `rows` rows of `dim` (out may equal x). */
  virtual void gated_rmsnorm(float* out, const float* x, const float* z, const float* weight, int rows, int dim,
      float eps) {
    (void)out, (void)x, (void)z, (void)weight, (void)rows, (void)dim, (void)eps;
    throw Error(CX_ERR_UNSUPPORTED_ARCH, "this backend has no gated RMSNorm");
  }

  /** Streams a `bytes` buffer with the backend's own compute threads and returns the best read
   * bandwidth seen, in bytes per second (the bound decode speed is judged against). Backends that
   * cannot measure it throw unsupported_architecture. */
  virtual double measure_read_bandwidth(int64_t bytes) {
    throw Error(CX_ERR_UNSUPPORTED_ARCH, "this backend cannot measure its read bandwidth (asked for "
        + std::to_string(bytes) + " bytes)");
  }
  /** The instruction set the backend's kernels run with (CPU: CpuIsa; other backends: 0). */
  virtual int kernel_isa() const { return 0; }
};

/** CPU kernel instruction sets, chosen at run time (cpuid) unless a device is told otherwise.
 * kCpuIsaAmx: the AVX-512 kernels, with Intel AMX for bf16 and Q8_0 / Q4_K / Q6_K matmuls where the
 * CPU has it and Linux grants the tile state (cpu_simd.h's amx_support). */
enum CpuIsa : int { kCpuIsaAuto = 0, kCpuIsaScalar = 1, kCpuIsaAvx2 = 2, kCpuIsaAvx512 = 3, kCpuIsaAmx = 4 };

/** The best CpuIsa this CPU supports (AVX-512 needs F, BW, VL; AVX2 needs FMA and F16C; AMX needs
 * AVX-512 and amx_support()). */
int detect_cpu_isa();

/** Creates the CPU backend: `threads` compute threads (the worker thread is one of them) named
 * after `device_name`, a memory budget of `budget_bytes`, and kernels for `isa` (a CpuIsa; Auto
 * picks detect_cpu_isa()). Throws unsupported_architecture when the CPU lacks `isa`. */
std::unique_ptr<Backend> make_cpu_backend(const std::string& device_name, int threads, int64_t budget_bytes,
                                          int isa = kCpuIsaAuto);

}  // namespace cx
