// cuda_backend.h — what the runtime needs from the CUDA backend: a device count, a memory query and
// the Backend factory. No CUDA types appear here, so g++-compiled runtime code includes it as is.
// Without CORTEX_WITH_CUDA (no nvcc at build time) every function has an inline fallback that
// reports no devices, so callers need no #ifdef.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "backend.h"
#include "cuda_devices.h"  // CudaDeviceInfo, cuda_enumerate_devices()
#include "error.h"

namespace cx {

#ifdef CORTEX_WITH_CUDA

/** Number of CUDA devices the driver reports; 0 when there is no driver (error 35) or no device. */
int cuda_device_count();

/** Current total and free memory of CUDA device `cuda_index` (cudaMemGetInfo); false when the query
 * fails. Switches the calling thread's current device only for the duration of the call. */
bool cuda_memory_info(int cuda_index, int64_t* total, int64_t* free_bytes);

/** Creates the backend of CUDA device `cuda_index` (its ordinal among CUDA devices). Call it on the
 * device's worker thread: the backend makes that device current there, creates its stream and
 * runs every op on it. `device_name` (e.g. "cuda-dev-0") is used in error messages. Throws
 * cx::Error(CX_ERR_DEVICE_POISONED, fatal) when the device cannot be initialised. */
std::unique_ptr<Backend> make_cuda_backend(int cuda_index, const std::string& device_name);

/** True when `backend` was made by make_cuda_backend. */
bool is_cuda_backend(const Backend& backend);

/** The CUDA ordinal of a CUDA backend (throws CX_ERR_INVALID_ARGUMENT for any other backend). */
int cuda_backend_device(const Backend& backend);

/** The cudaStream_t (as void*) every op of a CUDA backend is ordered on; collectives enqueue on it. */
void* cuda_backend_stream(const Backend& backend);

#else

inline int cuda_device_count() { return 0; }
inline bool cuda_memory_info(int, int64_t*, int64_t*) { return false; }
inline std::unique_ptr<Backend> make_cuda_backend(int cuda_index, const std::string&) {
  throw Error(CX_ERR_UNSUPPORTED_ARCH,
              "CUDA device " + std::to_string(cuda_index) + " requested, but the plugin was built without nvcc");
}
inline bool is_cuda_backend(const Backend&) { return false; }
inline int cuda_backend_device(const Backend&) {
  throw Error(CX_ERR_INVALID_ARGUMENT, "not a CUDA backend (the plugin was built without nvcc)");
}
inline void* cuda_backend_stream(const Backend&) {
  throw Error(CX_ERR_INVALID_ARGUMENT, "not a CUDA backend (the plugin was built without nvcc)");
}

#endif

}  // namespace cx
