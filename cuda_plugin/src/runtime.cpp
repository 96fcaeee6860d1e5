// runtime.cpp — device enumeration, job bookkeeping and the completion queue.
#include "runtime.h"

#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "cuda_backend.h"
#include "error.h"

namespace cx {
namespace {

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

int64_t physical_memory() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : int64_t{1} << 32;
}

std::string cpu_model_name() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "CPU";
}

std::string cpu_features() {
  std::string features;
  __builtin_cpu_init();
  auto add = [&](bool present, const char* name) {
    if (present) features += (features.empty() ? "" : " ") + std::string(name);
  };
  add(__builtin_cpu_supports("sse4.2"), "sse4.2");
  add(__builtin_cpu_supports("avx"), "avx");
  add(__builtin_cpu_supports("avx2"), "avx2");
  add(__builtin_cpu_supports("fma"), "fma");
  add(__builtin_cpu_supports("f16c"), "f16c");
  add(__builtin_cpu_supports("avx512f"), "avx512f");
  add(__builtin_cpu_supports("avx512bw"), "avx512bw");
  add(__builtin_cpu_supports("avx512vnni"), "avx512vnni");
  add(__builtin_cpu_supports("avx512bf16"), "avx512bf16");
  return features;
}

}  // namespace

Runtime::Runtime(int cpu_devices, int64_t cpu_budget_bytes, int cpu_threads, int cpu_isa) {
  auto complete = [this](int32_t job, JobResult&& result) { this->complete(job, std::move(result)); };
  const std::vector<CudaDeviceInfo> gpus = cuda_enumerate_devices();
  for (size_t i = 0; i < gpus.size(); i++) {
    DeviceSpec spec;
    spec.index = static_cast<int>(devices_.size());
    spec.cuda = true;
    spec.ordinal = static_cast<int>(i);
    spec.name = gpus[i].name;
    spec.features = "sm_" + std::to_string(gpus[i].cc_major) + std::to_string(gpus[i].cc_minor);
    spec.threads = gpus[i].multiprocessors;
    spec.memory_total = gpus[i].memory_total;
    spec.memory_free = gpus[i].memory_total;
    int64_t total = 0;
    int64_t free_bytes = 0;
    if (cuda_memory_info(static_cast<int>(i), &total, &free_bytes)) spec.memory_free = free_bytes;
    spec.cc_major = gpus[i].cc_major;
    spec.cc_minor = gpus[i].cc_minor;
    devices_.push_back(std::make_unique<Device>(spec, complete));
  }
  const int best_isa = detect_cpu_isa();
  if (cpu_isa > best_isa) {
    // Indexed by CpuIsa: one name per level, up to kCpuIsaAmx (a missing one read past the array).
    static const char* const names[] = {"auto", "scalar", "avx2", "avx512", "amx"};
    static_assert(sizeof(names) / sizeof(names[0]) == kCpuIsaAmx + 1, "one name per CpuIsa");
    throw Error(CX_ERR_INVALID_ARGUMENT, std::string("cpuIsa ") + names[cpu_isa] + " is not supported by this CPU "
        + "(best: " + names[best_isa] + ")");
  }
  const int isa = cpu_isa == kCpuIsaAuto ? best_isa : cpu_isa;
  const int threads = cpu_threads > 0 ? cpu_threads : std::max(1, available_cores() / std::max(1, cpu_devices));
  // Without a configured budget the CPU devices share physical memory evenly (as neuron.toml documents).
  const int64_t budget = cpu_budget_bytes > 0 ? cpu_budget_bytes : physical_memory() / std::max(1, cpu_devices);
  const std::string name = cpu_model_name();
  const std::string features = cpu_features();
  for (int i = 0; i < cpu_devices; i++) {
    DeviceSpec spec;
    spec.index = static_cast<int>(devices_.size());
    spec.ordinal = i;
    spec.name = name;
    spec.features = features;
    spec.threads = threads;
    spec.memory_total = budget;
    spec.memory_free = budget;
    spec.cpu_isa = isa;
    devices_.push_back(std::make_unique<Device>(spec, complete));
  }
}

Runtime::~Runtime() { close(); }

Device& Runtime::device(int index) {
  if (index < 0 || index >= device_count()) {
    throw Error(CX_ERR_NOT_FOUND, "device " + std::to_string(index) + " does not exist (this runtime has "
        + std::to_string(device_count()) + ")");
  }
  return *devices_[static_cast<size_t>(index)];
}

