// thread_pool.cpp — generation-counted fork/join. Tasks are handed out through an atomic counter,
// so uneven tasks balance themselves.
#include "thread_pool.h"

#include <pthread.h>

namespace cx {

ThreadPool::ThreadPool(int threads, const std::string& name) : threads_(threads < 1 ? 1 : threads) {
  for (int i = 1; i < threads_; i++) {
    helpers_.emplace_back([this, i] { helper_loop(i); });
    std::string thread_name = (name + "." + std::to_string(i)).substr(0, 15);
    pthread_setname_np(helpers_.back().native_handle(), thread_name.c_str());
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& helper : helpers_) helper.join();
}

void ThreadPool::work(int thread) {
  for (;;) {
    int64_t i = next_task_.fetch_add(1, std::memory_order_relaxed);
    if (i >= task_count_) return;
    (*task_)(i, thread);
  }
}

void ThreadPool::helper_loop(int thread) {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    work(thread);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--active_helpers_ == 0) done_.notify_one();
    }
  }
}

void ThreadPool::run(int64_t tasks, const std::function<void(int64_t, int)>& task) {
  if (tasks <= 0) return;
  if (threads_ == 1 || tasks == 1) {
    for (int64_t i = 0; i < tasks; i++) task(i, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    task_ = &task;
    task_count_ = tasks;
    next_task_.store(0, std::memory_order_relaxed);
    active_helpers_ = threads_ - 1;
    generation_++;
  }
  wake_.notify_all();
  work(0);
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return active_helpers_ == 0; });
  task_ = nullptr;
}

}  // namespace cx
