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
#include "tensor_parallel.h"

namespace cx {

/** What cx_model_info reports: fixed once a model is loaded, but for its background repack. */
struct ModelRecord {
  int device = 0;            // rank 0's device
  std::vector<int> devices;  // every rank's device, in rank order (one entry without tensor parallelism)
  std::vector<int64_t> fields;  // CX_MODEL_FIELDS
  std::string architecture;
  std::shared_ptr<const RepackProgress> repack;  // the CX_MODEL_FIELD_REPACK_* fields, read when asked
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
  /** Makes rank r's job of a gang operation. */
  using RankJobFactory = std::function<JobFn(int rank, const std::shared_ptr<TpOp>& op)>;
  /** Queues one job per device of `devices` (rank order), all under one lock, so every device queue
   * sees gangs in the same order and two tensor-parallel models sharing devices cannot deadlock.
   * Returns one job id: it finishes when every rank has, with rank 0's result when all succeeded,
   * else the first rank's own error (not a "peer failed" echo). A failing rank aborts the op. */
  int32_t submit_gang(const std::vector<int>& devices, const RankJobFactory& make);
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
  struct Gang {
    int32_t job = 0;  // the public id
    std::vector<int> devices;
    std::vector<JobResult> results;
    int done = 0;
    std::shared_ptr<TpOp> op;
  };
  std::mutex gang_mutex_;  // held while a gang is queued on all of its devices
  std::map<int32_t, std::pair<std::shared_ptr<Gang>, int>> gang_members_;  // rank job → (gang, rank)
  std::map<int32_t, std::shared_ptr<Gang>> gangs_;  // public id → gang in flight
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
