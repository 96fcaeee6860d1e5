// cuda_devices.cu — CUDA device discovery for the runtime (src/cuda_devices.h) and the count/memory
// queries of cuda_backend.h. A host without a driver answers cudaGetDeviceCount with error 35
// (cudaErrorInsufficientDriver) or 100 (no device): both mean "no CUDA devices", never an error.
#include <cuda_runtime.h>

#include "cuda_backend.h"
#include "cuda_devices.h"

namespace cx {

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the (non-sticky) error so later calls on this thread start clean
    return 0;
  }
  return count;
}

std::vector<CudaDeviceInfo> cuda_enumerate_devices() {
  std::vector<CudaDeviceInfo> devices;
  const int count = cuda_device_count();
  for (int i = 0; i < count; i++) {
    cudaDeviceProp properties{};
    if (cudaGetDeviceProperties(&properties, i) != cudaSuccess) {
      cudaGetLastError();
      continue;
    }
    CudaDeviceInfo info;
    info.name = properties.name;
    info.memory_total = static_cast<int64_t>(properties.totalGlobalMem);
    info.cc_major = properties.major;
    info.cc_minor = properties.minor;
    info.multiprocessors = properties.multiProcessorCount;
    devices.push_back(info);
  }
  return devices;
}

bool cuda_memory_info(int cuda_index, int64_t* total, int64_t* free_bytes) {
  int previous = -1;
  if (cudaGetDevice(&previous) != cudaSuccess || cudaSetDevice(cuda_index) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  size_t free_now = 0;
  size_t total_now = 0;
  const bool ok = cudaMemGetInfo(&free_now, &total_now) == cudaSuccess;
  if (!ok) cudaGetLastError();
  if (previous != cuda_index) cudaSetDevice(previous);
  if (ok) {
    *total = static_cast<int64_t>(total_now);
    *free_bytes = static_cast<int64_t>(free_now);
  }
  return ok;
}

}  // namespace cx
