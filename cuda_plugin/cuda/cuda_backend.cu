// cuda_backend.cu — the CUDA implementation of cx::Backend for one device. Every op is enqueued on
// the backend's own non-blocking stream; copies to the host synchronise it, which is where
// asynchronous kernel faults surface. Any CUDA failure other than running out of memory throws
// cx::Error(CX_ERR_DEVICE_POISONED, fatal = true), so the runtime poisons this device only.
// Weights keep their file dtype in device memory; activations and the KV cache are f32.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "cublas_gemm.h"
#include "cuda_backend.h"
#include "error.h"
#include "kernels.h"

namespace cx {
namespace {

constexpr size_t kWidenScratchBytes = size_t{64} << 20;  // f32 copy of a weight slice for the exact cuBLAS path
constexpr int64_t kHeadroomBytes = int64_t{256} << 20;   // left free for the context, cuBLAS and scratch

int cublas_type(DType dtype) {
  return dtype == DType::F32 ? CUDA_R_32F : dtype == DType::F16 ? CUDA_R_16F : CUDA_R_16BF;
}

class CudaBackend final : public Backend {
 public:
  CudaBackend(int index, const std::string& name) : index_(index), name_(name) {
    const int count = cuda_device_count();
    if (index < 0 || index >= count) {
      throw Error(CX_ERR_NOT_FOUND, name_ + ": CUDA device " + std::to_string(index) + " does not exist (the driver reports " +
                                        std::to_string(count) + ")");
    }
    check(cudaSetDevice(index_), "cudaSetDevice");
    cudaDeviceProp properties{};
    check(cudaGetDeviceProperties(&properties, index_), "cudaGetDeviceProperties");
    if (properties.major < 8) {
      throw Error(CX_ERR_UNSUPPORTED_ARCH, name_ + ": " + properties.name + " has compute capability " +
                                               std::to_string(properties.major) + "." + std::to_string(properties.minor) +
                                               "; the CUDA backend is built for sm_80 and newer");
    }
    std::string why;
    if (!kernel_image_available(&why)) {
      throw Error(CX_ERR_UNSUPPORTED_ARCH, name_ + ": the plugin has no kernels for sm_" + std::to_string(properties.major) +
                                               std::to_string(properties.minor) + " (" + why + ")");
    }
    multiprocessors_ = properties.multiProcessorCount;
    shared_per_block_optin_ = properties.sharedMemPerBlockOptin;
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    const char* gemm_mode = std::getenv("CORTEX_CUDA_GEMM");
    tensor_core_gemm_ = gemm_mode != nullptr && std::strcmp(gemm_mode, "tensor") == 0;
    const char* no_cublas = std::getenv("CORTEX_CUDA_NO_CUBLAS");
    cublas_disabled_ = no_cublas != nullptr && no_cublas[0] != '\0' && no_cublas[0] != '0';
  }

  ~CudaBackend() override {
    if (cudaSetDevice(index_) != cudaSuccess) return;  // a broken context: leave it to process exit
    cudaStreamSynchronize(stream_);
    cublas_.reset();
    for (Scratch* s : {&attention_scratch_, &widen_scratch_, &narrow_scratch_}) {
      if (s->pointer != nullptr) cudaFree(s->pointer);
    }
    cudaStreamDestroy(stream_);
    cudaGetLastError();
  }

  int device() const { return index_; }
  cudaStream_t stream() const { return stream_; }

  // --- memory ---