int32_t Runtime::submit(int index, JobFn fn) {
  Device& target = device(index);
  const int32_t job = next_job_.fetch_add(1);
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    if (closed_) throw Error(CX_ERR_INTERNAL, "the runtime is closed");
    running_[job] = true;
  }
  try {
    target.submit(job, std::move(fn));
  } catch (...) {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    running_.erase(job);
    throw;
  }
  return job;
}

int32_t Runtime::submit_gang(const std::vector<int>& devices, const RankJobFactory& make) {
  for (int index : devices) {
    Device& target = device(index);
    if (target.poisoned()) throw Error(CX_ERR_DEVICE_POISONED, target.poison_message());
  }
  auto gang = std::make_shared<Gang>();
  gang->devices = devices;
  gang->results.resize(devices.size());
  gang->op = std::make_shared<TpOp>(static_cast<int>(devices.size()));
  gang->job = next_job_.fetch_add(1);
  std::vector<int32_t> members(devices.size());
  std::vector<JobFn> fns;
  for (size_t r = 0; r < devices.size(); r++) fns.push_back(make(static_cast<int>(r), gang->op));
  std::lock_guard<std::mutex> gang_lock(gang_mutex_);
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    if (closed_) throw Error(CX_ERR_INTERNAL, "the runtime is closed");
    running_[gang->job] = true;
    gangs_[gang->job] = gang;
    for (size_t r = 0; r < devices.size(); r++) {
      members[r] = next_job_.fetch_add(1);
      gang_members_[members[r]] = {gang, static_cast<int>(r)};
    }
  }
  for (size_t r = 0; r < devices.size(); r++) {
    try {
      devices_[static_cast<size_t>(devices[r])]->submit(members[r], std::move(fns[r]));
    } catch (const Error& error) {
      // The ranks already queued must not wait for this one: fail it and every later rank.
      for (size_t rest = r; rest < devices.size(); rest++) {
        JobResult failed;
        failed.status = error.code();
        failed.error = error.what();
        complete(members[rest], std::move(failed));
      }
      break;
    }
  }
  return gang->job;
}

void Runtime::complete(int32_t job, JobResult&& result) {
  std::shared_ptr<TpOp> abort_op;
  std::string abort_reason;
  {
    std::unique_lock<std::mutex> lock(queue_mutex_);
    auto member = gang_members_.find(job);
    if (member != gang_members_.end()) {
      std::shared_ptr<Gang> gang = member->second.first;
      const int rank = member->second.second;
      gang_members_.erase(member);
      if (result.status != CX_OK) {
        abort_op = gang->op;
        abort_reason = "rank " + std::to_string(rank) + " (device " + std::to_string(gang->devices[static_cast<size_t>(
            rank)]) + ") failed: " + result.error;
      }
      gang->results[static_cast<size_t>(rank)] = std::move(result);
      if (++gang->done < static_cast<int>(gang->results.size())) {
        lock.unlock();
        if (abort_op) abort_op->abort(abort_reason);
        return;
      }
      // Every rank is done: rank 0's result, or the first error that is not a peer's echo.
      size_t chosen = 0;
      bool primary = false;
      for (size_t r = 0; r < gang->results.size() && !primary; r++) {
        const JobResult& candidate = gang->results[r];
        if (candidate.status == CX_OK) continue;
        if (candidate.error.rfind(kPeerFailedPrefix, 0) != 0) {
          chosen = r;
          primary = true;
        } else if (gang->results[chosen].status == CX_OK) {
          chosen = r;
        }
      }
      JobResult final_result = std::move(gang->results[chosen]);
      if (final_result.status != CX_OK && chosen != 0) final_result.error = "device "
          + std::to_string(gang->devices[chosen]) + " (tensor-parallel rank " + std::to_string(chosen) + "): "
          + final_result.error;
      job = gang->job;
      result = std::move(final_result);
      gangs_.erase(job);
    }
    running_.erase(job);
    finished_[job] = std::move(result);
    ready_.push_back(job);
  }
  queue_ready_.notify_all();
  if (abort_op) abort_op->abort(abort_reason);
}

void Runtime::register_model(int32_t handle, ModelRecord record) {
  std::lock_guard<std::mutex> lock(models_mutex_);
  models_[handle] = std::move(record);
}

void Runtime::forget_model(int32_t handle) {
  std::lock_guard<std::mutex> lock(models_mutex_);
  models_.erase(handle);
}

