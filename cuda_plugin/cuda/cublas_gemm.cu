// cublas_gemm.cu — dlopen loader for libcublas and the one GEMM call the backend makes.
//
// Layout: cuBLAS is column-major. Our row-major out[n, ldc] is the column-major matrix C (ldc × n),
// the row-major weight w[rows, k] is the column-major (k × rows) matrix A, and x[n, k] is the
// column-major (k × n) matrix B. So C[0:rows, :] = Aᵀ · B: transa = T, transb = N, m = rows.
#include "cublas_gemm.h"

#include <dlfcn.h>

#include <climits>
#include <mutex>

#include "dl_loader.h"
#include "error.h"

namespace cx {
namespace {

CublasApi* try_load(std::string* why) {
  const DlOpened opened = dl_open_first("CORTEX_CUBLAS_PATH", {"libcublas.so.13", "libcublas.so.12", "libcublas.so"});
  void* library = opened.library;
  const std::string& loaded = opened.loaded;
  if (library == nullptr) {
    *why = "libcublas could not be loaded (" + (opened.overridden ? loaded + ": " : std::string()) + opened.tried + ")";
    return nullptr;
  }
  auto* api = new CublasApi();
  api->library = loaded;
  const bool ok = dl_bind(library, "cublasCreate_v2", &api->create) &&
                  dl_bind(library, "cublasDestroy_v2", &api->destroy) &&
                  dl_bind(library, "cublasSetStream_v2", &api->set_stream) &&
                  dl_bind(library, "cublasGemmEx", &api->gemm_ex);
  dl_bind(library, "cublasGetVersion_v2", &api->get_version);
  if (!ok) {
    *why = loaded + " lacks cublasCreate_v2/cublasDestroy_v2/cublasSetStream_v2/cublasGemmEx";
    delete api;
    dlclose(library);
    return nullptr;
  }
  return api;  // the library stays loaded for the process lifetime
}

}  // namespace

const CublasApi* load_cublas(std::string* why) {
  static std::once_flag once;
  static CublasApi* api = nullptr;
  static std::string failure;
  std::call_once(once, [] { api = try_load(&failure); });
  if (api == nullptr && why != nullptr) *why = failure;
  return api;
}

CublasGemm::CublasGemm(const CublasApi& api, cudaStream_t stream) : api_(api) {
  int status = api_.create(&handle_);
  if (status != 0) {
    handle_ = nullptr;
    throw Error(CX_ERR_DEVICE_POISONED, "cublasCreate failed with status " + std::to_string(status), true);
  }
  status = api_.set_stream(handle_, stream);
  if (status != 0) {
    api_.destroy(handle_);
    handle_ = nullptr;
    throw Error(CX_ERR_DEVICE_POISONED, "cublasSetStream failed with status " + std::to_string(status), true);
  }
}

CublasGemm::~CublasGemm() {
  if (handle_ != nullptr) api_.destroy(handle_);
}

bool CublasGemm::gemm(float* out, int64_t ldc, const void* w, int w_type, const void* x, int x_type, int64_t rows,
                      int n, int64_t k, int compute_type) {
  if (rows > INT_MAX || k > INT_MAX || ldc > INT_MAX) return false;
  const float alpha = 1.0f;
  const float beta = 0.0f;
  const int status = api_.gemm_ex(handle_, kCublasOpT, kCublasOpN, static_cast<int>(rows), n, static_cast<int>(k),
                                  &alpha, w, w_type, static_cast<int>(k), x, x_type, static_cast<int>(k), &beta, out,
                                  CUDA_R_32F, static_cast<int>(ldc), compute_type, kCublasGemmDefault);
  if (status == 0) return true;
  if (status == kCublasStatusNotSupported || status == kCublasStatusInvalidValue) return false;
  throw Error(CX_ERR_DEVICE_POISONED,
              "cublasGemmEx failed with status " + std::to_string(status) + " (m " + std::to_string(rows) + ", n " +
                  std::to_string(n) + ", k " + std::to_string(k) + ")",
              true);
}

}  // namespace cx