  MemoryInfo memory() const override {
    bind();
    size_t free_bytes = 0;
    size_t total_bytes = 0;
    check(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
    return {static_cast<int64_t>(total_bytes), static_cast<int64_t>(free_bytes)};
  }

  void reserve(int64_t bytes, const std::string& what) override {
    const MemoryInfo now = memory();
    // Reserved but not yet allocated bytes are spoken for even though cudaMemGetInfo still counts them free.
    const int64_t pending = reserved_ > allocated_ ? reserved_ - allocated_ : 0;
    const int64_t headroom = std::min<int64_t>(kHeadroomBytes, now.total / 20);
    const int64_t available = now.free - pending - headroom;
    if (bytes > available) {
      throw Error(CX_ERR_OUT_OF_MEMORY, what + " needs " + format_bytes(bytes) + " but " + name_ + " has " +
                                            format_bytes(available > 0 ? available : 0) + " usable (" +
                                            format_bytes(now.free) + " free of " + format_bytes(now.total) + ", " +
                                            format_bytes(pending) + " reserved, " + format_bytes(headroom) + " headroom)");
    }
    reserved_ += bytes;
  }

  void unreserve(int64_t bytes) override { reserved_ = reserved_ > bytes ? reserved_ - bytes : 0; }

  void* allocate(size_t bytes) override {
    void* pointer = raw_allocate(bytes, "buffer");
    check(cudaMemsetAsync(pointer, 0, bytes == 0 ? 1 : bytes, stream_), "cudaMemsetAsync");
    return pointer;
  }

  void deallocate(void* pointer, size_t bytes) override {
    if (pointer == nullptr) return;
    // Called from destructors: never throws. A failure here means a broken context, which the next
    // op reports (and poisons the device).
    if (cudaSetDevice(index_) == cudaSuccess && cudaFree(pointer) != cudaSuccess) cudaGetLastError();
    const int64_t size = static_cast<int64_t>(bytes == 0 ? 1 : bytes);
    allocated_ = allocated_ > size ? allocated_ - size : 0;
  }

  void copy_within(void* to, const void* from, size_t bytes) override {
    if (bytes == 0) return;
    bind();
    check(cudaMemcpyAsync(to, from, bytes, cudaMemcpyDeviceToDevice, stream_), "cudaMemcpyAsync on the device");
  }

  void copy_to_device(void* device, const void* host, size_t bytes) override {
    if (bytes == 0) return;
    bind();
    check(cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync to device");
    check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");  // the host buffer may go away on return
  }

  void copy_to_host(void* host, const void* device, size_t bytes) override {
    if (bytes == 0) return;
    bind();
    check(cudaMemcpyAsync(host, device, bytes, cudaMemcpyDeviceToHost, stream_), "cudaMemcpyAsync to host");
    check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  }

  Tensor upload_weight(const TensorView& view, int64_t rows, int64_t cols) override {
    // Quantized weights are copied block for block (device bytes = view.bytes) and decoded by the kernels.
    const bool supported = view.dtype == DType::F32 || view.dtype == DType::F16 || view.dtype == DType::BF16 ||
                           dtype_is_quantized(view.dtype);
    if (!supported) {
      throw Error(CX_ERR_UNSUPPORTED_ARCH, "tensor " + view.name + " has dtype " + view.dtype_tag +
                                               "; the CUDA backend computes with F32, F16, BF16, Q8_0, Q4_0, Q4_K, "
                                               "Q5_K and Q6_K");
    }
    if (dtype_is_quantized(view.dtype) && cols % dtype_block_elements(view.dtype) != 0) {
      throw Error(CX_ERR_BAD_MODEL, "tensor " + view.name + " has " + std::to_string(cols) + " columns, not a multiple of " +
                                        std::to_string(dtype_block_elements(view.dtype)) + " (the " +
                                        dtype_name(view.dtype) + " block)");
    }
    Tensor tensor;
    tensor.dtype = view.dtype;
    tensor.rows = rows;
    tensor.cols = cols;
    if (tensor.bytes() != view.bytes) {
      throw Error(CX_ERR_BAD_MODEL, "tensor " + view.name + " holds " + std::to_string(view.bytes) + " bytes, not the " +
                                        std::to_string(tensor.bytes()) + " of [" + std::to_string(rows) + ", " +
                                        std::to_string(cols) + "] " + dtype_name(view.dtype));
    }
    void* device = raw_allocate(view.bytes, view.name.c_str());
    try {
      copy_to_device(device, view.data, view.bytes);
    } catch (...) {
      deallocate(device, view.bytes);
      throw;
    }
    tensor.data = device;
    tensor.owned = true;
    return tensor;
  }

  void release_weight(Tensor& tensor) override {
    if (tensor.owned) deallocate(const_cast<void*>(tensor.data), tensor.bytes());
    tensor = Tensor();
  }

  // --- ops ---

  void embed(float* out, const Tensor& table, const int32_t* tokens, int n) override {
    bind();
    launch_embed(out, table, tokens, n, stream_);
  }

  void rmsnorm(float* out, const float* x, const float* weight, int rows, int dim, float eps) override {
    bind();
    launch_rmsnorm(out, x, weight, rows, dim, eps, stream_);
  }

  void matmul(float* out, const float* x, const Tensor& w, int n) override {
    bind();
    if (n <= 0 || w.rows <= 0) return;
    if (n <= kMatvecMaxRows) return launch_matvec(out, x, w, n, stream_);
    if (CublasGemm* cublas = cublas_gemm()) {
      if (gemm_with_cublas(*cublas, out, x, w, n)) return;
      cublas_disabled_ = true;  // cuBLAS declined this shape/type: use the tiled kernel from now on
    }
    if (!dtype_is_quantized(w.dtype)) return launch_gemm_tiled(out, x, w, n, stream_);
    // The tiled kernel reads f32/f16/bf16: a quantized weight is dequantized slice by slice first.
    gemm_by_slices(out, w, widen_slice(w), widen_slice_rows(w), stream_,
                   [&](float* out_rows, const Tensor& slice, int64_t stride) {
                     launch_gemm_tiled(out_rows, x, slice, n, stream_, stride);
                     return true;
                   });
  }

  void add_bias(float* x, const float* bias, int rows, int dim) override {
    bind();
    launch_add_bias(x, bias, rows, dim, stream_);
  }

  void rope(float* x, const int32_t* positions, int n, int heads, int head_dim, const RopeSpec& spec) override {
    bind();
    launch_rope(x, positions, n, heads, head_dim, spec.rotary_dim, spec.inv_freq, spec.attention_scale, stream_);
  }

  void kv_store(KvCache& cache, int layer, const float* k, const float* v, const BatchRows& rows) override {
    bind();
    launch_kv_store(cache, layer, k, v, rows.slots, rows.positions, rows.n, stream_);
  }

  void attention(float* out, const float* q, const KvCache& cache, int layer, const BatchRows& rows, int heads,
                 int kv_heads, int head_dim, int window) override {
    bind();
    const AttentionPlan plan = plan_attention(rows.n, heads, cache.context, multiprocessors_);
    const size_t floats = attention_workspace_floats(plan, rows.n, heads, head_dim);
    float* workspace = floats > 0 ? static_cast<float*>(ensure(attention_scratch_, floats * sizeof(float))) : nullptr;
    launch_attention(out, q, cache, layer, rows.slots, rows.positions, rows.n, heads, kv_heads, head_dim, window, plan,
                     workspace, stream_);
  }

  void swiglu(float* out, const float* gate, const float* up, int64_t count) override {
    bind();
    launch_swiglu(out, gate, up, count, stream_);
  }

  void add(float* x, const float* y, int64_t count) override {
    bind();
    launch_add(x, y, count, stream_);
  }

  void gather_rows(float* out, const float* x, const int32_t* rows, int m, int dim) override {
    bind();
    launch_gather_rows(out, x, rows, m, dim, stream_);
  }

  // Hybrid ops (kernels_hybrid.cuh).
  bool has_hybrid_ops() const override { return true; }

  void sigmoid_gate(float* x, const float* gate, int64_t count) override {
    bind();
    launch_sigmoid_gate(x, gate, count, stream_);
  }

  void sigmoid_scale_rows(float* y, const float* gate, int rows, int dim) override {
    bind();
    launch_sigmoid_scale_rows(y, gate, rows, dim, stream_);
  }

  void conv1d_silu(float* out, const float* x, float* conv_state, const float* weight, const BatchRows& rows,
      const DeltaNetShape& shape) override {
    bind();
    launch_conv1d_silu(out, x, conv_state, weight, rows.slots, rows.positions, rows.n, shape, stream_);
  }

  void gated_delta_rule(float* out, const float* qkv, const float* b, const float* a, const float* a_log,
      const float* dt_bias, float* state, const BatchRows& rows, const DeltaNetShape& shape) override {
    bind();
    launch_gated_delta_rule(out, qkv, b, a, a_log, dt_bias, state, rows, shape, shared_per_block_optin_, stream_);
  }

  void gated_rmsnorm(float* out, const float* x, const float* z, const float* weight, int rows, int dim,
      float eps) override {
    bind();
    launch_gated_rmsnorm(out, x, z, weight, rows, dim, eps, stream_);
  }

  void moe_combine(float* out, const float* y, const int32_t* rows, const float* weights, int n, int k,
                   int dim) override {
    bind();
    launch_moe_combine(out, y, rows, weights, n, k, dim, stream_);
  }

 private:
  struct Scratch {
    void* pointer = nullptr;
    size_t bytes = 0;
  };

  [[noreturn]] void fail(cudaError_t status, const char* what) const {
    cudaGetLastError();
    throw Error(CX_ERR_DEVICE_POISONED, name_ + ": " + what + " failed: " + cudaGetErrorName(status) + " (" +
                                            cudaGetErrorString(status) + ")",
                true);
  }

  void check(cudaError_t status, const char* what) const {
    if (status != cudaSuccess) fail(status, what);
  }

  /** Makes this backend's device current on the calling thread (a no-op on its worker thread). */
  void bind() const {
    int current = -1;
    if (cudaGetDevice(&current) != cudaSuccess || current != index_) check(cudaSetDevice(index_), "cudaSetDevice");
  }

  void* raw_allocate(size_t bytes, const char* what) {
    bind();
    void* pointer = nullptr;
    const cudaError_t status = cudaMalloc(&pointer, bytes == 0 ? 1 : bytes);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // not sticky: the device stays usable
      throw Error(CX_ERR_OUT_OF_MEMORY, name_ + ": cudaMalloc of " + format_bytes(static_cast<int64_t>(bytes)) +
                                            " for " + what + " failed: out of device memory");
    }
    check(status, "cudaMalloc");
    allocated_ += static_cast<int64_t>(bytes == 0 ? 1 : bytes);
    return pointer;
  }

  /** Grows a scratch buffer to at least `bytes` (freeing the old one synchronises the device). */
  void* ensure(Scratch& scratch, size_t bytes) {
    if (scratch.bytes >= bytes) return scratch.pointer;
    if (scratch.pointer != nullptr) {
      check(cudaFree(scratch.pointer), "cudaFree");
      scratch = Scratch();
    }
    const size_t rounded = (bytes + (size_t{1} << 20) - 1) & ~((size_t{1} << 20) - 1);
    const cudaError_t status = cudaMalloc(&scratch.pointer, rounded);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      scratch.pointer = nullptr;
      throw Error(CX_ERR_OUT_OF_MEMORY, name_ + ": no device memory for " + format_bytes(static_cast<int64_t>(rounded)) +
                                            " of scratch");
    }
    check(status, "cudaMalloc");
    scratch.bytes = rounded;
    return scratch.pointer;
  }

