// thread_pool.cpp — generation-counted fork/join. Tasks are handed out through an atomic counter,
// so uneven tasks balance themselves. A forward pass runs hundreds of short parallel regions per
// token, so both sides spin briefly (about 100 µs) before sleeping on a condition variable: a
// futex wake per region would cost more than the decode matmuls of a small model.
#include "thread_pool.h"

#include <immintrin.h>
#include <pthread.h>

#include <chrono>

namespace cx {
namespace {

constexpr auto kSpin = std::chrono::microseconds(100);

// Spins until done() or kSpin passes; true when done() became true.
template <typename Done>
bool spin_until(Done&& done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (int i = 0;; i++) {
    if (done()) return true;
    _mm_pause();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > deadline) return false;
  }
}

}  // namespace

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
    stop_.store(true);
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
    auto ready = [&] { return stop_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire)
        != seen; };
    if (!spin_until(ready)) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, ready);
    }
    if (stop_.load()) return;
    seen = generation_.load(std::memory_order_acquire);
    work(thread);
    if (active_helpers_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mutex_);
      done_.notify_one();
    }
  }
}

void ThreadPool::run(int64_t tasks, const std::function<void(int64_t, int)>& task) {
  if (tasks <= 0) return;
  if (threads_ == 1 || tasks == 1) {
    for (int64_t i = 0; i < tasks; i++) task(i, 0);
    return;
  }
  task_ = &task;
  task_count_ = tasks;
  next_task_.store(0, std::memory_order_relaxed);
  active_helpers_.store(threads_ - 1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  work(0);
  auto finished = [&] { return active_helpers_.load(std::memory_order_acquire) == 0; };
  if (!spin_until(finished)) {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, finished);
  }
  task_ = nullptr;
}

}  // namespace cx
