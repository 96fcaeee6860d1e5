// nvml_loader.h — optional per-GPU telemetry through NVML (libnvidia-ml.so.1, loaded with dlopen):
// memory as the driver sees it (all processes, not just ours), utilisation, temperature and power.
// CUDA and NVML number devices differently, so devices are matched by PCI bus id. No CUDA types
// here; without CORTEX_WITH_CUDA the query reports NVML as unavailable.
#pragma once

#include <cstdint>
#include <string>

namespace cx {

/** One NVML reading; -1 marks a figure the driver did not report. */
struct GpuTelemetry {
  int64_t memory_total = -1;  // bytes
  int64_t memory_used = -1;
  int64_t memory_free = -1;
  int gpu_utilization = -1;     // percent of the last sample period with a kernel running
  int memory_utilization = -1;  // percent of it with device memory being read or written
  int temperature_c = -1;
  int power_mw = -1;
};

#ifdef CORTEX_WITH_CUDA
/** Reads the telemetry of CUDA device `cuda_index`; false, with the reason in `why`, when NVML is
 * missing or the device cannot be matched. Thread-safe; NVML is initialised once per process. */
bool nvml_query(int cuda_index, GpuTelemetry* out, std::string* why);
#else
inline bool nvml_query(int, GpuTelemetry*, std::string* why) {
  if (why != nullptr) *why = "the plugin was built without nvcc";
  return false;
}
#endif

}  // namespace cx
