// nvml_loader.cu — dlopen of libnvidia-ml and the few nvml.h calls nvml_query makes (types restated:
// nvmlReturn_t is int, nvmlDevice_t a pointer, nvmlMemory_t {total, free, used}, nvmlUtilization_t
// {gpu, memory}, NVML_TEMPERATURE_GPU = 0).
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <mutex>

#include "dl_loader.h"
#include "nvml_loader.h"

namespace cx {
namespace {

using NvmlDevice = void*;
struct NvmlMemory {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
struct NvmlUtilization {
  unsigned int gpu;
  unsigned int memory;
};

struct NvmlApi {
  int (*init)() = nullptr;                                                        // nvmlInit_v2
  int (*handle_by_pci)(const char* bus_id, NvmlDevice* device) = nullptr;         // nvmlDeviceGetHandleByPciBusId_v2
  int (*memory_info)(NvmlDevice device, NvmlMemory* memory) = nullptr;            // nvmlDeviceGetMemoryInfo
  int (*utilization)(NvmlDevice device, NvmlUtilization* utilization) = nullptr;  // nvmlDeviceGetUtilizationRates
  int (*temperature)(NvmlDevice device, int sensor, unsigned int* celsius) = nullptr;  // nvmlDeviceGetTemperature
  int (*power)(NvmlDevice device, unsigned int* milliwatts) = nullptr;                 // nvmlDeviceGetPowerUsage
  const char* (*error_string)(int result) = nullptr;                                   // nvmlErrorString
};

NvmlApi* try_load(std::string* why) {
  void* library = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* error = dlerror();
    *why = std::string("libnvidia-ml.so.1 could not be loaded (") + (error != nullptr ? error : "unknown") + ")";
    return nullptr;
  }
  auto* api = new NvmlApi();
  const bool ok = dl_bind(library, "nvmlInit_v2", &api->init) &&
                  dl_bind(library, "nvmlDeviceGetHandleByPciBusId_v2", &api->handle_by_pci) &&
                  dl_bind(library, "nvmlDeviceGetMemoryInfo", &api->memory_info);
  dl_bind(library, "nvmlDeviceGetUtilizationRates", &api->utilization);
  dl_bind(library, "nvmlDeviceGetTemperature", &api->temperature);
  dl_bind(library, "nvmlDeviceGetPowerUsage", &api->power);
  dl_bind(library, "nvmlErrorString", &api->error_string);
  if (!ok) {
    *why = "libnvidia-ml.so.1 lacks nvmlInit_v2/nvmlDeviceGetHandleByPciBusId_v2/nvmlDeviceGetMemoryInfo";
  } else if (const int result = api->init(); result != 0) {
    *why = "nvmlInit failed with " + std::to_string(result) +
           (api->error_string != nullptr ? std::string(" (") + api->error_string(result) + ")" : "");
  } else {
    return api;  // initialised for the process lifetime
  }
  delete api;
  dlclose(library);
  return nullptr;
}

const NvmlApi* nvml(std::string* why) {
  static std::once_flag once;
  static NvmlApi* api = nullptr;
  static std::string failure;
  std::call_once(once, [] { api = try_load(&failure); });
  if (api == nullptr && why != nullptr) *why = failure;
  return api;
}

}  // namespace

bool nvml_query(int cuda_index, GpuTelemetry* out, std::string* why) {
  std::string reason;
  const NvmlApi* api = nvml(&reason);
  if (api == nullptr) {
    if (why != nullptr) *why = reason;
    return false;
  }
  char bus_id[32] = {0};
  const cudaError_t status = cudaDeviceGetPCIBusId(bus_id, sizeof(bus_id), cuda_index);
  if (status != cudaSuccess) {
    cudaGetLastError();
    if (why != nullptr) *why = std::string("cudaDeviceGetPCIBusId failed: ") + cudaGetErrorString(status);
    return false;
  }
  NvmlDevice device = nullptr;
  if (const int result = api->handle_by_pci(bus_id, &device); result != 0) {
    if (why != nullptr) *why = std::string("NVML has no device at PCI ") + bus_id + " (error " + std::to_string(result) + ")";
    return false;
  }
  GpuTelemetry reading;
  NvmlMemory memory{};
  if (api->memory_info(device, &memory) == 0) {
    reading.memory_total = static_cast<int64_t>(memory.total);
    reading.memory_free = static_cast<int64_t>(memory.free);
    reading.memory_used = static_cast<int64_t>(memory.used);
  }
  NvmlUtilization utilization{};
  if (api->utilization != nullptr && api->utilization(device, &utilization) == 0) {
    reading.gpu_utilization = static_cast<int>(utilization.gpu);
    reading.memory_utilization = static_cast<int>(utilization.memory);
  }
  unsigned int value = 0;
  if (api->temperature != nullptr && api->temperature(device, 0, &value) == 0) reading.temperature_c = static_cast<int>(value);
  if (api->power != nullptr && api->power(device, &value) == 0) reading.power_mw = static_cast<int>(value);
  *out = reading;
  return true;
}

}  // namespace cx
