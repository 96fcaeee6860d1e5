// thread_pool.h — a persistent pool of compute threads for one CPU device. The device's worker
// thread calls run() and takes part as thread 0; helpers spin briefly, then wait on a condition
// variable between runs.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cx {

class ThreadPool {
 public:
  /** `threads` >= 1 in total, including the caller of run(); helpers are named `<name>.<i>`. */
  ThreadPool(int threads, const std::string& name);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return threads_; }

  /** Runs task(i, thread) for every i in [0, tasks), spread over the pool; returns when all are done.
   * Tasks must not throw. `thread` is in [0, size()) and unique among concurrently running tasks. */
  void run(int64_t tasks, const std::function<void(int64_t task, int thread)>& task);

 private:
  void helper_loop(int thread);
  void work(int thread);

  int threads_;
  std::vector<std::thread> helpers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int> active_helpers_{0};
  const std::function<void(int64_t, int)>* task_ = nullptr;
  int64_t task_count_ = 0;
  std::atomic<int64_t> next_task_{0};
};

}  // namespace cx
