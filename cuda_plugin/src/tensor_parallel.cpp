// tensor_parallel.cpp — TpOp (barrier, agreement, rank-ordered sum, abort) and CpuCollective.
#include "tensor_parallel.h"

#include <cstring>

#include "cortex_plugin.h"
#include "cx_math.h"
#include "error.h"

namespace cx {

const char* const kPeerFailedPrefix = "tensor-parallel peer failed: ";

TpOp::TpOp(int size) : size_(size), pointers_(static_cast<size_t>(size), nullptr),
    oks_(static_cast<size_t>(size), 0) {}

void TpOp::wait_locked(std::unique_lock<std::mutex>& lock) {
  if (aborted_) throw Error(CX_ERR_INTERNAL, kPeerFailedPrefix + why_);
  const uint64_t generation = generation_;
  if (++arrived_ == size_) {
    arrived_ = 0;
    generation_++;
    wake_.notify_all();
    return;
  }
  wake_.wait(lock, [&] { return generation_ != generation || aborted_; });
  if (generation_ == generation) throw Error(CX_ERR_INTERNAL, kPeerFailedPrefix + why_);
}

void TpOp::barrier() {
  std::unique_lock<std::mutex> lock(mutex_);
  wait_locked(lock);
}

bool TpOp::agree(int rank, bool ok) {
  std::unique_lock<std::mutex> lock(mutex_);
  oks_[static_cast<size_t>(rank)] = ok ? 1 : 0;
  wait_locked(lock);
  bool all = true;
  for (char value : oks_) all = all && value != 0;
  // Nobody rewrites oks_ before every rank has read it: the next agree needs a full barrier first.
  wait_locked(lock);
  return all;
}

void TpOp::all_reduce_sum(int rank, float* data, int64_t count, std::vector<float>& scratch) {
  const size_t n = static_cast<size_t>(count);
  if (scratch.size() < n) scratch.resize(n);
  {
    std::unique_lock<std::mutex> lock(mutex_);
    pointers_[static_cast<size_t>(rank)] = data;
    wait_locked(lock);  // every rank's partial sums are published
  }
  // Ranks are added in the pairwise tree order of the k-chunks within a rank (pairwise_sum), so the
  // result equals the single-device sum bit for bit when the chunk and rank counts are powers of two.
  float* sum = scratch.data();
  float parts[kMaxPairwiseParts];
  for (size_t i = 0; i < n; i++) {
    for (int r = 0; r < size_; r++) parts[r] = pointers_[static_cast<size_t>(r)][i];
    sum[i] = pairwise_sum(parts, 1, size_);
  }
  {
    std::unique_lock<std::mutex> lock(mutex_);
    wait_locked(lock);  // every rank has read every partial: now each may overwrite its own
  }
  std::memcpy(data, sum, n * sizeof(float));
}

void TpOp::abort(const std::string& why) {
  {
    // Hooks run under the lock, so a rank's forget_hook (before it frees the hook's target) waits.
    std::lock_guard<std::mutex> lock(mutex_);
    if (aborted_) return;
    aborted_ = true;
    why_ = why;
    for (auto& hook : hooks_) {
      if (hook) hook();
    }
    hooks_.clear();
  }
  wake_.notify_all();
}

size_t TpOp::on_abort(std::function<void()> hook) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!aborted_) {
      hooks_.push_back(std::move(hook));
      return hooks_.size() - 1;
    }
  }
  hook();
  return static_cast<size_t>(-1);
}

void TpOp::forget_hook(size_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (id < hooks_.size()) hooks_[id] = nullptr;
}

void CpuCollective::all_reduce_sum(float* data, int64_t count) {
  if (op_ == nullptr) throw Error(CX_ERR_INTERNAL, "CPU collective used outside a tensor-parallel step");
  op_->all_reduce_sum(rank_, data, count, scratch_);
}

}  // namespace cx
