// tensor_parallel.h — the host-side rendezvous of one tensor-parallel operation (a "gang": one job
// per rank, queued on every rank's device at once) and the shared-memory all-reduce CPU devices use.
// A TpOp lives exactly as long as one gang, so an abort (a rank failed, or the runtime is closing)
// ends only that operation: the model's later steps start from a clean rendezvous.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "collective.h"

namespace cx {

/** What a rank's job throws when a peer failed first; the gang reports the peer's error instead. */
extern const char* const kPeerFailedPrefix;

/** The rendezvous of one gang operation across `size` ranks (threads of this process). */
class TpOp {
 public:
  explicit TpOp(int size);
  TpOp(const TpOp&) = delete;
  TpOp& operator=(const TpOp&) = delete;

  int size() const { return size_; }
  /** Waits until every rank arrived. Throws internal (kPeerFailedPrefix…) once the op is aborted. */
  void barrier();
  /** A barrier that also returns whether every rank passed `ok`. */
  bool agree(int rank, bool ok);
  /** In-place sum of `count` host floats over the ranks, added in rank order (0, 1, …) so every
   * rank ends with bit-identical values. `scratch` is the calling rank's own buffer. */
  void all_reduce_sum(int rank, float* data, int64_t count, std::vector<float>& scratch);
  /** Fails the op: waiting and later barriers throw, abort hooks run (e.g. ncclCommAbort). */
  void abort(const std::string& why);
  /** Runs `hook` on abort (at once when already aborted); returns an id for forget_hook. */
  size_t on_abort(std::function<void()> hook);
  /** Drops a hook whose target is about to go away (the rank's part of the op is over). */
  void forget_hook(size_t id);

 private:
  void wait_locked(std::unique_lock<std::mutex>& lock);

  const int size_;
  std::mutex mutex_;
  std::condition_variable wake_;
  int arrived_ = 0;
  uint64_t generation_ = 0;
  bool aborted_ = false;
  std::string why_;
  std::vector<const float*> pointers_;
  std::vector<char> oks_;
  std::vector<std::function<void()>> hooks_;
};

/** A cx::Collective over a TpOp: CPU devices of one runtime, rank threads of one process. */
class CpuCollective : public Collective {
 public:
  CpuCollective(int rank, int world_size) : rank_(rank), world_size_(world_size) {}
  int rank() const override { return rank_; }
  int world_size() const override { return world_size_; }
  void bind(TpOp* op) override { op_ = op; }
  void all_reduce_sum(float* data, int64_t count) override;

 private:
  const int rank_;
  const int world_size_;
  TpOp* op_ = nullptr;
  std::vector<float> scratch_;
};

}  // namespace cx
