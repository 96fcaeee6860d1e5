// step.h — sequences and batched steps on a loaded model: validate the request, run one forward
// pass over every entry's tokens, advance positions, sample natively.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "model.h"
#include "sampler.h"

namespace cx {

/** The inputs of one cx_submit_step, copied at submit time. */
struct StepRequest {
  std::vector<int32_t> sequences;
  std::vector<int32_t> token_counts;
  std::vector<int32_t> tokens;
  std::vector<int32_t> flags;
  std::vector<double> sampling;  // CX_SAMPLING_FIELDS per entry
  std::vector<int32_t> top_logprobs;  // per entry (CX_STEP_LOGPROBS); empty: none asked
  std::vector<int32_t> bias_counts;   // per entry; empty: no bias anywhere
  std::vector<int32_t> bias_tokens;   // the entries' (token, value) pairs, entry after entry
  std::vector<float> bias_values;
};

/** What a step returns: one token per entry (-1 if not sampled), positions after the step, logits,
 * then the log-probabilities of the CX_STEP_LOGPROBS entries (top ids; sampled + top values). */
struct StepOutput {
  std::vector<int64_t> tokens;
  std::vector<int64_t> positions;
  std::vector<float> logits;
  std::vector<int64_t> top_ids;
  std::vector<float> logprobs;
};

/** Takes a free KV slot for a new sequence with the given handle; throws out_of_memory when none. */
void open_sequence(Model& model, int32_t handle, int32_t model_handle);
/** Frees a sequence's KV slot; throws not_found for an unknown handle. */
void close_sequence(Model& model, int32_t handle, int32_t model_handle);

/** Validates every entry (nothing changes when one is bad), runs the forward pass, samples. */
StepOutput run_step(Model& model, const StepRequest& request, SamplerScratch& scratch,
    const std::atomic<bool>& cancel);

}  // namespace cx
