// device.h — one device and its worker thread. The worker owns the device's backend (its CUDA
// context, later) and every model on it; jobs reach it through a FIFO queue and report through the
// runtime's completion queue. A fatal error poisons the device: later jobs fail fast.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backend.h"
#include "cortex_plugin.h"
#include "model.h"
#include "sampler.h"

namespace cx {

/** What a runtime knows about a device before its worker starts. */
struct DeviceSpec {
  int index = 0;            // position in the runtime's device list
  bool cuda = false;
  int ordinal = 0;          // index among devices of the same backend (thread name cpu-dev-N / cuda-dev-N)
  std::string name;         // human-readable (CPU model name, GPU name)
  std::string features;     // CPU features or "sm_90"
  int threads = 1;
  int64_t memory_total = 0;
  int64_t memory_free = 0;
  int cc_major = -1;
  int cc_minor = -1;
  int cpu_isa = 0;           // CpuIsa the CPU backend must use (0: detect)
};

/** A finished job: status, error text, and its result arrays. */
struct JobResult {
  cx_status status = CX_OK;
  std::string error;
  std::vector<int64_t> ints;
  std::vector<float> floats;
};

/** What a job body can use; valid only on the worker thread during the job. */
struct WorkerContext {
  Backend& backend;
  std::map<int32_t, std::unique_ptr<Model>>& models;  // models on this device by handle
  SamplerScratch& sampler;
  const std::atomic<bool>& cancel;  // set when the runtime closes
  const DeviceSpec& spec;
};

using JobFn = std::function<void(WorkerContext&, JobResult&)>;
using CompleteFn = std::function<void(int32_t job, JobResult&& result)>;

class Device {
 public:
  Device(DeviceSpec spec, CompleteFn complete);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const DeviceSpec& spec() const { return spec_; }
  /** Worker thread name: cpu-dev-N or cuda-dev-N. */
  std::string thread_name() const;
  /** Queues a job (starting the worker on first use). Throws device_poisoned / internal (closed). */
  void submit(int32_t job, JobFn fn);
  /** Cancels the running job, fails queued ones, frees models and joins the worker. Idempotent. */
  void close();

  bool poisoned() const { return poisoned_.load(); }
  std::string poison_message() const;
  int64_t memory_total() const { return memory_total_.load(); }
  int64_t memory_free() const { return memory_free_.load(); }

 private:
  void worker_main();
  std::unique_ptr<Backend> create_backend();
  void run_job(int32_t job, JobFn& fn, WorkerContext* context, cx_status backend_status,
               const std::string& backend_error);
  void poison(const std::string& reason);

  DeviceSpec spec_;
  CompleteFn complete_;
  std::thread worker_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<int32_t, JobFn>> queue_;
  bool started_ = false;
  bool stopping_ = false;
  std::atomic<bool> cancel_{false};
  std::atomic<bool> poisoned_{false};
  std::string poison_reason_;  // guarded by mutex_
  std::atomic<int64_t> memory_total_{0};
  std::atomic<int64_t> memory_free_{0};
};

}  // namespace cx