  /** The backend's cuBLAS handle, created on first use; nullptr when libcublas is unavailable. */
  CublasGemm* cublas_gemm() {
    if (cublas_disabled_) return nullptr;
    if (!cublas_) {
      const CublasApi* api = load_cublas(&cublas_missing_);
      if (api == nullptr) {
        cublas_disabled_ = true;
        return nullptr;
      }
      cublas_.reset(new CublasGemm(*api, stream_));
    }
    return cublas_.get();
  }

  /** out = x · wᵀ through cublasGemmEx. f32 weights: SGEMM (TF32 in tensor mode). 16-bit weights:
   * by default widened to f32 slice by slice so the product equals the CPU backend's (f32
   * activations × exact weights, f32 accumulation); with CORTEX_CUDA_GEMM=tensor the activations
   * are rounded to the weight dtype instead and the GEMM runs on tensor cores. */
  bool gemm_with_cublas(CublasGemm& cublas, float* out, const float* x, const Tensor& w, int n) {
    const int64_t d = w.rows;
    const int64_t k = w.cols;
    if (w.dtype == DType::F32) {
      return cublas.gemm(out, d, w.data, CUDA_R_32F, x, CUDA_R_32F, d, n, k,
                         tensor_core_gemm_ ? kCublasComputeF32FastTf32 : kCublasComputeF32);
    }
    if (tensor_core_gemm_ && !dtype_is_quantized(w.dtype)) {
      void* narrow = ensure(narrow_scratch_, static_cast<size_t>(n) * static_cast<size_t>(k) * 2);
      launch_narrow(narrow, x, w.dtype, static_cast<int64_t>(n) * k, stream_);
      return cublas.gemm(out, d, w.data, cublas_type(w.dtype), narrow, cublas_type(w.dtype), d, n, k, kCublasComputeF32);
    }
    // 16-bit weights widened, quantized ones dequantized (quant.h), then SGEMM on each f32 slice.
    return gemm_by_slices(out, w, widen_slice(w), widen_slice_rows(w), stream_,
                          [&](float* out_rows, const Tensor& slice, int64_t stride) {
                            return cublas.gemm(out_rows, stride, slice.data, CUDA_R_32F, x, CUDA_R_32F, slice.rows, n,
                                               k, kCublasComputeF32);
                          });
  }

