// cuda_devices.h — CUDA device enumeration. Implemented in cuda/cuda_devices.cu when the plugin is
// built with nvcc (CORTEX_WITH_CUDA); otherwise there are no CUDA devices. A host without a driver
// (cudaGetDeviceCount → error 35) also reports none.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cx {

struct CudaDeviceInfo {
  std::string name;
  int64_t memory_total = 0;
  int cc_major = 0;
  int cc_minor = 0;
  int multiprocessors = 0;
};

#ifdef CORTEX_WITH_CUDA
/** Every CUDA device the driver reports (empty without a driver). Never throws. */
std::vector<CudaDeviceInfo> cuda_enumerate_devices();
#else
inline std::vector<CudaDeviceInfo> cuda_enumerate_devices() { return {}; }
#endif

}  // namespace cx
