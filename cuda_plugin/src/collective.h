// collective.h — the one collective Megatron-style tensor parallelism needs: an in-place sum over
// the ranks that each hold a shard of a model. Implemented over NCCL for CUDA devices
// (cuda/nccl_loader.h) and over shared memory for CPU devices, so the forward pass is the same code
// for both and differs only in the Collective it is given.
#pragma once

#include <cstdint>

namespace cx {

class TpOp;

class Collective {
 public:
  virtual ~Collective() = default;
  /** This participant's rank in [0, world_size()). */
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  /** data[i] = Σ over ranks of data[i], for `count` f32 values at `data`, a buffer of this rank's
   * backend. Every rank calls it with the same count, in the same order. On CUDA it returns once the
   * reduction is enqueued on the backend's stream: later ops of that backend see the result. */
  virtual void all_reduce_sum(float* data, int64_t count) = 0;
  /** Binds the rendezvous of the gang operation about to run (tensor_parallel.h); the shared-memory
   * collective reduces through it, NCCL needs none. */
  virtual void bind(TpOp* op) { (void)op; }
};

}  // namespace cx
