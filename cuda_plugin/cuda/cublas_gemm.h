// cublas_gemm.h — cuBLAS reached through dlopen at run time (no cuBLAS headers or link-time
// dependency), so one plugin build runs on hosts with and without libcublas. Only cublasGemmEx is
// used: prefill GEMMs with f32 output and f32 accumulation. Included by cuda_backend.cu only.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>

namespace cx {

/** The few cuBLAS entry points we call, with the ABI of cublas_api.h (enums passed as int). */
struct CublasApi {
  using Handle = void*;
  int (*create)(Handle* handle) = nullptr;                      // cublasCreate_v2
  int (*destroy)(Handle handle) = nullptr;                      // cublasDestroy_v2
  int (*set_stream)(Handle handle, cudaStream_t stream) = nullptr;  // cublasSetStream_v2
  int (*gemm_ex)(Handle handle, int transa, int transb, int m, int n, int k, const void* alpha, const void* a,
                 int a_type, int lda, const void* b, int b_type, int ldb, const void* beta, void* c, int c_type,
                 int ldc, int compute_type, int algo) = nullptr;  // cublasGemmEx
  int (*get_version)(Handle handle, int* version) = nullptr;    // cublasGetVersion_v2 (optional)
  std::string library;  // the file that was loaded
};

// Values from cublas_api.h / library_types.h.
constexpr int kCublasOpN = 0;
constexpr int kCublasOpT = 1;
constexpr int kCublasComputeF32 = 68;          // CUBLAS_COMPUTE_32F
constexpr int kCublasComputeF32FastTf32 = 77;  // CUBLAS_COMPUTE_32F_FAST_TF32
constexpr int kCublasGemmDefault = -1;         // CUBLAS_GEMM_DEFAULT
constexpr int kCublasStatusInvalidValue = 7;
constexpr int kCublasStatusNotSupported = 15;

/** The process's cuBLAS, loaded on first call (thread-safe): `CORTEX_CUBLAS_PATH` if set, else
 * libcublas.so.13, .so.12, .so. Returns nullptr, with the reason in `why`, when none loads. */
const CublasApi* load_cublas(std::string* why);

/** A cuBLAS handle bound to one backend's stream. Create and use it on the device's worker thread. */
class CublasGemm {
 public:
  /** Throws cx::Error(CX_ERR_DEVICE_POISONED, fatal) when cublasCreate fails. */
  CublasGemm(const CublasApi& api, cudaStream_t stream);
  ~CublasGemm();
  CublasGemm(const CublasGemm&) = delete;
  CublasGemm& operator=(const CublasGemm&) = delete;

  /** Row-major out[n, ldc] columns [0, rows) = x[n, k] · w[rows, k]ᵀ, with w and x of the cudaDataType
   * `w_type` / `x_type`. Returns false when cuBLAS reports the combination unsupported (the caller
   * falls back); throws a fatal cx::Error on any other failure. */
  bool gemm(float* out, int64_t ldc, const void* w, int w_type, const void* x, int x_type, int64_t rows, int n,
            int64_t k, int compute_type);

 private:
  const CublasApi& api_;
  CublasApi::Handle handle_ = nullptr;
};

}  // namespace cx
