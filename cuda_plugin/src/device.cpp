// device.cpp — the worker thread: create the backend, then run queued jobs one at a time in FIFO
// order, translating exceptions into job results, and repack deferred weights while idle. Models
// are destroyed on this thread at close.
#include "device.h"

#include <pthread.h>

#include <new>

#include "background_repack.h"
#include "cuda_backend.h"
#include "error.h"

namespace cx {

Device::Device(DeviceSpec spec, CompleteFn complete) : spec_(std::move(spec)), complete_(std::move(complete)) {
  memory_total_ = spec_.memory_total;
  memory_free_ = spec_.memory_free;
}

Device::~Device() { close(); }

std::string Device::thread_name() const { return std::string(spec_.cuda ? "cuda-dev-" : "cpu-dev-")
    + std::to_string(spec_.ordinal); }

std::string Device::poison_message() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return "device " + std::to_string(spec_.index) + " (" + thread_name() + ") is poisoned by an earlier fatal error ("
      + poison_reason_ + "); its jobs fail until the process restarts";
}

void Device::submit(int32_t job, JobFn fn) {
  if (poisoned_) throw Error(CX_ERR_DEVICE_POISONED, poison_message());
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_) throw Error(CX_ERR_INTERNAL, "device " + std::to_string(spec_.index) + " is closed");
  queue_.emplace_back(job, std::move(fn));
  if (!started_) {
    started_ = true;
    worker_ = std::thread([this] { worker_main(); });
  }
  wake_.notify_one();
}

void Device::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && !worker_.joinable()) return;
    stopping_ = true;
    cancel_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Device::poison(const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (poisoned_) return;
    poison_reason_ = reason;
  }
  poisoned_ = true;
}

std::unique_ptr<Backend> Device::create_backend() {
  // A CUDA device's backend makes the device current on this (its worker) thread and owns its stream.
  if (spec_.cuda) return make_cuda_backend(spec_.ordinal, thread_name());
  return make_cpu_backend(thread_name(), spec_.threads, spec_.memory_total, spec_.cpu_isa);
}

void Device::run_job(int32_t job, JobFn& fn, WorkerContext* context, cx_status backend_status,
                     const std::string& backend_error) {
  JobResult result;
  try {
    if (poisoned_) throw Error(CX_ERR_DEVICE_POISONED, poison_message());
    if (context == nullptr) throw Error(backend_status, backend_error);
    fn(*context, result);
  } catch (const Error& error) {
    result = JobResult();
    result.status = error.code();
    result.error = error.what();
    if (error.fatal()) poison(error.what());
  } catch (const std::bad_alloc&) {
    result = JobResult();
    result.status = CX_ERR_OUT_OF_MEMORY;
    result.error = "host memory allocation failed on device " + std::to_string(spec_.index);
  } catch (const std::exception& error) {
    result = JobResult();
    result.status = CX_ERR_INTERNAL;
    result.error = std::string("internal error on device ") + std::to_string(spec_.index) + ": " + error.what();
    poison(result.error);
  } catch (...) {
    result = JobResult();
    result.status = CX_ERR_INTERNAL;
    result.error = "unknown internal error on device " + std::to_string(spec_.index);
    poison(result.error);
  }
  if (context != nullptr) {
    const MemoryInfo memory = context->backend.memory();
    memory_total_ = memory.total;
    memory_free_ = memory.free;
  }
  complete_(job, std::move(result));
}

void Device::worker_main() {
  pthread_setname_np(pthread_self(), thread_name().c_str());
  std::unique_ptr<Backend> backend;
  std::string backend_error;
  cx_status backend_status = CX_ERR_UNSUPPORTED_ARCH;
  try {
    backend = create_backend();
  } catch (const Error& error) {
    backend_error = error.what();
    backend_status = error.code();
    if (error.fatal()) poison(error.what());
  } catch (const std::exception& error) {
    backend_error = error.what();
  }
  SamplerScratch sampler;
  {
    std::map<int32_t, std::unique_ptr<Model>> models;  // destroyed before the backend
    std::unique_ptr<WorkerContext> context;
    if (backend) context.reset(new WorkerContext{*backend, models, sampler, cancel_, spec_});
    // Between jobs the worker repacks its models' deferred weights a part at a time
    // (background_repack.h); it sleeps only when none is left.
    bool idle_work = false;
    for (;;) {
      std::pair<int32_t, JobFn> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        if (!idle_work) wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) break;
        if (queue_.empty()) {
          lock.unlock();
          idle_work = !poisoned_ && repack_some(models);
          continue;
        }
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      run_job(job.first, job.second, context.get(), backend_status, backend_error);
      idle_work = !poisoned_ && background_repack_pending(models);
    }
    std::deque<std::pair<int32_t, JobFn>> abandoned;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      abandoned.swap(queue_);
    }
    for (auto& job : abandoned) {
      JobResult result;
      result.status = CX_ERR_INTERNAL;
      result.error = "the runtime was closed before this job ran";
      complete_(job.first, std::move(result));
    }
  }
  backend.reset();
}

}  // namespace cx
