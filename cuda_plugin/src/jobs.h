// jobs.h — the bodies of the jobs a device worker runs (load, unload, sequences, step, memory
// query, and two test hooks). Each returns a JobFn that captures copies of its inputs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime.h"
#include "step.h"

namespace cx {

/** What a load job loads: `path` (folder or .gguf), load_model's `context`, `max_sequences`, `quant`
 * ("" = none) and `repack`; with RepackWhen::Background every rank reports to `progress`. */
struct LoadRequest {
  std::string path;
  int context = 0;
  int max_sequences = 0;
  std::string quant;
  RepackWhen repack = RepackWhen::Background;
  std::shared_ptr<RepackProgress> progress = std::make_shared<RepackProgress>();
};

/** Loads a model on one device. */
JobFn load_job(Runtime& runtime, int device, LoadRequest request);
JobFn unload_job(Runtime& runtime, int32_t model);
JobFn new_sequence_job(Runtime& runtime, int32_t model, SequenceStart start = {});
JobFn free_sequence_job(int32_t model, int32_t sequence);
JobFn step_job(int32_t model, StepRequest request);
/** Copies slot positions into new prefix-cache blocks (prefix_pool.h); runs on every rank. */
JobFn prefix_store_job(int32_t model, int slot, int first_position, std::vector<int32_t> ids);
/** Frees prefix-cache blocks; runs on every rank. */
JobFn prefix_drop_job(int32_t model, std::vector<int32_t> ids);
JobFn memory_query_job();

// Rank jobs of tensor-parallel models (Runtime::submit_gang makes one per rank).
/** Loads rank `rank`'s shard; ranks agree on success, so a failed rank leaves no shard behind.
 * `nccl_id` (CUDA ranks) is the communicator id rank 0 made at submit time. */
JobFn tp_load_job(Runtime& runtime, std::vector<int> devices, int rank, std::shared_ptr<TpOp> op, int32_t handle,
    LoadRequest request, std::shared_ptr<const std::vector<uint8_t>> nccl_id);
/** Opens sequence `sequence` (a handle made at submit time) on the rank's shard. */
JobFn tp_new_sequence_job(int32_t model, int32_t sequence, SequenceStart start = {});
/** One step on the rank's shard with the op's collective; only rank 0 reports tokens and logits. */
JobFn tp_step_job(int32_t model, StepRequest request, int rank, std::shared_ptr<TpOp> op);
/** TEST HOOK: sleeps `ms` on the worker, waking early when the runtime closes. */
JobFn debug_sleep_job(int ms);
/** TEST HOOK: raises a fatal error, which poisons the device. */
JobFn debug_fault_job();
/** Measures the device's read bandwidth over a `bytes` buffer; one float result (bytes/s). */
JobFn debug_bandwidth_job(int64_t bytes);

}  // namespace cx
