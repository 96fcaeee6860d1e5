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

/** Where a new sequence starts: a KV slot and a prefix already computed. */
struct SequenceStart {
  int slot = -1;         // the free slot to take; -1: the lowest free one
  int source_slot = -1;  // the slot whose positions 0 .. prefix.size() - 1 hold the prefix's keys and values
  std::vector<int32_t> prefix;  // tokens the sequence starts with, not fed again (empty: none)
  std::vector<int32_t> blocks;  // when set: the prefix's keys and values come from these pool blocks instead
};

/** Takes a free KV slot for a new sequence with the given handle (throws out_of_memory when none,
 * invalid_argument for a bad `start`). With a prefix, the sequence starts at position
 * prefix.size(): the prefix's keys and values are copied from `source_slot` (a busy or free slot,
 * or the slot itself, whose contents then stay) and its tokens join the sampler's history. Hybrid
 * models take no prefix: their DeltaNet states are not kept per position. Returns the slot. */
int open_sequence(Model& model, int32_t handle, int32_t model_handle, const SequenceStart& start = {});
/** Frees a sequence's KV slot; throws not_found for an unknown handle. */
void close_sequence(Model& model, int32_t handle, int32_t model_handle);

/** Validates every entry (nothing changes when one is bad), runs the forward pass, samples. */
StepOutput run_step(Model& model, const StepRequest& request, SamplerScratch& scratch,
    const std::atomic<bool>& cancel);

}  // namespace cx
