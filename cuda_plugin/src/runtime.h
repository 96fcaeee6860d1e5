// runtime.h — a runtime: its devices, the registry of loaded models, and the completion queue
// through which finished job ids reach the caller (cx_wait_any). Several runtimes may coexist in
// one process; each is addressed by an int handle through the global registry.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "device.h"

namespace cx {

/** What cx_model_info reports; fixed once a model is loaded. */
struct ModelRecord {
  int device = 0;
  std::vector<int64_t> fields;  // CX_MODEL_FIELDS
  std::string architecture;
};

class Runtime {
 public:
  Runtime(int cpu_devices, int64_t cpu_budget_bytes, int cpu_threads, int cpu_isa = 0);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  int device_count() const { return static_cast<int>(devices_.size()); }
  /** Throws not_found for a bad index. */
  Device& device(int index);

  /** Queues `fn` on device `index`; returns the job id. Throws on a bad index, poisoned or closed device. */
  int32_t submit(int index, JobFn fn);
  /** A fresh handle for a model or sequence (unique within the runtime). */
  int32_t new_handle() { return next_handle_.fetch_add(1); }

  void register_model(int32_t handle, ModelRecord record);
  void forget_model(int32_t handle);
  /** Throws not_found when the model is not loaded. */
  ModelRecord find_model(int32_t handle);

  /** Blocks up to timeout_ms for finished jobs; -1 once closed with nothing left. */
  int wait_any(int32_t* ids, int max_ids, int timeout_ms);
  /** Status, sizes and error text of a finished job; CX_PENDING while running, not_found if unknown. */
  cx_status job_sizes(int32_t job, int64_t* out3, std::string& error);
  /** Copies results (up to the caps) and forgets the job. */
  cx_status job_take(int32_t job, int64_t* ints, int64_t ints_cap, float* floats, int64_t floats_cap);

  /** Closes every device (joins its worker) and wakes waiters. Idempotent. */
  void close();

 private:
  void complete(int32_t job, JobResult&& result);

  std::vector<std::unique_ptr<Device>> devices_;
  std::atomic<int32_t> next_job_{1};
  std::atomic<int32_t> next_handle_{1};
  std::mutex models_mutex_;
  std::map<int32_t, ModelRecord> models_;
  std::mutex queue_mutex_;
  std::condition_variable queue_ready_;
  std::deque<int32_t> ready_;
  std::map<int32_t, JobResult> finished_;
  std::map<int32_t, bool> running_;  // submitted, not finished
  bool closed_ = false;
};

/** Global registry of runtimes. */
int32_t open_runtime(int cpu_devices, int64_t cpu_budget_bytes, int cpu_threads, int cpu_isa = 0);
/** The runtime for `handle`; throws not_found. */
std::shared_ptr<Runtime> find_runtime(int32_t handle);
/** Closes and forgets one runtime; false if unknown. */
bool close_runtime(int32_t handle);
/** Closes every runtime (also run by a static destructor when the library unloads or the process exits). */
void close_all_runtimes();

}  // namespace cx
