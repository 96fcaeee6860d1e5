// CUDA backend placeholder: reports how many CUDA devices the driver sees (0 without a driver).
#include <cuda_runtime.h>

#include "cortex_plugin.h"

extern "C" CX_API int32_t cx_cuda_device_count(void) {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess ? count : 0;
}