ModelRecord Runtime::find_model(int32_t handle) {
  std::lock_guard<std::mutex> lock(models_mutex_);
  auto it = models_.find(handle);
  if (it == models_.end()) throw Error(CX_ERR_NOT_FOUND, "model " + std::to_string(handle) + " is not loaded");
  return it->second;
}

int Runtime::wait_any(int32_t* ids, int max_ids, int timeout_ms) {
  std::unique_lock<std::mutex> lock(queue_mutex_);
  queue_ready_.wait_for(lock, std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms), [&] { return closed_
      || !ready_.empty(); });
  if (ready_.empty()) return closed_ ? -1 : 0;
  int count = 0;
  while (count < max_ids && !ready_.empty()) {
    ids[count++] = ready_.front();
    ready_.pop_front();
  }
  return count;
}

cx_status Runtime::job_sizes(int32_t job, int64_t* out3, std::string& error) {
  std::lock_guard<std::mutex> lock(queue_mutex_);
  auto it = finished_.find(job);
  if (it == finished_.end()) {
    if (running_.count(job) != 0) return CX_PENDING;
    error = "job " + std::to_string(job) + " is unknown (already taken?)";
    return CX_ERR_NOT_FOUND;
  }
  out3[0] = it->second.status;
  out3[1] = static_cast<int64_t>(it->second.ints.size());
  out3[2] = static_cast<int64_t>(it->second.floats.size());
  error = it->second.error;
  return CX_OK;
}

cx_status Runtime::job_take(int32_t job, int64_t* ints, int64_t ints_cap, float* floats, int64_t floats_cap) {
  JobResult result;
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    auto it = finished_.find(job);
    if (it == finished_.end()) return running_.count(job) != 0 ? CX_PENDING : CX_ERR_NOT_FOUND;
    result = std::move(it->second);
    finished_.erase(it);
  }
  const size_t n_ints = std::min<size_t>(result.ints.size(), ints_cap < 0 ? 0 : static_cast<size_t>(ints_cap));
  const size_t n_floats = std::min<size_t>(result.floats.size(),
      floats_cap < 0 ? 0 : static_cast<size_t>(floats_cap));
  if (n_ints > 0) std::memcpy(ints, result.ints.data(), n_ints * sizeof(int64_t));
  if (n_floats > 0) std::memcpy(floats, result.floats.data(), n_floats * sizeof(float));
  return CX_OK;
}

void Runtime::close() {
  // Ranks waiting for a peer whose device is about to stop must not wait forever.
  std::vector<std::shared_ptr<TpOp>> ops;
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    for (auto& entry : gangs_) ops.push_back(entry.second->op);
  }
  for (auto& op : ops) op->abort("the runtime is closing");
  for (auto& device : devices_) device->close();
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    closed_ = true;
  }
  queue_ready_.notify_all();
}

// ---- global registry --------------------------------------------------------------------------

namespace {

struct Registry {
  std::mutex mutex;
  std::map<int32_t, std::shared_ptr<Runtime>> runtimes;
  int32_t next = 1;
  // Runs when the library is unloaded or the process exits: join every worker first, so no device
  // thread outlives the code and memory it runs on.
  ~Registry() { close_all_runtimes(); }
};

Registry& registry() {
  static Registry instance;
  return instance;
}

}  // namespace

int32_t open_runtime(int cpu_devices, int64_t cpu_budget_bytes, int cpu_threads, int cpu_isa) {
  auto runtime = std::make_shared<Runtime>(cpu_devices, cpu_budget_bytes, cpu_threads, cpu_isa);
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  const int32_t handle = r.next++;
  r.runtimes[handle] = std::move(runtime);
  return handle;
}

std::shared_ptr<Runtime> find_runtime(int32_t handle) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.runtimes.find(handle);
  if (it == r.runtimes.end()) throw Error(CX_ERR_NOT_FOUND, "runtime " + std::to_string(handle) + " is not open");
  return it->second;
}

bool close_runtime(int32_t handle) {
  std::shared_ptr<Runtime> runtime;
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    auto it = r.runtimes.find(handle);
    if (it == r.runtimes.end()) return false;
    runtime = it->second;
    r.runtimes.erase(it);
  }
  runtime->close();
  return true;
}

void close_all_runtimes() {
  std::map<int32_t, std::shared_ptr<Runtime>> runtimes;
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    runtimes.swap(r.runtimes);
  }
  for (auto& entry : runtimes) entry.second->close();
}

}  // namespace cx
