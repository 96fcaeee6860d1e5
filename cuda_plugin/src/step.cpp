// step.cpp — the step protocol on top of forward(). All validation happens before the forward
// pass, so an invalid entry fails the step without touching any sequence. A forward pass that
// fails leaves dense sequences as they were; a hybrid's sequences in it are refused afterwards
// (their DeltaNet states moved on; see Sequence::lost_state_at). A sampled entry's
// logit bias is added to a copy of its row; sampling and log-probabilities read that copy. A bias
// of -infinity forbids a token, and CX_STEP_ALLOWED_ONLY forbids every token the entry does not
// list: forbidden tokens get a logit of -infinity, so no sampling setting can pick them.
#include "step.h"

#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "cortex_plugin.h"
#include "error.h"
#include "hybrid.h"
#include "prefix_pool.h"

namespace cx {
namespace {

// Where each entry's logit-bias pairs start in bias_tokens / bias_values.
std::vector<size_t> bias_starts(const StepRequest& request) {
  const size_t entries = request.sequences.size();
  std::vector<size_t> starts(entries, 0);
  size_t at = 0;
  for (size_t e = 0; e < entries && !request.bias_counts.empty(); e++) {
    starts[e] = at;
    at += static_cast<size_t>(request.bias_counts[e]);
  }
  return starts;
}

// NaN or Inf logits (weights or activations that overflow) would sample garbage or nothing: the
// step fails instead, naming the sequence and position, before any sequence advances.
void check_finite(const float* logits, const HostRows& rows, const std::vector<size_t>& first_logit_row, int vocab,
    const std::vector<Sequence*>& sequences) {
  for (size_t j = 0; j < rows.logit_rows.size(); j++) {
    const float* row = logits + j * static_cast<size_t>(vocab);
    int bad = -1;
    for (int v = 0; v < vocab && bad < 0; v++) {
      if (!std::isfinite(row[v])) bad = v;
    }
    if (bad < 0) continue;
    size_t e = 0;
    while (e + 1 < first_logit_row.size() && first_logit_row[e + 1] <= j) e++;
    const int32_t position = rows.positions[static_cast<size_t>(rows.logit_rows[j])];
    throw Error(CX_ERR_INTERNAL, "the model produced a non-finite logit (" + std::to_string(row[bad]) + " for token "
        + std::to_string(bad) + ") for sequence " + std::to_string(sequences[e]->handle) + " at position "
        + std::to_string(position) + ": its weights or activations are not finite in f32; no token was sampled");
  }
}

int32_t top_count(const StepRequest& request, size_t e) {
  return request.top_logprobs.empty() ? 0 : request.top_logprobs[e];
}

void validate_logprobs_and_bias(const StepRequest& request, size_t e, size_t bias_start, int vocab) {
  const std::string where = "entry " + std::to_string(e) + ": ";
  const int32_t flags = request.flags[e];
  if (flags & CX_STEP_LOGPROBS) {
    if (!(flags & CX_STEP_SAMPLE)) throw Error(CX_ERR_INVALID_ARGUMENT, where
        + "log-probabilities are computed for the sampled token; CX_STEP_LOGPROBS needs CX_STEP_SAMPLE");
    const int32_t top = top_count(request, e);
    if (top < 0 || top > CX_MAX_TOP_LOGPROBS || top > vocab) throw Error(CX_ERR_INVALID_ARGUMENT, where
        + "top log-probabilities must be in [0, " + std::to_string(CX_MAX_TOP_LOGPROBS) + "], got "
        + std::to_string(top));
  }
  const int32_t pairs = request.bias_counts.empty() ? 0 : request.bias_counts[e];
  if (pairs > 0 && !(flags & CX_STEP_SAMPLE)) throw Error(CX_ERR_INVALID_ARGUMENT, where
      + "a logit bias applies to sampling; it needs CX_STEP_SAMPLE");
  const bool allowed_only = (flags & CX_STEP_ALLOWED_ONLY) != 0;
  if (allowed_only && !(flags & CX_STEP_SAMPLE)) throw Error(CX_ERR_INVALID_ARGUMENT, where
      + "CX_STEP_ALLOWED_ONLY restricts sampling; it needs CX_STEP_SAMPLE");
  int32_t forbidden = 0;  // pairs whose value is -infinity
  bool any_allowed = false;
  for (int32_t j = 0; j < pairs; j++) {
    const int32_t token = request.bias_tokens[bias_start + static_cast<size_t>(j)];
    const float value = request.bias_values[bias_start + static_cast<size_t>(j)];
    if (token < 0 || token >= vocab) throw Error(CX_ERR_INVALID_ARGUMENT, where + "logit bias token id "
        + std::to_string(token) + " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
    const bool forbids = std::isinf(value) && value < 0;
    if (!forbids && (!std::isfinite(value) || value < -CX_LOGIT_BIAS_MAX || value > CX_LOGIT_BIAS_MAX)) {
      throw Error(CX_ERR_INVALID_ARGUMENT, where + "logit bias of token " + std::to_string(token)
          + " must be a number in [-100, 100] or -infinity, got " + std::to_string(value));
    }
    forbidden += forbids ? 1 : 0;
    any_allowed = any_allowed || !forbids;
  }
  if (allowed_only && !any_allowed) throw Error(CX_ERR_INVALID_ARGUMENT, where
      + "CX_STEP_ALLOWED_ONLY with no listed token of finite bias leaves nothing to sample");
  if (!allowed_only && forbidden >= vocab) {
    std::vector<bool> banned(static_cast<size_t>(vocab), false);
    int32_t distinct = 0;
    for (int32_t j = 0; j < pairs; j++) {
      const size_t at = bias_start + static_cast<size_t>(j);
      if (!(std::isinf(request.bias_values[at]) && request.bias_values[at] < 0)) continue;
      const size_t token = static_cast<size_t>(request.bias_tokens[at]);
      if (!banned[token]) distinct++;
      banned[token] = true;
    }
    if (distinct == vocab) throw Error(CX_ERR_INVALID_ARGUMENT, where
        + "every token of the vocabulary is forbidden (-infinity bias); nothing is left to sample");
  }
}

// The row sampling and log-probabilities see: the model's logits plus the entry's bias; with
// CX_STEP_ALLOWED_ONLY, -infinity for every token the entry does not list.
const float* with_bias(const float* logits, int vocab, const StepRequest& request, size_t e, size_t bias_start,
    SamplerScratch& scratch) {
  const int32_t pairs = request.bias_counts.empty() ? 0 : request.bias_counts[e];
  if (pairs == 0) return logits;
  if (request.flags[e] & CX_STEP_ALLOWED_ONLY) {
    scratch.biased.assign(static_cast<size_t>(vocab), -std::numeric_limits<float>::infinity());
    for (int32_t j = 0; j < pairs; j++) {
      const size_t token = static_cast<size_t>(request.bias_tokens[bias_start + static_cast<size_t>(j)]);
      scratch.biased[token] = logits[token];
    }
  } else {
    scratch.biased.assign(logits, logits + vocab);
  }
  for (int32_t j = 0; j < pairs; j++) {
    const size_t at = bias_start + static_cast<size_t>(j);
    scratch.biased[static_cast<size_t>(request.bias_tokens[at])] += request.bias_values[at];
  }
  return scratch.biased.data();
}

}  // namespace

namespace {

// Copies positions 0 .. count - 1 of every layer's keys and values from one KV slot to another.
void copy_kv_prefix(Model& model, int from, int to, int count) {
  const KvCache& kv = model.kv;
  const size_t bytes = sizeof(float) * static_cast<size_t>(count) * kv.head_dim;
  for (int layer = 0; layer < kv.layers; layer++) {
    for (int head = 0; head < kv.kv_heads; head++) {
      const size_t src = kv.offset(layer, from, head, 0), dst = kv.offset(layer, to, head, 0);
      model.backend.copy_within(kv.keys + dst, kv.keys + src, bytes);
      model.backend.copy_within(kv.values + dst, kv.values + src, bytes);
    }
  }
}

// The slot a new sequence takes, after checking `start` against the model.
int checked_slot(const Model& model, const SequenceStart& start, int32_t model_handle) {
  const auto bad = [](const std::string& what) { return Error(CX_ERR_INVALID_ARGUMENT, what); };
  const int slots = model.max_sequences;
  const std::string range = " is outside the model's slots [0, " + std::to_string(slots) + ")";
  if (start.slot < -1 || start.slot >= slots) throw bad("slot " + std::to_string(start.slot) + range);
  if (!start.blocks.empty()) {
    const size_t covered = start.blocks.size() * CX_PREFIX_BLOCK_TOKENS;
    if (start.prefix.size() != covered) throw bad(std::to_string(start.blocks.size()) + " prefix blocks hold "
        + std::to_string(covered) + " tokens, the prefix has " + std::to_string(start.prefix.size()));
    check_prefix_blocks(model, start.blocks);
  } else if (!start.prefix.empty()) {
    if (start.source_slot < 0 || start.source_slot >= slots) {
      throw bad("source slot " + std::to_string(start.source_slot) + range);
    }
    if (model.config.hybrid()) {
      const int snapshot = model.linear.snap_position[static_cast<size_t>(start.source_slot)];
      if (snapshot != static_cast<int>(start.prefix.size())) throw bad("a hybrid model's sequence starts only from "
          "a prefix whose DeltaNet states were kept (CX_STEP_SNAPSHOT): slot " + std::to_string(start.source_slot)
          + (snapshot < 0 ? " has no snapshot" : " has one at position " + std::to_string(snapshot)) + ", the prefix has "
          + std::to_string(start.prefix.size()) + " tokens");
    }
    if (static_cast<int64_t>(start.prefix.size()) >= model.context) throw bad("a prefix of "
        + std::to_string(start.prefix.size()) + " tokens leaves nothing of the context length "
        + std::to_string(model.context));
  }
  for (size_t i = 0; i < start.prefix.size(); i++) {
    if (start.prefix[i] < 0 || start.prefix[i] >= model.config.vocab_size) throw bad("prefix token id "
        + std::to_string(start.prefix[i]) + " at index " + std::to_string(i) + " is outside the vocabulary");
  }
  if (start.slot >= 0) {
    if (model.slot_owner[static_cast<size_t>(start.slot)] != 0) throw bad("slot " + std::to_string(start.slot)
        + " is in use by sequence " + std::to_string(model.slot_owner[static_cast<size_t>(start.slot)]));
    return start.slot;
  }
  for (int slot = 0; slot < slots; slot++) {
    if (model.slot_owner[static_cast<size_t>(slot)] == 0) return slot;
  }
  throw Error(CX_ERR_OUT_OF_MEMORY, "no free KV slot: all " + std::to_string(slots) + " sequence slots of model "
      + std::to_string(model_handle) + " are in use (raise maxSequences at load)");
}

}  // namespace

int open_sequence(Model& model, int32_t handle, int32_t model_handle, const SequenceStart& start) {
  const int slot = checked_slot(model, start, model_handle);
  const int count = static_cast<int>(start.prefix.size());
  if (!start.blocks.empty()) load_prefix_blocks(model, slot, start.blocks);
  else if (count > 0 && start.source_slot != slot) copy_kv_prefix(model, start.source_slot, slot, count);
  if (model.config.hybrid()) {
    // The states of the prefix come from the source's snapshot, which the new slot keeps too.
    if (count > 0) {
      copy_linear_states(model, StateCopy::kRestore, start.source_slot, slot);
      if (start.source_slot != slot) copy_linear_states(model, StateCopy::kSnapshotToSnapshot, start.source_slot, slot);
    }
    model.linear.snap_position[static_cast<size_t>(slot)] = count > 0 ? count : -1;
  }
  model.slot_owner[static_cast<size_t>(slot)] = handle;
  Sequence sequence;
  sequence.handle = handle;
  sequence.slot = slot;
  sequence.position = count;
  for (int32_t token : start.prefix) sequence.sampler.feed(token);
  model.sequences.emplace(handle, std::move(sequence));
  return slot;
}

void close_sequence(Model& model, int32_t handle, int32_t model_handle) {
  auto it = model.sequences.find(handle);
  if (it == model.sequences.end()) throw Error(CX_ERR_NOT_FOUND, "sequence " + std::to_string(handle)
      + " does not belong to model " + std::to_string(model_handle) + " (already freed?)");
  model.slot_owner[static_cast<size_t>(it->second.slot)] = 0;
  model.sequences.erase(it);
}

StepOutput run_step(Model& model, const StepRequest& request, SamplerScratch& scratch,
    const std::atomic<bool>& cancel) {
  const ModelConfig& c = model.config;
  const size_t entries = request.sequences.size();
  std::vector<Sequence*> sequences(entries);
  std::vector<SamplingParams> params(entries);
  std::set<int32_t> seen_handles;
  size_t offset = 0;
  const std::vector<size_t> bias_offsets = bias_starts(request);

  // 1. Validate everything first.
  for (size_t e = 0; e < entries; e++) {
    const std::string where = "entry " + std::to_string(e) + ": ";
    const int32_t handle = request.sequences[e];
    auto it = model.sequences.find(handle);
    if (it == model.sequences.end()) throw Error(CX_ERR_NOT_FOUND, where + "sequence " + std::to_string(handle)
        + " is not a live sequence of this model");
    if (!seen_handles.insert(handle).second) throw Error(CX_ERR_INVALID_ARGUMENT, where + "sequence "
        + std::to_string(handle) + " appears twice in one step");
    sequences[e] = &it->second;
    if (it->second.lost_state_at >= 0) throw Error(CX_ERR_INVALID_ARGUMENT, where + "sequence "
        + std::to_string(handle) + " lost its recurrent (DeltaNet) state when the step at position "
        + std::to_string(it->second.lost_state_at) + " failed; free it and prefill it again");
    const int32_t count = request.token_counts[e];
    if (count < 1) throw Error(CX_ERR_INVALID_ARGUMENT, where + "needs at least one token");
    for (int32_t t = 0; t < count; t++) {
      const int32_t token = request.tokens[offset + static_cast<size_t>(t)];
      if (token < 0 || token >= c.vocab_size) {
        throw Error(CX_ERR_INVALID_ARGUMENT, where + "token id " + std::to_string(token) + " at index "
            + std::to_string(t) + " is outside the vocabulary [0, " + std::to_string(c.vocab_size) + ")");
      }
    }
    const int position = sequences[e]->position;
    if (static_cast<int64_t>(position) + count > model.context) {
      throw Error(CX_ERR_CONTEXT_OVERFLOW, where + "sequence " + std::to_string(handle) + " holds "
          + std::to_string(position) + " tokens; " + std::to_string(count) + " more would pass its context length of "
          + std::to_string(model.context));
    }
    if (request.flags[e] & CX_STEP_SAMPLE) params[e] = parse_sampling(&request.sampling[e * CX_SAMPLING_FIELDS],
        static_cast<int>(e));
    validate_logprobs_and_bias(request, e, bias_offsets[e], c.vocab_size);
    offset += static_cast<size_t>(count);
  }

  // 2. Lay out the rows and choose which ones produce logits.
  HostRows rows;
  std::vector<size_t> first_logit_row(entries, 0);
  offset = 0;
  for (size_t e = 0; e < entries; e++) {
    const int32_t count = request.token_counts[e];
    const int32_t flags = request.flags[e];
    first_logit_row[e] = rows.logit_rows.size();
    for (int32_t t = 0; t < count; t++) {
      const int32_t row = static_cast<int32_t>(rows.tokens.size());
      rows.tokens.push_back(request.tokens[offset + static_cast<size_t>(t)]);
      rows.slots.push_back(sequences[e]->slot);
      rows.positions.push_back(sequences[e]->position + t);
      const bool last = t == count - 1;
      if ((flags & CX_STEP_ALL_LOGITS) || (last
          && (flags & (CX_STEP_SAMPLE | CX_STEP_LOGITS)))) rows.logit_rows.push_back(row);
    }
    offset += static_cast<size_t>(count);
  }

  // 3. Forward, then advance sequences and sample.
  std::vector<float>& logits = model.host_logits;
  const size_t logit_floats = rows.logit_rows.size() * static_cast<size_t>(c.vocab_size);
  if (logits.size() < logit_floats) logits.resize(logit_floats);
  try {
    forward(model, rows, logits.data(), cancel);
    check_finite(logits.data(), rows, first_logit_row, c.vocab_size, sequences);
  } catch (...) {
    // A dense sequence is untouched (its next step rewrites the same KV positions); a hybrid's
    // states may have advanced, so its sequences are marked and refused from now on.
    if (c.hybrid()) {
      for (Sequence* sequence : sequences) sequence->lost_state_at = sequence->position;
    }
    throw;
  }

  StepOutput out;
  offset = 0;
  for (size_t e = 0; e < entries; e++) {
    Sequence& sequence = *sequences[e];
    const int32_t count = request.token_counts[e];
    const int32_t flags = request.flags[e];
    for (int32_t t = 0; t < count; t++) sequence.sampler.feed(request.tokens[offset + static_cast<size_t>(t)]);
    sequence.position += count;
    if ((flags & CX_STEP_SNAPSHOT) && c.hybrid()) {
      copy_linear_states(model, StateCopy::kSnapshot, sequence.slot, sequence.slot);
      model.linear.snap_position[static_cast<size_t>(sequence.slot)] = sequence.position;
    }
    offset += static_cast<size_t>(count);
    const bool wants_last = (flags & (CX_STEP_SAMPLE | CX_STEP_LOGITS)) != 0;
    const size_t own_rows = (flags & CX_STEP_ALL_LOGITS) ? static_cast<size_t>(count) : (wants_last ? 1 : 0);
    const float* first = logits.data() + first_logit_row[e] * static_cast<size_t>(c.vocab_size);
    const float* last = first + (own_rows == 0 ? 0 : own_rows - 1) * static_cast<size_t>(c.vocab_size);
    int64_t token = -1;
    if (flags & CX_STEP_SAMPLE) {
      const float* row = with_bias(last, c.vocab_size, request, e, bias_offsets[e], scratch);
      const int32_t sampled = sample_token(row, c.vocab_size, params[e], sequence.sampler, scratch);
      sequence.sampler.produced(sampled);
      token = sampled;
      if (flags & CX_STEP_LOGPROBS) log_probabilities(row, c.vocab_size, sampled, top_count(request, e), scratch,
          out.top_ids, out.logprobs);
    }
    out.tokens.push_back(token);
    out.positions.push_back(sequence.position);
    if (flags & CX_STEP_ALL_LOGITS) {
      out.logits.insert(out.logits.end(), first, first + own_rows * static_cast<size_t>(c.vocab_size));
    } else if (flags & CX_STEP_LOGITS) {
      out.logits.insert(out.logits.end(), last, last + c.vocab_size);
    }
  }
  return out;
}

}  // namespace cx