  /** Weight rows per f32 slice of the widen scratch (64 MiB, at least one row). */
  static int64_t widen_slice_rows(const Tensor& w) {
    return std::max<int64_t>(1, std::min<int64_t>(w.rows, static_cast<int64_t>(kWidenScratchBytes / 4) / w.cols));
  }

  float* widen_slice(const Tensor& w) {
    return static_cast<float*>(ensure(widen_scratch_, static_cast<size_t>(widen_slice_rows(w) * w.cols) * sizeof(float)));
  }

  const int index_;
  const std::string name_;
  cudaStream_t stream_ = nullptr;
  int multiprocessors_ = 1;
  size_t shared_per_block_optin_ = 0;  // the most dynamic shared memory one block may opt into
  int64_t reserved_ = 0;
  int64_t allocated_ = 0;
  Scratch attention_scratch_, widen_scratch_, narrow_scratch_;
  std::unique_ptr<CublasGemm> cublas_;
  std::string cublas_missing_;
  bool cublas_disabled_ = false;
  bool tensor_core_gemm_ = false;
};

const CudaBackend& as_cuda(const Backend& backend) {
  const auto* cuda = dynamic_cast<const CudaBackend*>(&backend);
  if (cuda == nullptr) throw Error(CX_ERR_INVALID_ARGUMENT, "not a CUDA backend");
  return *cuda;
}

}  // namespace

std::unique_ptr<Backend> make_cuda_backend(int cuda_index, const std::string& device_name) {
  return std::make_unique<CudaBackend>(cuda_index, device_name);
}

bool is_cuda_backend(const Backend& backend) { return dynamic_cast<const CudaBackend*>(&backend) != nullptr; }

int cuda_backend_device(const Backend& backend) { return as_cuda(backend).device(); }

void* cuda_backend_stream(const Backend& backend) { return static_cast<void*>(as_cuda(backend).stream()); }

}  // namespace cx
